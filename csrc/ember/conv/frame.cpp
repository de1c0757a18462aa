// frame.h's kernel, portable copy (scalar accumulators: the compiler may vectorise what the
// baseline ISA allows) and the ISA dispatch.
#include "ember/conv/frame.h"

#include <algorithm>
#include <array>
#include <utility>

#include "ember/isa_dispatch.h"

namespace ember::conv::frame {

namespace generic {
namespace {
template <typename T>
struct Vec {
  using R = T;
  static constexpr int kLanes = 1;
  static R zero() { return T(0); }
  static R loadu(const T* p) { return *p; }
  static R fmadd(R a, R b, R c) { return a * b + c; }
  static T sum(R v) { return v; }
};
constexpr int MT = 4, NT = 4;
#include "ember/conv/frame_impl.inc"
}  // namespace

void dot(const Args& a, const float* dyf, const float* xf, float* dw) { dot_impl(a, dyf, xf, dw); }
void dot(const Args& a, const double* dyf, const double* xf, double* dw) {
  dot_impl(a, dyf, xf, dw);
}
}  // namespace generic

template <typename T>
void dot(const Args& a, const T* dyf, const T* xf, T* dw) {
  EMBER_ISA_DISPATCH(dot(a, dyf, xf, dw))
}
template void dot<float>(const Args&, const float*, const float*, float*);
template void dot<double>(const Args&, const double*, const double*, double*);

}  // namespace ember::conv::frame
