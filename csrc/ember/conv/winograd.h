// Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) for 3x3, stride-1, dilation-1
// layers, float32.
//
// Each 2x2 output tile is A^T [ (G g G^T) .* (B^T d B) ] A for the 4x4 input tile d that covers
// it, with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Summed over input channels, the element-wise products become 16 independent GEMMs
//   M[xi] (K x tiles) = U[xi] (K x C) @ V[xi] (C x tiles),
// which do 16 multiply-adds per 4 outputs and channel instead of 36 (2.25x fewer than
// im2col + GEMM). Tiles are processed in blocks of whole tile rows sized so that V and M
// stay in L2; a block's input rows are first copied into a zero-padded patch, so the input
// transform needs no bounds checks.
//
// Backward-input of such a layer is itself a 3x3 stride-1 convolution of dy with the
// flipped, transposed filter and padding 2 - p; it reuses the same code.
#pragma once

#include <cstdint>

#include "ember/conv/conv2d.h"

namespace ember::conv {

// True when the layer is 3x3, stride 1, dilation 1, padding <= 2 (what the code handles).
bool winograd_applicable(const Conv2dShape& s);
// True when, in addition, it measured faster than im2col + GEMM: 16..128 channels per group
// (in and out) and at least 12 output columns.
bool winograd_profitable(const Conv2dShape& s);

// Same contract as conv2d_forward / conv2d_backward_input (float32).
void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y, const Epilogue<float>& epi);
void winograd_backward_input(const Conv2dShape& s, const float* dy, const float* w,
                             float* dx);

namespace winograd {

constexpr int kXi = 16;  // 4 x 4 transformed tile

// A convolution described independently of forward/backward roles: input (N, C, H, W),
// output (N, K, P, Q), zero padding (ph, pw), 3x3 filter already transformed into U
// (U[g][xi][k][c], groups x 16 x K/groups x C/groups).
struct Geometry {
  int64_t N, C, H, W, K, P, Q, ph, pw, groups;
  int64_t TP, TQ;  // tiles per column / row
  int64_t Cg() const { return C / groups; }
  int64_t Kg() const { return K / groups; }
};

// y = epi(conv(x, U) + bias), one implementation per ISA (the transforms are written for the
// compiler to vectorise, and each copy is compiled with its ISA's flags).
#define EMBER_WINOGRAD_DECLARE_ISA(NS) \
  namespace NS {                        \
  void run(const Geometry& geo, const float* x, const float* U, const float* b, float* y, \
           const Epilogue<float>& epi);                                                   \
  }
EMBER_WINOGRAD_DECLARE_ISA(generic)
EMBER_WINOGRAD_DECLARE_ISA(avx2)
EMBER_WINOGRAD_DECLARE_ISA(avx512)
#undef EMBER_WINOGRAD_DECLARE_ISA

}  // namespace winograd

}  // namespace ember::conv
