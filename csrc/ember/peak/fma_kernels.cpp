// The FMA-throughput probe's inner loop (fma_peak.h) for one ISA tier (compiled once per
// tier, isa.h): independent chains of fused multiply-adds on the tier's widest vectors,
// enough of them in flight to cover the FMA latency on every FMA port (two ports of 4-cycle
// FMAs need 8; 16 zmm chains also hide a slower unit; 12 ymm chains fit the 16 registers;
// 32 scalar chains give the compiler's baseline vectoriser 8 chains of 4 lanes).
#include <cstdint>

#include "ember/peak/fma_peak.h"
#include "ember/simd/vec.h"

namespace ember::EMBER_ISA_NS::peak {

namespace {

#if defined(EMBER_ISA_AVX512)
constexpr int kChains = 16;
#elif defined(EMBER_ISA_AVX2)
constexpr int kChains = 12;
#else
constexpr int kChains = 32;
#endif

template <typename T>
double chains(int64_t iters, double* flops_per_iter) {
  using V = simd::Vec<T>;
  typename V::R acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = V::set1(T(1) + T(i) * T(1e-3));
  const typename V::R x = V::set1(T(0.999999)), y = V::set1(T(1e-7));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = V::fmadd(acc[i], x, y);
  }
  *flops_per_iter = 2.0 * V::kLanes * kChains;
  typename V::R s = acc[0];
  for (int i = 1; i < kChains; ++i) s = V::add(s, acc[i]);
  return static_cast<double>(V::sum(s));
}

double fma_chains(int64_t iters, bool f64, double* flops_per_iter) {
  return f64 ? chains<double>(iters, flops_per_iter) : chains<float>(iters, flops_per_iter);
}

}  // namespace

const ::ember::peak::Kernels& kernels() {
  static constexpr ::ember::peak::Kernels table{&fma_chains};
  return table;
}

}  // namespace ember::EMBER_ISA_NS::peak
