// simd::Vec<T>: the widest vector type of the tier this source is compiled for (isa.h):
// Zmm<T> (avx512), Ymm<T> (avx2) or Scalar<T> (generic).
#pragma once

#ifndef EMBER_ISA_NS
#error "ember/simd/vec.h is for sources compiled per ISA (EMBER_ISA_SOURCES in CMakeLists.txt)"
#endif

#if defined(EMBER_ISA_AVX512)
#include "ember/simd/avx2.h"
#include "ember/simd/avx512.h"
#elif defined(EMBER_ISA_AVX2)
#include "ember/simd/avx2.h"
#else
#include "ember/simd/scalar.h"
#endif

namespace ember::EMBER_ISA_NS::simd {
#if defined(EMBER_ISA_AVX512)
template <typename T>
using Vec = Zmm<T>;
#elif defined(EMBER_ISA_AVX2)
template <typename T>
using Vec = Ymm<T>;
#else
template <typename T>
using Vec = Scalar<T>;
#endif
}  // namespace ember::EMBER_ISA_NS::simd
