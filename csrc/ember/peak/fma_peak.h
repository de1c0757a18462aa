// Floating-point peak of this machine, measured: every thread runs independent chains of
// fused multiply-adds for about `seconds`. Benchmarks report their GFLOPS as a fraction of
// this number, measured in the same run (the machine is shared and its clock varies).
#pragma once

#include <cstdint>

namespace ember::peak {

// Measured GFLOPS (2 flops per FMA lane) on `nthreads` threads with the active ISA.
double fma_peak_gflops(double seconds, int nthreads, bool f64);

namespace generic {
// Runs `iters` rounds of the chain block; returns a value that depends on all of them.
double fma_chains(int64_t iters, bool f64, double* flops_per_iter);
}
namespace avx2 {
double fma_chains(int64_t iters, bool f64, double* flops_per_iter);
}
namespace avx512 {
double fma_chains(int64_t iters, bool f64, double* flops_per_iter);
}

}  // namespace ember::peak
