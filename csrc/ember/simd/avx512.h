// Zmm<T>: the AVX-512 vector operations the kernels use, for float and double. Included only
// by sources compiled per ISA (isa.h) for the avx512 tier, so its inline code is that
// tier's own. Names match Ymm<T> (avx2.h) and Scalar<T> (scalar.h): kernels written against
// simd::Vec<T> (vec.h) compile for any tier.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ember::EMBER_ISA_NS::simd {

template <typename T>
struct Zmm;

template <>
struct Zmm<float> {
  using R = __m512;
  static constexpr int kLanes = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, R x) { _mm512_storeu_ps(p, x); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R abs(R a) { return _mm512_abs_ps(a); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static float sum(R v) { return _mm512_reduce_add_ps(v); }
  static R round(R a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static R pow2(R n) {  // 2^n for integral n in [0, 29]
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static R select_lt(R a, R b, R yes, R no) {  // a < b ? yes : no, per lane
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), no, yes);
  }
  static R nan_from(R x, R t) {  // x where x is NaN, else t
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), t, x);
  }
  static R with_sign_of(R t, R x) {  // |t| with the sign of x
    const __m512i sign = _mm512_set1_epi32(INT32_MIN);
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_andnot_si512(sign, _mm512_castps_si512(t)),
        _mm512_and_si512(sign, _mm512_castps_si512(x))));
  }
};

template <>
struct Zmm<double> {
  using R = __m512d;
  static constexpr int kLanes = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R loadu(const double* p) { return _mm512_loadu_pd(p); }
  static void storeu(double* p, R x) { _mm512_storeu_pd(p, x); }
  static R set1(double v) { return _mm512_set1_pd(v); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static double sum(R v) { return _mm512_reduce_add_pd(v); }
};

}  // namespace ember::EMBER_ISA_NS::simd
