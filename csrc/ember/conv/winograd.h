// Winograd F(2x2, 3x3) (Lavin & Gray 2016): the geometry and the per-ISA transforms of
// winograd.cpp (3x3, stride-1, dilation-1 layers, float32).
//
// Each 2x2 output tile is A^T [ (G g G^T) .* (B^T d B) ] A for the 4x4 input tile d that covers
// it, with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::conv::winograd {

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

// The per-ISA transforms (winograd_kernels.cpp, compiled once per tier).
struct Kernels {
  // Tile rows [tr0, tr1) of one input plane xc into v[xi * xi_stride + t] (patch: scratch of
  // (2 (tr1 - tr0) + 2) x (2 TQ + 2) values).
  void (*transform_input)(const Geometry& geo, const float* xc, int64_t tr0, int64_t tr1,
                          float* patch, float* v, int64_t xi_stride);
  // Tile rows [tr0, tr1) from m[xi * xi_stride + t] into one output plane yk, + bias
  // (rowbuf: scratch of 4 TQ values).
  void (*transform_output)(const Geometry& geo, const float* m, int64_t xi_stride,
                           int64_t tr0, int64_t tr1, float bias, float* rowbuf, float* yk);
};

}  // namespace ember::conv::winograd

EMBER_ISA_DECLARE(namespace conv { const ::ember::conv::winograd::Kernels& winograd_kernels(); })
