// 2-D convolution (cross-correlation, as every deep learning framework), NCHW, weight OIHW.
//
//   y[n, k, p, q] = b[k] + sum_{c in group(k), r, s}
//                   w[k, c - c0(k), r, s] * x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//
// with zero padding (other padding modes are applied to the input beforehand). Shapes:
// x (N, C, H, W), w (K, C/groups, R, S), b (K) or null, y (N, K, P, Q) where
// P = (H + 2 ph - dh (R - 1) - 1) / sh + 1 and likewise Q.
//
// Algorithm: per image and group, im2col (C/g*R*S x P*Q) then GEMM
// y_g (K/g x PQ) = w_g (K/g x C/g*R*S) @ col. A 1x1 kernel with stride 1 and no padding uses
// the input itself as the column matrix (no im2col). Backward input: dcol = w_g^T @ dy_g, then
// col2im accumulates into dx. Backward weight: dw_g += dy_g @ col^T. Threads: across images
// (each thread its own column buffer, single-threaded GEMMs, per-thread partial dw) when the
// batch has at least as many images as threads; otherwise across the GEMM of each image.
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

// Algorithm choice: Auto picks per layer among the direct pixel-major paths (forward /
// stride-1 backward-input where the output channels fill whole register tiles; backward-
// weight over pixel-major frames), the frame paths (stride-1, few channels), Winograd
// F(2x2, 3x3) (float32 3x3 stride-1, see winograd.h) and im2col + GEMM, each where it
// measured fastest (the rules and their numbers are in conv2d.cpp); Im2col, Winograd, Frame
// and Direct force those paths wherever their geometry allows (tests cover each path with
// them). Process-wide; EMBER_CONV_ALGO=im2col|winograd|frame|direct sets it at start-up.
enum class ConvAlgo { Auto = 0, Im2col = 1, Winograd = 2, Frame = 3, Direct = 4, Pixel = 5 };
void set_conv_algo(ConvAlgo algo);
ConvAlgo get_conv_algo();

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

// Column matrix of one image and group: col (Cg*R*S x P*Q), zeros where the window leaves
// the (zero-padded) input. Exposed for tests and benchmarks.
template <typename T>
void im2col(const Conv2dShape& s, const T* x_img_group, T* col);

// Adjoint of im2col: dx_img_group += col2im(col).
template <typename T>
void col2im_add(const Conv2dShape& s, const T* col, T* dx_img_group);

}  // namespace ember::conv
