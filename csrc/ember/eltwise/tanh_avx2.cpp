// tanh forward with AVX2+FMA vectors (see tanh_impl.inc); called only after run-time CPU
// detection selects this ISA.
#include <immintrin.h>

#include <cstdint>

#include "ember/eltwise/eltwise.h"

namespace ember::eltwise::avx2 {
namespace {
struct V {
  using R = __m256;
  static constexpr int kLanes = 8;
  static R loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R abs(R a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static R min(R a, R b) { return _mm256_min_ps(a, b); }
  static R round(R a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static R pow2(R n) {  // 2^n for integral n in [0, 29]
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static R select_lt(R a, R b, R yes, R no) {
    return _mm256_blendv_ps(no, yes, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
  }
  static R nan_from(R x, R t) {  // x where x is NaN, else t
    return _mm256_blendv_ps(t, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  }
  static R with_sign_of(R t, R x) {
    const R sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, t), _mm256_and_ps(sign, x));
  }
};
#include "ember/eltwise/tanh_impl.inc"
}  // namespace

void tanh_forward_range(int64_t lo, int64_t hi, const float* x, float* y) {
  tanh_range(lo, hi, x, y);
}
}  // namespace ember::eltwise::avx2
