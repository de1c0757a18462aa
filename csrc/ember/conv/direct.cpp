// The direct path: pixel-major convolution, the output channels along the vector lanes.
//
// Forward: input values are broadcast from zero-padded frames (gemm_frame_rows,
// products.h): for each output pixel, y[k] = sum over taps o and input channels c of
// frame_c[pixel + off_o] * W[k][c][o], so every lane holds a wanted output (the frame
// path's channel-major products also compute the Wf - Q padding columns of every frame row
// and round each image's positions up to whole tiles). A strided layer's frame rows are
// stored phase by phase (columns 0, sw, 2sw, ... then 1, 1 + sw, ...), so the inputs of a
// run of output columns are again consecutive values. Frames of a block of images are
// built, multiplied into pixel-major outputs, and transposed into NCHW with the bias and
// epilogue. Output rows are grouped by the kernel rows their windows cover inside the
// input, so the top and bottom rows skip the kernel rows that fall on frame padding.
// Backward-input: the forward on dy with the filters transposed and flipped (stride 1).
// Backward-weight (the "gathered" form), dilation 1, any stride: the input is transposed
// into pixel-major (NHWC) frames, where the S taps of a kernel row and all input channels
// of a pixel are S*Cg consecutive values, so dW_r (Kg x S*Cg) = dy (Kg x positions) @ B_r
// with B_r's rows read in place at each output position's frame pixel (gemm_gather_rows;
// gemm_gather_cols computes dW_r^T when there are few output channels): no column matrix,
// no padding positions in the sum. Where it wins: output channels that fill whole register
// tiles, and most backward-weights with several input channels.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ember/conv/common.h"
#include "ember/conv/paths.h"
#include "ember/conv/products.h"
#include "ember/scratch.h"

