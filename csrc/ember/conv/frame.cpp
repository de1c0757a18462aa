// The frame path: stride-1 convolutions over channel-major, zero-padded frames.
//
// Each input plane is laid out zero-padded as a frame of Hf x Wf = (H + 2ph) x (W + 2pw)
// values, flattened; a stride-1 window offset (r, s) is then a plain shift of the frame by
// r*dh*Wf + s*dw. Forward: y_g (Kg x P*Wf frame positions) = sum over taps o of
// W_o (Kg x Cg) @ frame shifted by offs[o] -- one gemm_shifted (products.h) that reads the
// shifted rows in place and keeps the whole sum over taps in its accumulators -- then the Q
// valid columns of each frame row are copied out with the bias and epilogue.
// Backward-input: the forward on dy with the filters transposed and flipped (common.h).
// Backward-weight: dw[k, c, r, s] = sum_j dyf[k, j] * xf[c, j + r*dh*Wf + s*dw] over the
// frame positions j of every image, dot products of contiguous rows on register tiles
// (frame_dot.h); the frames of a chunk of images are built once and sized to stay in L2
// while the taps and tiles run over them. Zero columns cost (Wf - Q) / Q extra
// multiply-adds. Where it wins: few channels (the first layers, LeNet), where a column
// matrix costs more than the small product it feeds.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ember/conv/common.h"
#include "ember/conv/frame_dot.h"
#include "ember/conv/paths.h"
#include "ember/conv/products.h"
#include "ember/scratch.h"

namespace ember::conv::frame {

namespace {

struct FrameGeometry {
  int64_t Hf, Wf, Fs, seg_len, tail;
};

FrameGeometry frame_geometry(const Conv2dShape& s) {
  FrameGeometry f;
  f.Hf = s.H + 2 * s.ph;
  f.Wf = s.W + 2 * s.pw;
  f.Fs = round_up(f.Hf * f.Wf, kFrameAlign);
  f.seg_len = round_up(s.P * f.Wf, kFrameAlign);
  f.tail = round_up((s.R - 1) * s.dh * f.Wf + (s.S - 1) * s.dw, kFrameAlign);
  return f;
}

// Zero-padded frames of group g's input planes for images [na, na + nimg): row c of xf (row
// stride ldx) holds the images' frames Fs apart, then f.tail zeros.
template <typename T>
void build_x_frames(const Conv2dShape& s, const FrameGeometry& f, const T* x, int64_t g,
                    int64_t na, int64_t nimg, T* xf, int64_t ldx) {
  const int64_t Cg = s.Cg(), HW = s.H * s.W;
  for (int64_t c = 0; c < Cg; ++c) {
    T* row = xf + c * ldx;
    for (int64_t i = 0; i < nimg; ++i) {
      T* fr = row + i * f.Fs;
      const T* src = x + ((na + i) * s.C + g * Cg + c) * HW;
      std::fill(fr, fr + s.ph * f.Wf, T(0));
      for (int64_t h = 0; h < s.H; ++h) {
        T* d = fr + (s.ph + h) * f.Wf;
        std::fill(d, d + s.pw, T(0));
        std::memcpy(d + s.pw, src + h * s.W, sizeof(T) * s.W);
        std::fill(d + s.pw + s.W, d + f.Wf, T(0));
      }
      std::fill(fr + (s.ph + s.H) * f.Wf, fr + f.Fs, T(0));
    }
    std::fill(row + nimg * f.Fs, row + nimg * f.Fs + f.tail, T(0));
  }
}

// Kernel-tap offsets r*dh*Wf + s*dw, tap o = r * S + s.
std::vector<int64_t> tap_offsets(const Conv2dShape& s, const FrameGeometry& f) {
  std::vector<int64_t> off(static_cast<size_t>(s.R * s.S));
  for (int64_t r = 0; r < s.R; ++r)
    for (int64_t q = 0; q < s.S; ++q) off[r * s.S + q] = r * s.dh * f.Wf + q * s.dw;
  return off;
}

// The forward of images [n0, n1); wt holds the weights as [g][o][k][c].
template <typename T>
void forward_range(const Conv2dShape& s, const T* x, const T* wt, const T* b, T* y, int64_t n0,
                   int64_t n1, const Epilogue<T>& epi) {
  FrameGeometry f = frame_geometry(s);
  f.tail = round_up(f.tail + kShiftedSlack, kFrameAlign);
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, pq = s.pq();
  const int64_t ldx = f.Fs + f.tail, len = s.P * f.Wf;
  T* xf = scratch<T>(2, static_cast<size_t>(Cg * ldx));
  T* yf = scratch<T>(3, static_cast<size_t>(Kg * len));
  const std::vector<int64_t> off = tap_offsets(s, f);
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t g = 0; g < s.groups; ++g) {
      build_x_frames(s, f, x, g, n, 1, xf, ldx);
      gemm_shifted<T>(Kg, len, Cg, RS, wt + g * RS * Kg * Cg, xf, ldx, off.data(), yf, len);
      for (int64_t k = 0; k < Kg; ++k) {
        const T bias = b != nullptr ? b[g * Kg + k] : T(0);
        const int64_t at = (n * s.K + g * Kg + k) * pq;
        T* yk = y + at;
        const T* src = yf + k * len;
        const T* res = epi.residual != nullptr ? epi.residual + at : nullptr;
        // The valid columns out, plus the bias, the residual and the ReLU in the same pass.
        for (int64_t p = 0; p < s.P; ++p)
          finish_row<T>(src + p * f.Wf, yk + p * s.Q, res != nullptr ? res + p * s.Q : nullptr,
                        bias, epi.relu, s.Q);
      }
    }
  }
}

