// Floating-point peak of this machine, measured: every thread runs independent chains of
// fused multiply-adds for about `seconds`. Benchmarks report their GFLOPS as a fraction of
// this number, measured in the same run (the machine may be shared and its clock varies).
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::peak {

// Measured GFLOPS (2 flops per FMA lane) on `nthreads` threads with the active ISA.
double fma_peak_gflops(double seconds, int nthreads, bool f64);

// The per-ISA table (fma_kernels.cpp): `iters` rounds of the tier's chain block; returns a
// value that depends on all of them and sets the flops of one round.
struct Kernels {
  double (*fma_chains)(int64_t iters, bool f64, double* flops_per_iter);
};

}  // namespace ember::peak

EMBER_ISA_DECLARE(namespace peak { const ::ember::peak::Kernels& kernels(); })
