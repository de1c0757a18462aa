// frame.h's kernel compiled for AVX-512 (4 x 4 tiles of 16-lane accumulators); called only
// after run-time CPU detection selects this ISA.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

#include "ember/conv/frame.h"

namespace ember::conv::frame::avx512 {
namespace {
template <typename T>
struct Vec;
template <>
struct Vec<float> {
  using V = __m512;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(V v) { return _mm512_reduce_add_ps(v); }
};
template <>
struct Vec<double> {
  using V = __m512d;
  static constexpr int L = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static double sum(V v) { return _mm512_reduce_add_pd(v); }
};
constexpr int MT = 4, NT = 4;
#include "ember/conv/frame_impl.inc"
}  // namespace

void dot(const Args& a, const float* dyf, const float* xf, float* dw) { dot_impl(a, dyf, xf, dw); }
void dot(const Args& a, const double* dyf, const double* xf, double* dw) {
  dot_impl(a, dyf, xf, dw);
}
}  // namespace ember::conv::frame::avx512
