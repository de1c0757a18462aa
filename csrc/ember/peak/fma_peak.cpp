#include "ember/peak/fma_peak.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "ember/cpu.h"

namespace ember::peak {

namespace {
double run_chains(int64_t iters, bool f64, double* fpi) {
  static const IsaTables<Kernels> tables = EMBER_ISA_TABLES(peak::kernels());
  return tables.active().fma_chains(iters, f64, fpi);
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
  // Every thread must run at the same time (a pool may run parts one after another), so the
  // probe starts its own threads.
  std::vector<double> sinks(nthreads, 0.0);
  std::vector<std::thread> threads;
  const auto t0 = clock::now();
  for (int t = 1; t < nthreads; ++t) {
    threads.emplace_back([&, t] {
      double f = 0;
      sinks[t] = run_chains(iters, f64, &f);
    });
  }
  double f = 0;
  sinks[0] = run_chains(iters, f64, &f);
  for (std::thread& th : threads) th.join();
  const double dt = std::chrono::duration<double>(clock::now() - t0).count();
  for (double s : sinks) sink = sink + s;
  return static_cast<double>(nthreads) * static_cast<double>(iters) * fpi / dt * 1e-9;
}

}  // namespace ember::peak
