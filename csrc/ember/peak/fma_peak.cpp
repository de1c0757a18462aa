#include "ember/peak/fma_peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "ember/cpu.h"

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

namespace ember::peak {

namespace generic {
double fma_chains(int64_t iters, bool f64, double* flops_per_iter) {
  // 8 independent chains of 4 lanes: enough for the compiler's baseline vector unit.
  constexpr int kChains = 32;
  if (f64) {
    double acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = 1.0 + i * 1e-3;
    const double x = 0.999999, y = 1e-7;
    for (int64_t it = 0; it < iters; ++it)
      for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * x + y;
    *flops_per_iter = 2.0 * kChains;
    double s = 0;
    for (double v : acc) s += v;
    return s;
  }
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = 1.0f + i * 1e-3f;
  const float x = 0.999999f, y = 1e-7f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * x + y;
  *flops_per_iter = 2.0 * kChains;
  float s = 0;
  for (float v : acc) s += v;
  return s;
}
}  // namespace generic

namespace {
double run_chains(int64_t iters, bool f64, double* fpi) {
#ifdef EMBER_HAVE_AVX512_BUILD
  if (active_isa() == Isa::Avx512) return avx512::fma_chains(iters, f64, fpi);
#endif
#ifdef EMBER_HAVE_AVX2_BUILD
  if (active_isa() >= Isa::Avx2) return avx2::fma_chains(iters, f64, fpi);
#endif
  return generic::fma_chains(iters, f64, fpi);
}
}  // namespace

double fma_peak_gflops(double seconds, int nthreads, bool f64) {
  using clock = std::chrono::steady_clock;
  nthreads = std::max(1, nthreads);
  // Calibrate the per-thread iteration count on one thread.
  int64_t iters = 1 << 16;
  double fpi = 0;
  volatile double sink = 0;
  for (;;) {
    const auto t0 = clock::now();
    sink = sink + run_chains(iters, f64, &fpi);
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt > seconds / 8 || iters > (int64_t(1) << 40)) {
      iters = static_cast<int64_t>(iters * (seconds / std::max(dt, 1e-9)));
      break;
    }
    iters *= 4;
  }
  iters = std::max<int64_t>(iters, 1024);
  std::vector<double> sinks(nthreads, 0.0);
  const auto t0 = clock::now();
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nthreads) schedule(static, 1)
#endif
  for (int t = 0; t < nthreads; ++t) {
    double f = 0;
    sinks[t] = run_chains(iters, f64, &f);
  }
  const double dt = std::chrono::duration<double>(clock::now() - t0).count();
  for (double s : sinks) sink = sink + s;
#ifdef EMBER_HAVE_OPENMP
  const double used = nthreads;
#else
  const double used = 1;
#endif
  return used * static_cast<double>(iters) * fpi / dt * 1e-9;
}

}  // namespace ember::peak
