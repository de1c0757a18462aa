// tanh forward with AVX-512 vectors (see tanh_impl.inc); called only after run-time CPU
// detection selects this ISA.
#include <immintrin.h>

#include <cstdint>

#include "ember/eltwise/eltwise.h"

namespace ember::eltwise::avx512 {
namespace {
#include "ember/simd_avx512.h"

// Zmm<float>'s loads, stores, set1, fmadd and mul, plus what tanh_impl.inc needs besides.
struct V : Zmm<float> {
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R abs(R a) { return _mm512_abs_ps(a); }
  static R min(R a, R b) { return _mm512_min_ps(a, b); }
  static R round(R a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static R pow2(R n) {  // 2^n for integral n in [0, 29]
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static R select_lt(R a, R b, R yes, R no) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), no, yes);
  }
  static R nan_from(R x, R t) {  // x where x is NaN, else t
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), t, x);
  }
  static R with_sign_of(R t, R x) {
    const __m512i sign = _mm512_set1_epi32(INT32_MIN);
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_andnot_si512(sign, _mm512_castps_si512(t)),
        _mm512_and_si512(sign, _mm512_castps_si512(x))));
  }
};
#include "ember/eltwise/tanh_impl.inc"
}  // namespace

void tanh_forward_range(int64_t lo, int64_t hi, const float* x, float* y) {
  tanh_range(lo, hi, x, y);
}
}  // namespace ember::eltwise::avx512