// dw_t (K x crs, accumulated) += the weight gradient of images [n0, n1), all groups.
template <typename T>
void backward_weight_range(const Conv2dShape& s, const T* x, const T* dy, int64_t n0,
                           int64_t n1, T* dw_t) {
  const FrameGeometry f = frame_geometry(s);
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, pq = s.pq();
  const int64_t per_image = (Cg + Kg) * f.Fs * static_cast<int64_t>(sizeof(T));
  const int64_t nimg_max = images_per_block(n0, n1, per_image, int64_t(1) << 20);
  const int64_t ldx = nimg_max * f.Fs + f.tail, ldd = nimg_max * f.Fs;
  T* xf = scratch<T>(2, static_cast<size_t>(Cg * ldx));
  T* dyf = scratch<T>(3, static_cast<size_t>(Kg * ldd));
  const std::vector<int64_t> offs = tap_offsets(s, f);
  for (int64_t g = 0; g < s.groups; ++g) {
    for (int64_t na = n0; na < n1; na += nimg_max) {
      const int64_t nimg = std::min(nimg_max, n1 - na);
      build_x_frames(s, f, x, g, na, nimg, xf, ldx);
      for (int64_t k = 0; k < Kg; ++k) {
        T* row = dyf + k * ldd;
        for (int64_t i = 0; i < nimg; ++i) {
          T* fr = row + i * f.Fs;
          const T* src = dy + ((na + i) * s.K + g * Kg + k) * pq;
          for (int64_t p = 0; p < s.P; ++p) {
            std::memcpy(fr + p * f.Wf, src + p * s.Q, sizeof(T) * s.Q);
            std::fill(fr + p * f.Wf + s.Q, fr + (p + 1) * f.Wf, T(0));
          }
          std::fill(fr + s.P * f.Wf, fr + f.Fs, T(0));
        }
      }
      const FrameDotArgs a{Kg, Cg, RS, s.crs(), ldd, ldx, nimg, f.Fs, f.seg_len, offs.data()};
      frame_dot<T>(a, dyf, xf, dw_t + g * Kg * s.crs());
    }
  }
}

}  // namespace

// Bytes of one image's input and gradient frames (select.cpp bounds them to stay in L2).
int64_t backward_weight_frame_bytes(const Conv2dShape& s, int64_t elem_size) {
  return (s.Cg() + s.Kg()) * frame_geometry(s).Fs * elem_size;
}

template <typename T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
             const Epilogue<T>& epi) {
  forward_by_ranges(s, x, tap_major_weights(s, w, false, false), b, y, epi, forward_range<T>);
}

template <typename T>
void backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  forward_by_ranges(transposed_shape(s), dy, tap_major_weights(s, w, true, false),
                    static_cast<const T*>(nullptr), dx, Epilogue<T>{}, forward_range<T>);
}

template <typename T>
void backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  accumulate_weight_grad(s, dy, dw, db, [&](int64_t n0, int64_t n1, int, T* dw_t) {
    backward_weight_range(s, x, dy, n0, n1, dw_t);
  });
}

EMBER_CONV_PATH_INSTANTIATE(float)
EMBER_CONV_PATH_INSTANTIATE(double)

}  // namespace ember::conv::frame
