// float32 tanh over a range (eltwise.h) for one ISA tier (compiled once per tier, isa.h).
// The x86 tiers use explicit vectors:
//   |x| < 0.625: x + x^3 P(x^2), P the minimax polynomial of Cephes' tanhf;
//   otherwise:   1 - 2 / (exp(2|x|) + 1), exp as 2^n * e^r (|r| <= ln2 / 2, Cephes' expf
//                polynomial), |x| clamped to 10 (tanh(10) rounds to 1 in float);
// both computed and one selected per lane, then the sign of x put back; a NaN input gives
// NaN. Max error 1.3 float ulps (tests/kernels/test_eltwise.py). Plain C++ of the same
// formula stays scalar (GCC will not if-convert the selects around the division), so the
// generic tier calls std::tanh.
#include <cmath>
#include <cstdint>

#include "ember/eltwise/eltwise.h"
#if defined(EMBER_ISA_AVX2) || defined(EMBER_ISA_AVX512)
#include "ember/simd/vec.h"
#endif

namespace ember::EMBER_ISA_NS::eltwise {

namespace {

#if defined(EMBER_ISA_AVX2) || defined(EMBER_ISA_AVX512)
using V = simd::Vec<float>;

inline V::R tanh_vec(V::R x) {
  using R = V::R;
  const R a = V::abs(x);
  const R as = V::min(a, V::set1(0.625f));
  const R z = V::mul(as, as);
  R p = V::fmadd(V::set1(-5.70498872745e-3f), z, V::set1(2.06390887954e-2f));
  p = V::fmadd(p, z, V::set1(-5.37397155531e-2f));
  p = V::fmadd(p, z, V::set1(1.33314422036e-1f));
  p = V::fmadd(p, z, V::set1(-3.33332819422e-1f));
  const R small = V::fmadd(V::mul(as, z), p, as);
  const R v = V::mul(V::set1(2.0f), V::min(a, V::set1(10.0f)));
  const R n = V::round(V::mul(v, V::set1(1.44269504088896341f)));
  const R r = V::fmadd(n, V::set1(2.12194440e-4f), V::fmadd(n, V::set1(-0.693359375f), v));
  R e = V::fmadd(V::set1(1.9875691500e-4f), r, V::set1(1.3981999507e-3f));
  e = V::fmadd(e, r, V::set1(8.3334519073e-3f));
  e = V::fmadd(e, r, V::set1(4.1665795894e-2f));
  e = V::fmadd(e, r, V::set1(1.6666665459e-1f));
  e = V::fmadd(e, r, V::set1(5.0000001201e-1f));
  e = V::add(V::fmadd(V::mul(r, r), e, r), V::set1(1.0f));
  const R ex = V::mul(e, V::pow2(n));
  const R large = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(ex, V::set1(1.0f))));
  const R t = V::select_lt(a, V::set1(0.625f), small, large);
  return V::with_sign_of(V::nan_from(x, t), x);
}

void tanh_range(int64_t lo, int64_t hi, const float* x, float* y) {
  int64_t i = lo;
  for (; i + V::kLanes <= hi; i += V::kLanes) V::storeu(y + i, tanh_vec(V::loadu(x + i)));
  if (i < hi) {
    alignas(64) float buf[V::kLanes] = {};
    for (int64_t j = i; j < hi; ++j) buf[j - i] = x[j];
    V::storeu(buf, tanh_vec(V::loadu(buf)));
    for (int64_t j = i; j < hi; ++j) y[j] = buf[j - i];
  }
}
#else
void tanh_range(int64_t lo, int64_t hi, const float* x, float* y) {
  for (int64_t i = lo; i < hi; ++i) y[i] = std::tanh(x[i]);
}
#endif

}  // namespace

const ::ember::eltwise::Kernels& kernels() {
  static constexpr ::ember::eltwise::Kernels table{&tanh_range};
  return table;
}

}  // namespace ember::EMBER_ISA_NS::eltwise
