// Convolution: shape checks, and the three entry points, each running the algorithm that
// select.cpp chooses for the layer.
#include "ember/conv/conv2d.h"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "ember/conv/paths.h"
#include "ember/conv/select.h"

namespace ember::conv {

void Conv2dShape::finalize() {
  auto bad = [](const std::string& m) { throw std::invalid_argument(m); };
  if (N < 0 || C <= 0 || H <= 0 || W <= 0 || K <= 0 || R <= 0 || S <= 0)
    bad("sizes must be positive (batch may be 0)");
  if (sh <= 0 || sw <= 0) bad("stride must be positive");
  if (dh <= 0 || dw <= 0) bad("dilation must be positive");
  if (ph < 0 || pw < 0) bad("padding must be non-negative");
  if (groups <= 0 || C % groups || K % groups) bad("channels must be divisible by groups");
  const int64_t eh = dh * (R - 1) + 1, ew = dw * (S - 1) + 1;
  if (H + 2 * ph < eh || W + 2 * pw < ew) bad("kernel larger than the padded input");
  P = (H + 2 * ph - eh) / sh + 1;
  Q = (W + 2 * pw - ew) / sw + 1;
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
