// 2-D convolution (cross-correlation, as every deep learning framework), NCHW, weight OIHW.
//
//   y[n, k, p, q] = b[k] + sum_{c in group(k), r, s}
//                   w[k, c - c0(k), r, s] * x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//
// with zero padding (other padding modes are applied to the input beforehand). Shapes:
// x (N, C, H, W), w (K, C/groups, R, S), b (K) or null, y (N, K, P, Q) where
// P = (H + 2 ph - dh (R - 1) - 1) / sh + 1 and likewise Q.
//
// Five algorithms, one file each (im2col.cpp, direct.cpp, frame.cpp, pixel.cpp,
// winograd.cpp); select.cpp holds the rules that choose one per layer and pass.
#pragma once

#include <cstdint>

#include "ember/conv/epilogue.h"

namespace ember::conv {

struct Conv2dShape {
  int64_t N, C, H, W;    // input
  int64_t K, R, S;       // output channels, kernel height/width
  int64_t sh, sw, ph, pw, dh, dw, groups;
  int64_t P, Q;          // output height/width (derived)

  // Fills P and Q; throws std::invalid_argument if the configuration is invalid.
  void finalize();
  int64_t Cg() const { return C / groups; }
  int64_t Kg() const { return K / groups; }
  int64_t crs() const { return Cg() * R * S; }  // rows of the column matrix (one group)
  int64_t pq() const { return P * Q; }
  bool is_pointwise() const {  // 1x1, stride 1, no padding: the input is the column matrix
    return R == 1 && S == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  }
};

// `epi` (optional): a residual added to y and/or a ReLU, applied as each part of y is
// written (see epilogue.h).
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
                    const Epilogue<T>& epi = Epilogue<T>{});

// dx := conv2d_backward_input(dy, w)  (dx is overwritten)
template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx);

// dw := d(loss)/dw, db := d(loss)/db (db may be null); both overwritten.
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db);

}  // namespace ember::conv
