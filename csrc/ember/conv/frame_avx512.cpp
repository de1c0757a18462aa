// frame.h's kernel compiled for AVX-512 (4 x 4 tiles of 16-lane accumulators); called only
// after run-time CPU detection selects this ISA.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

#include "ember/conv/frame.h"

namespace ember::conv::frame::avx512 {
namespace {
#include "ember/simd_avx512.h"
template <typename T>
using Vec = Zmm<T>;
constexpr int MT = 4, NT = 4;
#include "ember/conv/frame_impl.inc"
}  // namespace

void dot(const Args& a, const float* dyf, const float* xf, float* dw) { dot_impl(a, dyf, xf, dw); }
void dot(const Args& a, const double* dyf, const double* xf, double* dw) {
  dot_impl(a, dyf, xf, dw);
}
}  // namespace ember::conv::frame::avx512
