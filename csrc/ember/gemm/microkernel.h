// The register tiles of the tier this source is compiled for (isa.h): KernelF32 / KernelF64
// (the GEMM's) and KernelF32Narrow / KernelF64Narrow (one vector per row, for outputs no
// wider than a vector; the same as the wide tile on tiers without one).
//   avx512: 14 x 32 float, 14 x 16 double (narrow 14 x 16 / 14 x 8); KC = 256 keeps a
//           256 x 32 B micro-panel in L1 while 14-row A micro-panels stream from L2;
//   avx2:   6 x 16 float, 6 x 8 double, BLIS's Haswell block sizes;
//   generic: 4 x 8 float, 4 x 4 double.
// For sources compiled per ISA.
#pragma once

#ifndef EMBER_ISA_NS
#error "ember/gemm/microkernel.h is for sources compiled per ISA (EMBER_ISA_SOURCES)"
#endif

#if defined(EMBER_ISA_AVX512) || defined(EMBER_ISA_AVX2)
#include "ember/gemm/microkernel_x86.h"
#include "ember/simd/vec.h"
#else
#include "ember/gemm/microkernel_generic.h"
#endif

namespace ember::EMBER_ISA_NS::gemm {
#if defined(EMBER_ISA_AVX512)
using KernelF32 = VecKernel<simd::Zmm, float, 14, 2, 168, 256, 4096, 10>;
using KernelF64 = VecKernel<simd::Zmm, double, 14, 2, 84, 256, 4096, 10>;
using KernelF32Narrow = VecKernel<simd::Zmm, float, 14, 1, 168, 256, 4096, 10>;
using KernelF64Narrow = VecKernel<simd::Zmm, double, 14, 1, 84, 256, 4096, 10>;
#elif defined(EMBER_ISA_AVX2)
using KernelF32 = VecKernel<simd::Ymm, float, 6, 2, 144, 256, 4080, 8>;
using KernelF64 = VecKernel<simd::Ymm, double, 6, 2, 72, 256, 4080, 8>;
using KernelF32Narrow = KernelF32;
using KernelF64Narrow = KernelF64;
#else
using KernelF32 = RefKernel<float, 4, 8, 128, 256, 2048>;
using KernelF64 = RefKernel<double, 4, 4, 128, 256, 2048>;
using KernelF32Narrow = KernelF32;
using KernelF64Narrow = KernelF64;
#endif

// The register tiles of an element type: Wide (the GEMM's) and Narrow.
template <typename T>
struct Tiles;
template <>
struct Tiles<float> {
  using Wide = KernelF32;
  using Narrow = KernelF32Narrow;
};
template <>
struct Tiles<double> {
  using Wide = KernelF64;
  using Narrow = KernelF64Narrow;
};

}  // namespace ember::EMBER_ISA_NS::gemm