namespace ember::conv::direct {

namespace {

// Output rows [r0, r1) whose windows cover the same kernel rows inside the input, and the
// steps [k0, k1) of those kernel rows (kernel-row-major steps of `per_row` each).
struct RowGroup {
  int64_t r0, r1, k0, k1;
};
std::vector<RowGroup> row_groups(const Conv2dShape& s, int64_t per_row) {
  std::vector<RowGroup> groups;
  for (int64_t r = 0; r < s.P; ++r) {
    const int64_t top = r * s.sh - s.ph;  // input row under kernel row 0
    const int64_t kh0 = std::min(s.R, std::max<int64_t>(0, ceil_div(-top, s.dh)));
    const int64_t kh1 = std::max(kh0, std::min(s.R, floor_div(s.H - 1 - top, s.dh) + 1));
    const int64_t k0 = kh0 * per_row, k1 = kh1 * per_row;
    if (!groups.empty() && groups.back().k0 == k0 && groups.back().k1 == k1) {
      groups.back().r1 = r + 1;
    } else {
      groups.push_back({r, r + 1, k0, k1});
    }
  }
  return groups;
}

// The forward of images [n0, n1); wp holds the filters as [g][o * Cg + c][k].
template <typename T>
void forward_range(const Conv2dShape& s, const T* x, const T* wp, const T* b, T* y, int64_t n0,
                   int64_t n1, const Epilogue<T>& epi) {
  const int64_t Hf = s.H + 2 * s.ph, Wf = s.W + 2 * s.pw;
  const int64_t Wh = (Wf + s.sw - 1) / s.sw, Wrow = Wh * s.sw, Fs = Hf * Wrow;
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, pq = s.pq(), kt = Cg * RS;
  const int64_t a_img = Cg * Fs, HW = s.H * s.W;
  const int64_t nblk =
      images_per_block(n0, n1, a_img * static_cast<int64_t>(sizeof(T)), int64_t(1) << 19);
  T* xf = scratch<T>(2, static_cast<size_t>(nblk * a_img + kFrameSlack));
  T* yp = scratch<T>(3, static_cast<size_t>(nblk * pq * Kg));
  std::fill(xf, xf + nblk * a_img + kFrameSlack, T(0));  // padding stays zero
  std::vector<int64_t> aoff(static_cast<size_t>(kt));
  for (int64_t o = 0; o < RS; ++o) {
    const int64_t col = (o % s.S) * s.dw;
    for (int64_t c = 0; c < Cg; ++c)
      aoff[o * Cg + c] = c * Fs + (o / s.S) * s.dh * Wrow + (col % s.sw) * Wh + col / s.sw;
  }
  const std::vector<RowGroup> groups = row_groups(s, s.S * Cg);
  for (int64_t g = 0; g < s.groups; ++g) {
    for (int64_t na = n0; na < n1; na += nblk) {
      const int64_t nimg = std::min(nblk, n1 - na);
      for (int64_t i = 0; i < nimg; ++i) {
        for (int64_t c = 0; c < Cg; ++c) {
          const T* src = x + ((na + i) * s.C + g * Cg + c) * HW;
          T* fr = xf + i * a_img + c * Fs + s.ph * Wrow;
          for (int64_t h = 0; h < s.H; ++h, src += s.W, fr += Wrow) {
            if (s.sw == 1) {
              std::memcpy(fr + s.pw, src, sizeof(T) * s.W);
              continue;
            }
            for (int64_t ph = 0; ph < s.sw; ++ph) {  // frame columns j * sw + ph
              T* d = fr + ph * Wh;
              const int64_t j0 = std::max<int64_t>(0, (s.pw - ph + s.sw - 1) / s.sw);
              const int64_t j1 = std::min<int64_t>(Wh, (s.W + s.pw - ph + s.sw - 1) / s.sw);
              const T* sp = src + ph - s.pw;
              for (int64_t j = j0; j < j1; ++j) d[j] = sp[j * s.sw];
            }
          }
        }
      }
      for (const RowGroup& rg : groups) {  // output rows whose windows share kernel rows
        gemm_frame_rows<T>(nimg, rg.r1 - rg.r0, s.Q, Kg, rg.k1 - rg.k0,
                           xf + rg.r0 * s.sh * Wrow, a_img, s.sh * Wrow, aoff.data() + rg.k0,
                           wp + (g * kt + rg.k0) * Kg, Kg, yp + rg.r0 * s.Q * Kg, pq * Kg, Kg);
      }
      for (int64_t i = 0; i < nimg; ++i) {  // pixel-major -> NCHW, with bias and epilogue
        T* yi = y + ((na + i) * s.K + g * Kg) * pq;
        transpose<T>(pq, Kg, yp + i * pq * Kg, Kg, yi, pq);
        apply_bias_epilogue(epi, b != nullptr ? b + g * Kg : nullptr, y,
                            ((na + i) * s.K + g * Kg) * pq, Kg, pq);
      }
    }
  }
}

// dw_t (K x crs, accumulated) += the weight gradient of images [n0, n1), all groups. The
// frames and a pixel-major copy of dy are built per block of images; dW_r accumulates
// across blocks in acc and is permuted into dw_t[k][c][r][s] at the end.
template <typename T>
void backward_weight_range(const Conv2dShape& s, const T* x, const T* dy, int64_t n0,
                           int64_t n1, T* dw_t) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), R = s.R, S = s.S, pq = s.pq(), HW = s.H * s.W;
  const int64_t Hf = s.H + 2 * s.ph, Wf = s.W + 2 * s.pw, Fs = Hf * Wf, ncol = S * Cg;
  const int64_t img_bytes = (Fs * Cg + pq * Kg) * static_cast<int64_t>(sizeof(T));
  const int64_t nblk = images_per_block(n0, n1, img_bytes, int64_t(1) << 20);
  const int64_t xt_len = nblk * Fs * Cg + kGatherSlack + ncol;
  T* acc = scratch<T>(0, static_cast<size_t>(R * Kg * ncol));
  // Few output channels (at most two narrow tiles): the transposed product, whose rows are
  // the S * Cg filter columns and whose one tile-wide panel is the output channels, fills
  // its tiles better.
  const bool cols = Kg <= 2 * frame_rows_width<T>();
  int64_t* boff = scratch<int64_t>(1, static_cast<size_t>(nblk * pq));
  T* xt = scratch<T>(2, static_cast<size_t>(xt_len));
  T* dyt = scratch<T>(3, static_cast<size_t>(nblk * pq * Kg + kGatherSlack));
  for (int64_t i = 0, t = 0; i < nblk; ++i)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q) boff[t++] = ((i * Hf + p * s.sh) * Wf + q * s.sw) * Cg;
  std::fill(xt, xt + xt_len, T(0));  // the padding stays zero: blocks rewrite the interior
  for (int64_t g = 0; g < s.groups; ++g) {
    for (int64_t na = n0; na < n1; na += nblk) {
      const int64_t nimg = std::min(nblk, n1 - na);
      for (int64_t i = 0; i < nimg; ++i) {
        const T* xi = x + ((na + i) * s.C + g * Cg) * HW;
        for (int64_t h = 0; h < s.H; ++h) {
          transpose<T>(Cg, s.W, xi + h * s.W, HW, xt + ((i * Hf + h + s.ph) * Wf + s.pw) * Cg,
                       Cg);
        }
        transpose<T>(Kg, pq, dy + ((na + i) * s.K + g * Kg) * pq, pq, dyt + i * pq * Kg, Kg);
      }
      for (int64_t r = 0; r < R; ++r) {
        const T beta = na == n0 ? T(0) : T(1);
        if (cols) {  // dW_r^T (S*Cg x Kg) = B_r^T @ dy^T
          gemm_gather_cols<T>(ncol, Kg, nimg * pq, xt + r * Wf * Cg, boff, dyt, Kg, beta,
                              acc + r * Kg * ncol, Kg);
        } else {
          gemm_gather_rows<T>(Kg, ncol, nimg * pq, dyt, Kg, xt + r * Wf * Cg, boff, beta,
                              acc + r * Kg * ncol, ncol);
        }
      }
    }
    T* dwg = dw_t + g * Kg * s.crs();
    for (int64_t k = 0; k < Kg; ++k)
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t r = 0; r < R; ++r)
          for (int64_t q = 0; q < S; ++q) {
            const int64_t m = q * Cg + c;
            dwg[(k * Cg + c) * R * S + r * S + q] +=
                cols ? acc[(r * ncol + m) * Kg + k] : acc[(r * Kg + k) * ncol + m];
          }
  }
}

}  // namespace

template <typename T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
             const Epilogue<T>& epi) {
  forward_by_ranges(s, x, tap_major_weights(s, w, false, true), b, y, epi, forward_range<T>);
}

template <typename T>
void backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  forward_by_ranges(transposed_shape(s), dy, tap_major_weights(s, w, true, true),
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

}  // namespace ember::conv::direct
