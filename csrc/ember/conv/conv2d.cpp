// Convolution: shape checks, and the three entry points, each running the algorithm that
// select.cpp chooses for the layer.
#include "ember/conv/conv2d.h"

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "ember/checked.h"

#include "ember/conv/paths.h"
#include "ember/conv/select.h"

namespace ember::conv {

void Conv2dShape::finalize() {
  using checked::extent;
  extent(N, 0, "batch size");
  for (auto [v, what] : {std::pair<int64_t, const char*>{C, "input channels"}, {H, "input height"},
                         {W, "input width"}, {K, "output channels"}, {R, "kernel height"},
                         {S, "kernel width"}})
    extent(v, 1, what);
  extent(sh, 1, "stride");
  extent(sw, 1, "stride");
  extent(dh, 1, "dilation");
  extent(dw, 1, "dilation");
  extent(ph, 0, "padding");
  extent(pw, 0, "padding");
  extent(groups, 1, "groups");
  if (C % groups || K % groups)
    throw std::invalid_argument("channels must be divisible by groups");
  // Extents are at most 2^40: their sums cannot overflow, the dilated kernel's product can.
  const int64_t eh = checked::mul(dh, R - 1, "the dilated kernel height") + 1;
  const int64_t ew = checked::mul(dw, S - 1, "the dilated kernel width") + 1;
  const int64_t hp = H + 2 * ph, wp = W + 2 * pw;
  if (hp < eh || wp < ew) throw std::invalid_argument("kernel larger than the padded input");
  P = (hp - eh) / sh + 1;
  Q = (wp - ew) / sw + 1;
}

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
                    const Epilogue<T>& epi) {
  switch (choose_algo<T>(Pass::Forward, s)) {
    case ConvAlgo::Pixel: return pixel::forward(s, x, w, b, y, epi);
    case ConvAlgo::Direct: return direct::forward(s, x, w, b, y, epi);
    case ConvAlgo::Frame: return frame::forward(s, x, w, b, y, epi);
    case ConvAlgo::Winograd:
      if constexpr (std::is_same_v<T, float>) return winograd::forward(s, x, w, b, y, epi);
      break;
    default: break;
  }
  im2col::forward(s, x, w, b, y, epi);
}

template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  switch (choose_algo<T>(Pass::BackwardInput, s)) {
    case ConvAlgo::Pixel: return pixel::backward_input(s, dy, w, dx);
    case ConvAlgo::Direct: return direct::backward_input(s, dy, w, dx);
    case ConvAlgo::Frame: return frame::backward_input(s, dy, w, dx);
    case ConvAlgo::Winograd:
      if constexpr (std::is_same_v<T, float>) return winograd::backward_input(s, dy, w, dx);
      break;
    default: break;
  }
  im2col::backward_input(s, dy, w, dx);
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  switch (choose_algo<T>(Pass::BackwardWeight, s)) {
    case ConvAlgo::Pixel: return pixel::backward_weight(s, x, dy, dw, db);
    case ConvAlgo::Direct: return direct::backward_weight(s, x, dy, dw, db);
    case ConvAlgo::Frame: return frame::backward_weight(s, x, dy, dw, db);
    default: break;
  }
  im2col::backward_weight(s, x, dy, dw, db);
}

#define EMBER_CONV_INSTANTIATE(T)                                                         \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*, \
                                  const Epilogue<T>&);                                  \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);    \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);
EMBER_CONV_INSTANTIATE(float)
EMBER_CONV_INSTANTIATE(double)
#undef EMBER_CONV_INSTANTIATE

}  // namespace ember::conv
