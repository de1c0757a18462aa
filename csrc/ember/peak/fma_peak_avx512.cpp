// AVX-512 throughput kernel: 16 independent zmm FMA chains (latency 4 cycles x 2 FMA ports
// needs >= 8 in flight; 16 hides a slower port-5 unit too), compiled with -mavx512f.
#include <immintrin.h>

#include "ember/peak/fma_peak.h"

namespace ember::peak::avx512 {

double fma_chains(int64_t iters, bool f64, double* flops_per_iter) {
  constexpr int kChains = 16;
  if (f64) {
    __m512d acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_pd(1.0 + i * 1e-3);
    const __m512d x = _mm512_set1_pd(0.999999), y = _mm512_set1_pd(1e-7);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_pd(acc[i], x, y);
    }
    *flops_per_iter = 2.0 * 8 * kChains;
    __m512d s = acc[0];
    for (int i = 1; i < kChains; ++i) s = _mm512_add_pd(s, acc[i]);
    return _mm512_reduce_add_pd(s);
  }
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  *flops_per_iter = 2.0 * 16 * kChains;
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return static_cast<double>(_mm512_reduce_add_ps(s));
}

}  // namespace ember::peak::avx512
