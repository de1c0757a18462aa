// The convolution algorithms, each in its own file, each with the contract of the entry
// points in conv2d.h (the forward takes the epilogue). select.cpp decides which one runs.
#pragma once

#include <cstdint>

#include "ember/conv/conv2d.h"

namespace ember::conv {

#define EMBER_CONV_PATH(NS)                                                                  \
  namespace NS {                                                                             \
  template <typename T>                                                                      \
  void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,              \
               const Epilogue<T>& epi);                                                      \
  template <typename T>                                                                      \
  void backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx);                \
  template <typename T>                                                                      \
  void backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db);        \
  }
EMBER_CONV_PATH(im2col)  // im2col.cpp: column matrix blocks + GEMM, any layer
EMBER_CONV_PATH(direct)  // direct.cpp: pixel-major, output channels along the vector lanes
EMBER_CONV_PATH(frame)   // frame.cpp: channel-major zero-padded frames, taps as shifts
EMBER_CONV_PATH(pixel)   // pixel.cpp: one product per (pixel, pixel, tap) over the batch
#undef EMBER_CONV_PATH

namespace frame {
// Bytes of one image's input and gradient frames in the frame backward-weight.
int64_t backward_weight_frame_bytes(const Conv2dShape& s, int64_t elem_size);
}  // namespace frame

// winograd.cpp: F(2x2, 3x3), float32, forward and backward-input (the backward-weight of
// such a layer runs another path).
namespace winograd {
void forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
             const Epilogue<float>& epi);
void backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
}  // namespace winograd

// Instantiates a path's three functions for float and double (at the end of its file).
#define EMBER_CONV_PATH_INSTANTIATE(T)                                                     \
  template void forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*,          \
                           const Epilogue<T>&);                                           \
  template void backward_input<T>(const Conv2dShape&, const T*, const T*, T*);            \
  template void backward_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);

}  // namespace ember::conv
