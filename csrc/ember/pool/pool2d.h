// 2-D pooling over NCHW planes: max (with argmax indices), average, adaptive max/average.
//
// Window of output (p, q): rows p*sh - ph + i*dh for i < kh (max) or [p*sh - ph, +kh) (avg),
// likewise columns. Output sizes follow PyTorch, including ceil_mode (a last window may start
// in the right padding only if it starts inside the input or left padding). Max pooling
// ignores padded positions (they act as -inf); indices are flat positions h * W + w within
// the plane, as PyTorch returns them. Average pooling divides by the window clipped to the
// padded input (count_include_pad) or to the input. Adaptive pooling uses windows
// [floor(p H / P), ceil((p + 1) H / P)). Every kernel parallelises over the N*C planes.
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::pool {

struct Pool2dShape {
  int64_t N, C, H, W;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  bool ceil_mode;
  int64_t P, Q;  // derived by finalize()
  void finalize(const char* op);
  int64_t planes() const { return N * C; }
};

// Output extent of one dimension with PyTorch's rule.
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode);

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx);
// dx := 0, then dx[idx] += dy per plane.
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int64_t* idx, T* dx);

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, bool count_include_pad, const T* x, T* y);
template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, bool count_include_pad, const T* dy, T* dx);

// Adaptive pooling: x (planes, H, W) -> y (planes, P, Q).
template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                 const T* x, T* y);
template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                  const T* dy, T* dx);
template <typename T>
void adaptive_max_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                 const T* x, T* y, int64_t* idx);
// Scatter-add of dy at idx into dx (zeroed first); shared by max and adaptive max.
template <typename T>
void index_pool_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy,
                         const int64_t* idx, T* dx);

// The per-ISA table (pool2d_kernels.cpp, compiled once per tier) behind the functions above.
template <typename T>
struct Kernels {
  void (*max_forward)(const Pool2dShape& s, const T* x, T* y, int64_t* idx);
  void (*index_backward)(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy,
                         const int64_t* idx, T* dx);
  void (*avg_forward)(const Pool2dShape& s, bool count_include_pad, const T* x, T* y);
  void (*avg_backward)(const Pool2dShape& s, bool count_include_pad, const T* dy, T* dx);
  void (*adaptive_avg_forward)(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                               const T* x, T* y);
  void (*adaptive_avg_backward)(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                const T* dy, T* dx);
  void (*adaptive_max_forward)(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                               const T* x, T* y, int64_t* idx);
};

}  // namespace ember::pool

EMBER_ISA_DECLARE(namespace pool {
  const ::ember::pool::Kernels<float>& kernels(float);
  const ::ember::pool::Kernels<double>& kernels(double);
})
