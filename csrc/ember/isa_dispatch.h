// EMBER_ISA_DISPATCH(call): `return avx512::call;`, `return avx2::call;` or
// `return generic::call;`, whichever ISA path is active (see cpu.h) and compiled in. For kernel
// families whose source is compiled once per ISA into namespaces generic / avx2 / avx512.
#pragma once

#include "ember/cpu.h"

#ifdef EMBER_HAVE_AVX512_BUILD
#define EMBER_ISA_DISPATCH_AVX512(call) \
  if (::ember::active_isa() == ::ember::Isa::Avx512) return avx512::call;
#else
#define EMBER_ISA_DISPATCH_AVX512(call)
#endif
#ifdef EMBER_HAVE_AVX2_BUILD
#define EMBER_ISA_DISPATCH_AVX2(call) \
  if (::ember::active_isa() >= ::ember::Isa::Avx2) return avx2::call;
#else
#define EMBER_ISA_DISPATCH_AVX2(call)
#endif
#define EMBER_ISA_DISPATCH(call)  \
  EMBER_ISA_DISPATCH_AVX512(call) \
  EMBER_ISA_DISPATCH_AVX2(call)   \
  return generic::call;
