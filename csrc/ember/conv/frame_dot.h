// The frame path's backward-weight kernel (frame.cpp): dot products of dy frames against
// shifted input frames on register tiles of (output channel, input channel) pairs, straight
// from the frames (no packing, no column matrix). Compiled once per ISA tier
// (frame_dot_kernels.cpp).
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::conv {

constexpr int64_t kFrameAlign = 16;  // segment lengths are multiples of this (any tier's lanes)

// One chunk's dot products: for each shift o in offs[0..RS), k < Kg, c < Cg:
//   dw[k * ldk + c * RS + o] += sum over segments i < nseg of
//       sum_{j < seg_len} dyf[k * ldd + i * seg_stride + j]
//                         * xf[c * ldx + i * seg_stride + j + offs[o]]
// seg_len is a multiple of kFrameAlign; xf rows must be readable up to the largest offset.
struct FrameDotArgs {
  int64_t Kg, Cg, RS, ldk, ldd, ldx, nseg, seg_stride, seg_len;
  const int64_t* offs;
};

template <typename T>
void frame_dot(const FrameDotArgs& a, const T* dyf, const T* xf, T* dw);

template <typename T>
struct FrameDotKernels {
  void (*dot)(const FrameDotArgs& a, const T* dyf, const T* xf, T* dw);
};

}  // namespace ember::conv

EMBER_ISA_DECLARE(namespace conv {
  const ::ember::conv::FrameDotKernels<float>& frame_dot_kernels(float);
  const ::ember::conv::FrameDotKernels<double>& frame_dot_kernels(double);
})
