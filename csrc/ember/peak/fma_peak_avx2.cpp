// AVX2+FMA throughput kernel: 12 independent ymm FMA chains (FMA latency 4-5 cycles x 2 ports
// needs >= 10 in flight), compiled with -mavx2 -mfma.
#include <immintrin.h>

#include "ember/peak/fma_peak.h"

namespace ember::peak::avx2 {

double fma_chains(int64_t iters, bool f64, double* flops_per_iter) {
  constexpr int kChains = 12;
  if (f64) {
    __m256d acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_pd(1.0 + i * 1e-3);
    const __m256d x = _mm256_set1_pd(0.999999), y = _mm256_set1_pd(1e-7);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_pd(acc[i], x, y);
    }
    *flops_per_iter = 2.0 * 4 * kChains;
    __m256d s = acc[0];
    for (int i = 1; i < kChains; ++i) s = _mm256_add_pd(s, acc[i]);
    alignas(32) double out[4];
    _mm256_store_pd(out, s);
    return out[0] + out[1] + out[2] + out[3];
  }
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  *flops_per_iter = 2.0 * 8 * kChains;
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return static_cast<double>(out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7]);
}

}  // namespace ember::peak::avx2
