// "Frame" backward-weight for stride-1 convolutions: no im2col.
//
// Lay each image's input plane out zero-padded as a frame of Hf x Wf = (H + 2ph) x (W + 2pw)
// values, flattened, and each dy plane on the same grid (row p, column q at p * Wf + q; the
// columns q >= Q and rows p >= P are zeros). A stride-1 window offset (r, s) is then a plain
// shift of the flattened frame by r*dh*Wf + s*dw, so
//
//   dw[k, c, r, s] = sum_j dyf[k, j] * xf[c, j + r*dh*Wf + s*dw]
//
// over the frame positions j of every image: R*S dot products of contiguous rows, which the
// kernel computes on register tiles of (k, c) pairs straight from the frames (no packing, no
// column matrix). The frames of a chunk of images are built once (the input is read once
// instead of R*S times as im2col does) and sized to stay in L2 while the R*S shifts and all
// tiles run over them. Zero columns cost (Wf - Q) / Q extra multiply-adds (6% at 32x32, 25%
// at 8x8); measured against im2col + GEMM in benchmarks/bench_conv.py.
#pragma once

#include <cstdint>

#include "ember/conv/conv2d.h"

namespace ember::conv::frame {

constexpr int64_t kAlign = 16;  // segment lengths are multiples of this (any ISA's lanes)

// One chunk's dot products: for each shift o in offs[0..RS), k < Kg, c < Cg:
//   dw[k * ldk + c * RS + o] += sum over segments i < nseg of
//       sum_{j < seg_len} dyf[k * ldd + i * seg_stride + j] * xf[c * ldx + i * seg_stride + j + offs[o]]
// seg_len is a multiple of kAlign; xf rows must be readable up to the largest offset.
struct Args {
  int64_t Kg, Cg, RS, ldk, ldd, ldx, nseg, seg_stride, seg_len;
  const int64_t* offs;
};

#define EMBER_FRAME_DECLARE_ISA(NS)                                                   \
  namespace NS {                                                                      \
  void dot(const Args& a, const float* dyf, const float* xf, float* dw);              \
  void dot(const Args& a, const double* dyf, const double* xf, double* dw);           \
  }
EMBER_FRAME_DECLARE_ISA(generic)
EMBER_FRAME_DECLARE_ISA(avx2)
EMBER_FRAME_DECLARE_ISA(avx512)
#undef EMBER_FRAME_DECLARE_ISA

// Dispatches to the active ISA.
template <typename T>
void dot(const Args& a, const T* dyf, const T* xf, T* dw);

}  // namespace ember::conv::frame
