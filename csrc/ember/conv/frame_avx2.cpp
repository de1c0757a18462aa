// frame.h's kernel compiled for AVX2 + FMA (2 x 4 tiles: 8 accumulators + 6 loads fit the 16
// ymm registers); called only after run-time CPU detection selects this ISA.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

#include "ember/conv/frame.h"

namespace ember::conv::frame::avx2 {
namespace {
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline double hsum(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}
template <typename T>
struct Vec;
template <>
struct Vec<float> {
  using R = __m256;
  static constexpr int kLanes = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R loadu(const float* p) { return _mm256_loadu_ps(p); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(R v) { return hsum(v); }
};
template <>
struct Vec<double> {
  using R = __m256d;
  static constexpr int kLanes = 4;
  static R zero() { return _mm256_setzero_pd(); }
  static R loadu(const double* p) { return _mm256_loadu_pd(p); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static double sum(R v) { return hsum(v); }
};
constexpr int MT = 2, NT = 4;
#include "ember/conv/frame_impl.inc"
}  // namespace

void dot(const Args& a, const float* dyf, const float* xf, float* dw) { dot_impl(a, dyf, xf, dw); }
void dot(const Args& a, const double* dyf, const double* xf, double* dw) {
  dot_impl(a, dyf, xf, dw);
}
}  // namespace ember::conv::frame::avx2
