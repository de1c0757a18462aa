#include "ember/conv/conv2d.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ember/conv/frame.h"
#include "ember/conv/winograd.h"
#include "ember/cpu.h"
#include "ember/gemm/gemm.h"
#include "ember/scratch.h"

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

namespace ember::conv {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Output columns q in [lo, hi) are those whose input column q*sw - pw + off lies inside
// [0, W); 0 <= lo <= hi <= Q always (a window may miss the input entirely).
inline void valid_q(const Conv2dShape& s, int64_t off, int64_t& lo, int64_t& hi) {
  lo = std::min<int64_t>(s.Q, std::max<int64_t>(0, ceil_div(s.pw - off, s.sw)));
  hi = std::max<int64_t>(lo, std::min<int64_t>(s.Q, floor_div(s.W - 1 + s.pw - off, s.sw) + 1));
}

// Columns [j0, j1) of one im2col row (input plane xc, kernel offset (r, ss)): dst[j - j0] is
// the input value under output position j = p * Q + q, or 0 where the window is in padding.
// Plain loops rather than memcpy/fill: rows are often short (LeNet: 8 values), and library
// calls per 8 values made im2col cost 4x the GEMM it feeds.
template <typename T>
void im2col_row(const Conv2dShape& s, const T* xc, int64_t r, int64_t ss, int64_t j0,
                int64_t j1, T* dst) {
  const int64_t off = ss * s.dw - s.pw;  // input column of output q: q * sw + off
  int64_t qlo, qhi;
  valid_q(s, ss * s.dw, qlo, qhi);
  T* d = dst;
  if (j0 == 0 && j1 == s.pq()) {  // a whole image (the common case): no clipping per row
    for (int64_t p = 0; p < s.P; ++p) {
      const int64_t ih = p * s.sh - s.ph + r * s.dh;
      int64_t q = 0;
      if (ih < 0 || ih >= s.H) {
        for (; q < s.Q; ++q) *d++ = T(0);
        continue;
      }
      const T* src = xc + ih * s.W + off;
      for (; q < qlo; ++q) *d++ = T(0);
      if (s.sw == 1) {
        for (; q < qhi; ++q) *d++ = src[q];
      } else {
        for (; q < qhi; ++q) *d++ = src[q * s.sw];
      }
      for (; q < s.Q; ++q) *d++ = T(0);
    }
    return;
  }
  int64_t p = j0 / s.Q;
  for (int64_t a = j0 - p * s.Q; p * s.Q < j1; ++p, a = 0) {
    const int64_t b = std::min(s.Q, j1 - p * s.Q);  // q range [a, b) of row p in the block
    const int64_t ih = p * s.sh - s.ph + r * s.dh;
    int64_t q = a;
    if (ih < 0 || ih >= s.H) {
      for (; q < b; ++q) *d++ = T(0);
      continue;
    }
    const int64_t lo = std::min(std::max(qlo, a), b), hi = std::max(lo, std::min(qhi, b));
    const T* src = xc + ih * s.W + off;
    for (; q < lo; ++q) *d++ = T(0);
    if (s.sw == 1) {
      for (; q < hi; ++q) *d++ = src[q];
    } else {
      for (; q < hi; ++q) *d++ = src[q * s.sw];
    }
    for (; q < b; ++q) *d++ = T(0);
  }
}

// Adjoint of im2col_row: adds the block's values back into the input plane dxc.
template <typename T>
void col2im_row(const Conv2dShape& s, const T* src, int64_t r, int64_t ss, int64_t j0,
                int64_t j1, T* dxc) {
  const int64_t off = ss * s.dw;
  int64_t qlo, qhi;
  valid_q(s, off, qlo, qhi);
  for (int64_t p = j0 / s.Q; p * s.Q < j1; ++p) {
    const int64_t a = std::max(j0, p * s.Q) - p * s.Q;
    const int64_t b = std::min(j1, (p + 1) * s.Q) - p * s.Q;
    const int64_t ih = p * s.sh - s.ph + r * s.dh;
    if (ih < 0 || ih >= s.H) continue;
    const T* sp = src + (p * s.Q + a - j0);  // sp[q - a]: output column q
    const int64_t lo = std::min(std::max(qlo, a), b), hi = std::max(lo, std::min(qhi, b));
    T* drow = dxc + ih * s.W;
    if (s.sw == 1) {
      T* d = drow + (lo - s.pw + off);
      const T* v = sp + (lo - a);
      for (int64_t q = 0; q < hi - lo; ++q) d[q] += v[q];
    } else {
      for (int64_t q = lo; q < hi; ++q) drow[q * s.sw - s.pw + off] += sp[q - a];
    }
  }
}

// Columns [t0, t1) of the im2col matrix of group g over the whole batch, where column
// t = n * P*Q + j is output position j of image n: col is crs x (t1 - t0), row-major with
// leading dimension ld. Rows are split across `nthreads` (1 = serial).
template <typename T>
void im2col_block(const Conv2dShape& s, const T* x, int64_t g, int64_t t0, int64_t t1,
                  T* col, int64_t ld, int nthreads) {
  const int64_t rows = s.crs(), RS = s.R * s.S, pq = s.pq(), HW = s.H * s.W;
  const int64_t n_first = t0 / pq, j_first = t0 - n_first * pq;
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
#endif
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t c = row / RS, r = (row % RS) / s.S, ss = row % s.S;
    T* dst = col + row * ld;
    for (int64_t n = n_first, j0 = j_first; n * pq < t1; ++n, j0 = 0) {
      const int64_t j1 = std::min(pq, t1 - n * pq);
      im2col_row(s, x + (n * s.C + g * s.Cg() + c) * HW, r, ss, j0, j1, dst);
      dst += j1 - j0;
    }
  }
  (void)nthreads;
}

// dx += col2im of columns [t0, t1) of group g (the adjoint of im2col_block). Channels are
// split across threads: each channel's rows touch only that channel's planes.
template <typename T>
void col2im_block(const Conv2dShape& s, const T* col, int64_t ld, int64_t g, int64_t t0,
                  int64_t t1, T* dx, int nthreads) {
  const int64_t RS = s.R * s.S, pq = s.pq(), HW = s.H * s.W;
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nthreads) if (nthreads > 1) schedule(static)
#endif
  for (int64_t c = 0; c < s.Cg(); ++c) {
    for (int64_t rs = 0; rs < RS; ++rs) {
      const T* src = col + (c * RS + rs) * ld;
      for (int64_t t = t0; t < t1;) {
        const int64_t n = t / pq, j0 = t - n * pq, j1 = std::min(pq, t1 - n * pq);
        T* dxc = dx + ((n * s.C + g * s.Cg() + c) * HW);
        col2im_row(s, src + (t - t0), rs / s.S, rs % s.S, j0, j1, dxc);
        t += j1 - j0;
      }
    }
  }
  (void)nthreads;
}

// Calls f(z_row, block_row, len) for each (k, image segment) of the columns [t0, t1) of
// group g: z_row points into the NCHW tensor z (y or dy), block_row into a Kg x (t1 - t0)
// block matrix with leading dimension ld.
template <typename T, typename Z, typename F>
void for_block_rows(const Conv2dShape& s, Z* z, int64_t g, int64_t t0, int64_t t1, T* blk,
                    int64_t ld, F&& f) {
  const int64_t pq = s.pq(), Kg = s.Kg();
  for (int64_t t = t0; t < t1;) {
    const int64_t n = t / pq, j0 = t - n * pq, j1 = std::min(pq, t1 - n * pq);
    for (int64_t k = 0; k < Kg; ++k)
      f(z + (n * s.K + g * Kg + k) * pq + j0, blk + k * ld + (t - t0), j1 - j0);
    t += j1 - j0;
  }
}

// Gather the rows of a block spanning several images into a dense block matrix.
template <typename T>
void gather_block(const Conv2dShape& s, const T* z, int64_t g, int64_t t0, int64_t t1,
                  T* blk, int64_t ld) {
  for_block_rows(s, z, g, t0, t1, blk, ld, [](const T* zr, T* br, int64_t len) {
    std::memcpy(br, zr, sizeof(T) * len);
  });
}

// Scatter a dense block matrix back into the tensor (overwriting, or adding).
template <typename T>
void scatter_block(const Conv2dShape& s, T* z, int64_t g, int64_t t0, int64_t t1,
                   const T* blk, int64_t ld, bool accumulate) {
  for_block_rows(s, z, g, t0, t1, blk, ld, [accumulate](T* zr, const T* br, int64_t len) {
    if (accumulate) {
      for (int64_t i = 0; i < len; ++i) zr[i] += br[i];
    } else {
      std::memcpy(zr, br, sizeof(T) * len);
    }
  });
}

// Columns (output positions over the batch) per block: about 1 MiB of im2col columns, so
// that a block written by im2col is still in L2 when the GEMM reads it (or col2im reads it
// back). A whole image's column matrix (576 x 1024 floats = 2.4 MB for a 64-channel 3x3
// layer at 32x32) would round-trip through L3 between im2col and the GEMM. Small images are
// batched into one block (LeNet's second layer: 27 images of 8x8 per block), so that their
// GEMM is large enough to run near peak instead of one tiny product per image.
template <typename T>
int64_t column_block(const Conv2dShape& s) {
  // Large filters (crs >= 1024, VGG's 256- and 512-channel layers) take 8 MiB blocks of at
  // least 512 columns: every block re-packs the Kg x crs filters for its GEMM, and with
  // 1 MiB blocks (113 columns of a 256-channel 3x3 layer) that packing cost as much as a
  // third of the multiply (measured 2 threads, batch 64, forward ms 1 MiB -> 8 MiB: 256 ch
  // at 8x8 22.2 -> 19.8, 512 ch at 4x4 22.1 -> 19.8, 256->512 at 4x4 11.1 -> 9.8).
  const bool large = s.crs() >= 1024;
  const int64_t bytes = int64_t(1) << (large ? 23 : 20);
  const int64_t target = bytes / (static_cast<int64_t>(sizeof(T)) * s.crs());
  return std::max<int64_t>(large ? 512 : 128, target / 32 * 32);
}

// Runs body(n0, n1, nt) over image ranges: with several threads and at least as many images,
// each thread takes a contiguous range of whole images and runs single-threaded (no two
// threads ever write the same image, so col2im needs no locks); otherwise one range holds
// the whole batch and the GEMMs and im2col inside it use every thread.
template <typename F>
void for_each_range(int64_t N, F&& body) {
  const int nt = get_num_threads();
  if (nt > 1 && N >= nt) {
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1)
#endif
    for (int t = 0; t < nt; ++t) body(N * t / nt, N * (t + 1) / nt, 1, t);
  } else {
    body(0, N, nt, 0);
  }
}

// Runs body(i0, i1) over [0, n) split into one contiguous part per thread (at most n
// parts): for the memory-bound copies and transposes around the per-pixel products.
template <typename F>
void split_across_threads(int64_t n, F&& body) {
  const int nt = static_cast<int>(std::min<int64_t>(get_num_threads(), n));
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static, 1)
#endif
  for (int t = 0; t < nt; ++t) body(n * t / nt, n * (t + 1) / nt);
}

// A block [t0, t1) lies inside one image when its first and last columns share n; then its
// rows of y / dy are a plain strided matrix (row stride P*Q) and need no gather or scatter.
inline bool one_image(int64_t pq, int64_t t0, int64_t t1) { return t0 / pq == (t1 - 1) / pq; }

// Block [t0, t1) of dy's group-g rows as a matrix (pointer, row stride): read in place when
// the block lies inside one image, else gathered into buf with row stride t1 - t0.
template <typename T>
std::pair<const T*, int64_t> dy_block(const Conv2dShape& s, const T* dy, int64_t g, int64_t t0,
                                      int64_t t1, T* buf) {
  const int64_t pq = s.pq();
  if (one_image(pq, t0, t1)) {
    const int64_t n = t0 / pq;
    return {dy + (n * s.K + g * s.Kg()) * pq + (t0 - n * pq), pq};
  }
  gather_block(s, dy, g, t0, t1, buf, t1 - t0);
  return {buf, t1 - t0};
}

// ---- frame backward-weight (see frame.h) ------------------------------------------------
inline int64_t round_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

// Images of [n0, n1) per block when each takes per_image bytes of working buffers and a
// block should fit `budget` bytes (at least one image).
inline int64_t images_per_block(int64_t n0, int64_t n1, int64_t per_image, int64_t budget) {
  return std::max<int64_t>(1, std::min<int64_t>(n1 - n0, budget / per_image));
}

struct FrameGeometry {
  int64_t Hf, Wf, Fs, seg_len, tail;
};

inline FrameGeometry frame_geometry(const Conv2dShape& s) {
  FrameGeometry f;
  f.Hf = s.H + 2 * s.ph;
  f.Wf = s.W + 2 * s.pw;
  f.Fs = round_up(f.Hf * f.Wf, frame::kAlign);
  f.seg_len = round_up(s.P * f.Wf, frame::kAlign);
  f.tail = round_up((s.R - 1) * s.dh * f.Wf + (s.S - 1) * s.dw, frame::kAlign);
  return f;
}

// Where the frame path measured faster than im2col + GEMM (benchmarks/bench_conv.py, 2
// threads, effective GFLOPS frame vs im2col): few channels, where the column matrix costs
// more than the small GEMM it feeds (16->16 3x3 at 32x32 147 vs 72, 32->32 at 16x16 138 vs
// 117, LeNet's 1->6 5x5 55 vs 20), but not many (64->64 at 8x8 119 vs 145, 128->128 at 16x16
// 160 vs 204: there the GEMM's packed panels reuse data better than the 4x4 dot tiles). So:
// Cg + Kg <= 96, frames of one image in L2 (about 1 MiB), and a batch that splits across the
// threads (each thread runs its own images).
// The part every path rule below shares. No: the path's geometry does not apply (`applies`),
// the batch is empty, another algorithm is forced, the layer is 1x1 stride 1 (the input is
// its own column matrix), or threads cannot split the batch; Forced: set_conv_algo names
// this path; Decide: Auto, the rule's measured condition decides.
enum class Gate { No, Forced, Decide };
inline Gate path_gate(const Conv2dShape& s, bool applies, ConvAlgo path) {
  if (!applies || s.N == 0) return Gate::No;
  const ConvAlgo a = get_conv_algo();
  if (a == path) return Gate::Forced;
  if (a != ConvAlgo::Auto || s.is_pointwise()) return Gate::No;
  const int nt = get_num_threads();
  return nt > 1 && s.N < nt ? Gate::No : Gate::Decide;
}

template <typename T>
bool use_frame_backward_weight(const Conv2dShape& s) {
  const Gate gate = path_gate(s, s.sh == 1 && s.sw == 1, ConvAlgo::Frame);
  if (gate != Gate::Decide) return gate == Gate::Forced;
  if (s.Cg() + s.Kg() > 96) return false;
  const FrameGeometry f = frame_geometry(s);
  return (s.Cg() + s.Kg()) * f.Fs * static_cast<int64_t>(sizeof(T)) <= (int64_t(3) << 19);
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
inline std::vector<int64_t> tap_offsets(const Conv2dShape& s, const FrameGeometry& f) {
  std::vector<int64_t> off(static_cast<size_t>(s.R * s.S));
  for (int64_t r = 0; r < s.R; ++r)
    for (int64_t q = 0; q < s.S; ++q) off[r * s.S + q] = r * s.dh * f.Wf + q * s.dw;
  return off;
}

// Frame forward (stride 1): y_g (Kg x P*Wf frame positions) = sum over taps o of
// W_o (Kg x Cg) @ xf shifted by offs[o] -- gemm_shifted, the shifted rows read in place --
// then the Q valid columns of each frame row are copied out, plus the bias. wt holds the
// weights as [g][o][k][c].
template <typename T>
void frame_forward_range(const Conv2dShape& s, const T* x, const T* wt, const T* b, T* y,
                         int64_t n0, int64_t n1, const Epilogue<T>& epi) {
  FrameGeometry f = frame_geometry(s);
  f.tail = round_up(f.tail + gemm::kShiftedSlack, frame::kAlign);
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, pq = s.pq();
  const int64_t ldx = f.Fs + f.tail, len = s.P * f.Wf;
  T* xf = scratch<T>(2, static_cast<size_t>(Cg * ldx));
  T* yf = scratch<T>(3, static_cast<size_t>(Kg * len));
  const std::vector<int64_t> off = tap_offsets(s, f);
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t g = 0; g < s.groups; ++g) {
      build_x_frames(s, f, x, g, n, 1, xf, ldx);
      gemm::gemm_shifted<T>(Kg, len, Cg, RS, wt + g * RS * Kg * Cg, xf, ldx, off.data(), yf,
                            len);
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

// The filters (K, C/g, R, S) tap by tap, once per call: for the forward out = k, in = c; for
// the stride-1 backward-input (transpose_flip) the filters transposed and flipped, out = c,
// in = k, tap o read from R*S - 1 - o. Laid out [g][o][out][in] (gemm_shifted's A_o, the
// frame path) or, with in_major, [g][o][in][out] (gemm_frame_rows's B, the direct path).
template <typename T>
std::vector<T> tap_major_weights(const Conv2dShape& s, const T* w, bool transpose_flip,
                                 bool in_major = false) {
  const int64_t Kg = s.Kg(), Cg = s.Cg(), RS = s.R * s.S;
  const int64_t rows = transpose_flip ? Cg : Kg, cols = transpose_flip ? Kg : Cg;
  std::vector<T> wt(static_cast<size_t>(s.K * Cg * RS));
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t k = 0; k < Kg; ++k)
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t o = 0; o < RS; ++o) {
          const int64_t out = transpose_flip ? c : k, in = transpose_flip ? k : c;
          const int64_t tap = transpose_flip ? RS - 1 - o : o, blk = g * RS + o;
          const int64_t at = in_major ? (blk * cols + in) * rows + out
                                      : (blk * rows + out) * cols + in;
          wt[at] = w[((g * Kg + k) * Cg + c) * RS + tap];
        }
  return wt;
}

template <typename T>
void frame_forward(const Conv2dShape& s, const T* x, const T* wt, const T* b, T* y,
                   const Epilogue<T>& epi = Epilogue<T>{}) {
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int, int) {
    frame_forward_range(s, x, wt, b, y, n0, n1, epi);
  });
}

// Direct forward, pixel-major: the output channels lie along the vector lanes and the
// input values are broadcast from zero-padded frames (gemm_frame_rows): for each output
// pixel, y[k] = sum over taps o and input channels c of frame_c[pixel + off_o] * W[k][c][o].
// Every lane holds a wanted output (the channel-major frame forward computes the Wf - Q
// padding columns of every frame row too, and rounds each image's P * Wf positions up to
// whole tiles: 8x8 images waste a third of their multiply-adds there). A strided layer's
// frame rows are stored phase by phase (columns 0, sw, 2sw, ... then 1, 1 + sw, ...), so
// the inputs of a run of output columns are again consecutive values. Frames of a block of
// images (about 512 KiB) are built, multiplied into pixel-major outputs, and transposed into
// NCHW with the bias. wp holds the filters as [g][o * Cg + c][k] (gemm_frame_rows's B).
// Output rows [r0, r1) whose windows cover the same kernel rows inside the input, and the
// steps [k0, k1) of those kernel rows (kernel-row-major steps of `per_row` each). The top and
// bottom output rows of a padded layer skip the kernel rows that fall on frame padding: a
// 3x3 layer with padding 1 at 8x8 multiplied zeros in 1/12 of its steps there.
struct RowGroup {
  int64_t r0, r1, k0, k1;
};
inline std::vector<RowGroup> row_groups(const Conv2dShape& s, int64_t per_row) {
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

template <typename T>
void direct_forward_range(const Conv2dShape& s, const T* x, const T* wp, const T* b, T* y,
                          int64_t n0, int64_t n1, const Epilogue<T>& epi) {
  const int64_t Hf = s.H + 2 * s.ph, Wf = s.W + 2 * s.pw;
  const int64_t Wh = (Wf + s.sw - 1) / s.sw, Wrow = Wh * s.sw, Fs = Hf * Wrow;
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, pq = s.pq(), kt = Cg * RS;
  const int64_t a_img = Cg * Fs, HW = s.H * s.W;
  const int64_t nblk =
      images_per_block(n0, n1, a_img * static_cast<int64_t>(sizeof(T)), int64_t(1) << 19);
  T* xf = scratch<T>(2, static_cast<size_t>(nblk * a_img + gemm::kFrameSlack));
  T* yp = scratch<T>(3, static_cast<size_t>(nblk * pq * Kg));
  std::fill(xf, xf + nblk * a_img + gemm::kFrameSlack, T(0));  // padding stays zero
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
        gemm::gemm_frame_rows<T>(nimg, rg.r1 - rg.r0, s.Q, Kg, rg.k1 - rg.k0,
                                 xf + rg.r0 * s.sh * Wrow, a_img, s.sh * Wrow,
                                 aoff.data() + rg.k0, wp + (g * kt + rg.k0) * Kg, Kg,
                                 yp + rg.r0 * s.Q * Kg, pq * Kg, Kg);
      }
      for (int64_t i = 0; i < nimg; ++i) {  // pixel-major -> NCHW (8x8 register transposes)
        T* yi = y + ((na + i) * s.K + g * Kg) * pq;
        gemm::transpose<T>(pq, Kg, yp + i * pq * Kg, Kg, yi, pq);
        apply_bias_epilogue(epi, b != nullptr ? b + g * Kg : nullptr, y,
                            ((na + i) * s.K + g * Kg) * pq, Kg, pq);
      }
    }
  }
}

template <typename T>
void direct_forward(const Conv2dShape& s, const T* x, const T* wp, const T* b, T* y,
                    const Epilogue<T>& epi = Epilogue<T>{}) {
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int, int) {
    direct_forward_range(s, x, wp, b, y, n0, n1, epi);
  });
}

// The stride-1 backward-input as a forward convolution: input dy (N, K, P, Q), output
// (N, C, H, W), padding dilation * (kernel - 1) - padding (negative when the forward padding
// exceeds that; callers then use another algorithm).
inline Conv2dShape transposed_shape(const Conv2dShape& s) {
  Conv2dShape t = s;
  t.C = s.K;
  t.K = s.C;
  t.H = s.P;
  t.W = s.Q;
  t.ph = s.dh * (s.R - 1) - s.ph;
  t.pw = s.dw * (s.S - 1) - s.pw;
  t.P = s.H;
  t.Q = s.W;
  return t;
}

// dw_t (K x crs, accumulated) += the weight gradient of images [n0, n1), all groups.
template <typename T>
void frame_backward_weight_range(const Conv2dShape& s, const T* x, const T* dy, int64_t n0,
                                 int64_t n1, T* dw_t) {
  const FrameGeometry f = frame_geometry(s);
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, HW = s.H * s.W, pq = s.pq();
  const int64_t per_image = (Cg + Kg) * f.Fs * static_cast<int64_t>(sizeof(T));
  const int64_t nimg_max = images_per_block(n0, n1, per_image, int64_t(1) << 20);
  const int64_t ldx = nimg_max * f.Fs + f.tail, ldd = nimg_max * f.Fs;
  T* xf = scratch<T>(2, static_cast<size_t>(Cg * ldx));
  T* dyf = scratch<T>(3, static_cast<size_t>(Kg * ldd));
  const std::vector<int64_t> offs = tap_offsets(s, f);
  const int64_t* off = offs.data();
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
      frame::Args a{Kg, Cg, RS, s.crs(), ldd, ldx, nimg, f.Fs, f.seg_len, off};
      frame::dot<T>(a, dyf, xf, dw_t + g * Kg * s.crs());
    }
  }
}

// Backward-weight over pixel-major (NHWC) frames, dilation 1, any stride. For kernel row r
// the gradient's columns (s, c) of the row's S taps are S * Cg consecutive values of a frame
// pixel row, so dW_r (Kg x S*Cg) = dy (Kg x output positions) @ B_r, where row t of B_r
// (output position t = (image, p, q)) is read in place at frame pixel (p*sh + r, q*sw): one
// gemm_gather_rows per kernel row (or gemm_gather_cols for dW_r^T = B_r^T @ dy^T), no
// column matrix and no padding positions in the sum. The frames and a pixel-major copy of
// dy are built per block of images (about 1 MiB); dW_r accumulates across blocks in acc and
// is permuted into dw_t[k][c][r][s] at the end.
template <typename T>
void gather_backward_weight_range(const Conv2dShape& s, const T* x, const T* dy, int64_t n0,
                                  int64_t n1, T* dw_t) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), R = s.R, S = s.S, pq = s.pq(), HW = s.H * s.W;
  const int64_t Hf = s.H + 2 * s.ph, Wf = s.W + 2 * s.pw, Fs = Hf * Wf, ncol = S * Cg;
  const int64_t img_bytes = (Fs * Cg + pq * Kg) * static_cast<int64_t>(sizeof(T));
  const int64_t nblk = images_per_block(n0, n1, img_bytes, int64_t(1) << 20);
  const int64_t xt_len = nblk * Fs * Cg + gemm::kGatherSlack + ncol;
  T* acc = scratch<T>(0, static_cast<size_t>(R * Kg * ncol));
  // Few output channels (<= 32 floats with AVX-512): the transposed product, whose rows are
  // the S * Cg filter columns and whose one tile-wide panel is the output channels, fills its
  // tiles better (2 threads, GFLOPS rows -> cols: 16->16 at 32x32 163 -> 189, 32->32 at
  // 16x16 256 -> 270; 64->64 at 8x8 296 -> 278 keeps the rows).
  const bool cols = Kg <= 2 * gemm::frame_rows_width<T>();
  int64_t* boff = scratch<int64_t>(1, static_cast<size_t>(nblk * pq));
  T* xt = scratch<T>(2, static_cast<size_t>(xt_len));
  T* dyt = scratch<T>(3, static_cast<size_t>(nblk * pq * Kg + gemm::kGatherSlack));
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
          gemm::transpose<T>(Cg, s.W, xi + h * s.W, HW,
                             xt + ((i * Hf + h + s.ph) * Wf + s.pw) * Cg, Cg);
        }
        gemm::transpose<T>(Kg, pq, dy + ((na + i) * s.K + g * Kg) * pq, pq, dyt + i * pq * Kg,
                           Kg);
      }
      for (int64_t r = 0; r < R; ++r) {
        const T beta = na == n0 ? T(0) : T(1);
        if (cols) {  // dW_r^T (S*Cg x Kg) = B_r^T @ dy^T
          gemm::gemm_gather_cols<T>(ncol, Kg, nimg * pq, xt + r * Wf * Cg, boff, dyt, Kg, beta,
                                    acc + r * Kg * ncol, Kg);
        } else {
          gemm::gemm_gather_rows<T>(Kg, ncol, nimg * pq, dyt, Kg, xt + r * Wf * Cg, boff, beta,
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

// The gathered backward-weight where it measured faster than the frame dot tiles and
// im2col + GEMM (2 threads, effective GFLOPS gather / frame / im2col): 64->64 3x3 at 8x8
// 285 / 117 / 140, 32->32 at 16x16 242 / 128 / 107, 16->16 at 32x32 141 / 123 / 50,
// LeNet's 6->16 5x5 at 10x10 168 / 83 / 52, 256->256 at 8x8 265 / - / 215; with 2-3 input
// channels only in the transposed form with one full tile of output channels (the 3->16
// stem at 32x32 74 / 54 / 25); not 1 input channel (LeNet's 1->6 5x5 31 / 42 / 16) nor
// fewer than 4 output columns (512->512 at 2x2 128 / - / 147).
template <typename T>
bool use_gather_backward_weight(const Conv2dShape& s) {
  const Gate gate = path_gate(s, s.dh == 1 && s.dw == 1, ConvAlgo::Direct);
  if (gate != Gate::Decide) return gate == Gate::Forced;
  const int64_t w = gemm::frame_rows_width<T>();
  const bool few_in = s.Cg() >= 2 && s.Kg() <= 2 * w && s.Kg() % w == 0;  // transposed form
  return (s.Cg() >= 4 || few_in) && s.Q >= 4;
}

// Frame forward (gemm_shifted over zero-padded frames) where the direct forward does not
// apply and it measured faster than Winograd and im2col + GEMM (2 threads, effective GFLOPS
// frame / Winograd / im2col): few input channels: 16->16 3x3 at 32x32 210 / 166 / 106, the
// first layers 3->16 at 32x32 146 / - / 84, 3->64 at 32x32 152 / - / 123, LeNet's 1->6 5x5
// at 28x28 140 / - / 48 and 6->16 5x5 at 10x10 114 / - / 83; not many channels (64->64 at
// 32x32 272 / 395 / 224: Winograd's 2.25x fewer multiply-adds win).
template <typename T>
bool use_frame_forward(const Conv2dShape& s) {
  const Gate gate = path_gate(s, s.sh == 1 && s.sw == 1, ConvAlgo::Frame);
  if (gate != Gate::Decide) return gate == Gate::Forced;
  return s.Cg() <= 32 && s.Kg() <= 64 && s.Q >= 8;
}

template <typename T>
bool use_winograd(const Conv2dShape& s) {
  if (!std::is_same_v<T, float>) return false;
  const ConvAlgo a = get_conv_algo();
  return (a == ConvAlgo::Auto && winograd_profitable(s)) ||
         (a == ConvAlgo::Winograd && winograd_applicable(s));
}

// The direct (pixel-major) forward where it measured fastest (2 threads, effective GFLOPS
// direct / frame / Winograd / im2col, forward; backward-input alike): output channels that
// fill whole register tiles (a multiple of 32 floats with AVX-512), >= 8 output columns (a
// row is one or more runs of a tile's rows: Q = 4 ran 83 vs im2col's 226) and filters of
// at most 1152 values per output channel (their packed panels are re-read for every output
// row: 256->256 3x3 at 8x8 190 / - / - / 220). 64->64 at 8x8 263 / 155 / 89 / 163, 32->32 at
// 16x16 263 / 221 / 194 / 144, 128->256 at 8x8 255 / 161 / - / 225, strided 16->32 at 32x32
// 183 / - / - / 107, 32->64 at 16x16 150 / - / - / 111, but not 1x1 filters (strided 16->32
// 1x1 at 32x32: 4 vs im2col 9 ms per 100 images). 16 output channels (AVX-512's one-vector
// tile) only on narrow images: LeNet's 6->16 5x5 at 10x10 216 / 111 / - / 83, but 16->16 at
// 32x32 197 / 213 / 166 / 106. Winograd keeps the
// layers with >= 64 output channels on >= 12 columns where it is profitable: 64->64 at 32x32
// - / 266 / 358 / 213 direct 266, 128->128 at 16x16 direct 264, Winograd 311.
template <typename T>
bool use_direct_forward(const Conv2dShape& s) {
  const Gate gate = path_gate(s, true, ConvAlgo::Direct);
  if (gate != Gate::Decide) return gate == Gate::Forced;
  if (s.Kg() >= 64 && use_winograd<T>(s)) return false;
  const int64_t w = gemm::frame_rows_width<T>();
  const bool tiles = s.Kg() % (2 * w) == 0 || (s.Kg() % w == 0 && s.Q < 16);
  return tiles && s.Cg() >= 4 && s.Q >= 8 && s.crs() <= 1152 && s.R * s.S > 1;
}

// ---- per-pixel path ------------------------------------------------------------------
// Small images with many channels (VGG's 512-channel layers at 4x4 and 2x2): im2col + GEMM
// multiplies every window value, and a window hanging over the border holds padding zeros
// (3x3 with padding 1: a third of the multiply-adds at 4x4, over half at 2x2 are zeros).
// Here the products run over the images of the batch, one per (output pixel p, input pixel
// q, tap t) that lands inside the image: y_p (N x K) = sum over p's valid pairs of
// x_q (N x C) @ W_t (C x K) -- no column matrix, no zero multiplied. The backward-input is
// the same with dy and W_t^T per input pixel; the backward-weight is one gemm_gather_both
// per tap, dW_t = sum over the tap's pairs of dy_p^T @ x_q, its operands read in place
// through offset lists.

// (output pixel, input pixel, tap) for every window position inside the input (groups 1).
struct PixelPair {
  int64_t p, q, t;
};
inline std::vector<PixelPair> pixel_pairs(const Conv2dShape& s) {
  std::vector<PixelPair> pairs;
  for (int64_t op = 0; op < s.P; ++op)
    for (int64_t oq = 0; oq < s.Q; ++oq)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t c = 0; c < s.S; ++c) {
          const int64_t ih = op * s.sh - s.ph + r * s.dh, iw = oq * s.sw - s.pw + c * s.dw;
          if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
          pairs.push_back({op * s.Q + oq, ih * s.W + iw, r * s.S + c});
        }
  return pairs;
}

// Row stride of the path's operand rows: `len` values rounded up to whole cache lines, and
// to an odd number of lines. Consecutive steps of a product read rows a fixed number of rows
// apart; with an odd line count per row those reads cycle through all 64 L1 sets, where rows
// of 512 floats (2 KiB, or 4 KiB for a step 2 rows on) landed in the same few sets and a
// block of B rows or A columns was evicted before the next tile could reuse it (4x4
// 512-channel layer, best of two runs each, rows of whole lines -> odd line counts: forward
// 18.3 -> 16.1 ms, backward-weight 14.5 -> 14.2 ms).
template <typename T>
int64_t padded_row(int64_t len) {
  const int64_t line = 64 / static_cast<int64_t>(sizeof(T)), lines = ceil_div(len, line);
  return (lines % 2 == 0 ? lines + 1 : lines) * line;
}

// Products of the forward and backward-input, tap by tap: for each (src, u, t) of `pairs`
// (sorted by tap), C_u (m x n) += A_src (m x kr) @ B_t (kr x n), where A_src[i][j] is at
// a + (src * kr + j) * lda + i (the images of one value side by side), B_t[j][l] at
// b + (t * kr + j) * ldb + l (forward = false: the filters tap by tap) or
// b + (j * RS + t) * ldb + l (forward) and C_u[i][l] at
// c + (i * units + u) * n + l (pixel-major). Each is one strided GEMM on one thread; the
// threads split the n columns (so every thread reads A whole and writes its own columns).
// Tap-major order keeps B_t (the slice of one tap) in L2 across all the pixels that use it
// (pixel by pixel, the whole filter bank streamed from L3 once per pixel: the 4x4
// 512-channel forward ran at half the speed). A unit no pair reaches is zeroed.
template <typename T>
void tap_products(const std::vector<PixelPair>& pairs, bool forward, int64_t units, int64_t m,
                  int64_t n, int64_t kr, int64_t RS, const T* a, int64_t lda, const T* b,
                  int64_t ldb, T* c) {
  const int nt = get_num_threads();
  const int64_t w = 2 * gemm::frame_rows_width<T>();
  const int64_t parts = std::min<int64_t>(nt, ceil_div(n, w));
  const int64_t chunk = ceil_div(ceil_div(n, parts), w) * w;
  const int64_t t_step = forward ? ldb : kr * ldb, j_step = forward ? RS * ldb : ldb;
#pragma omp parallel for num_threads(nt) if (parts > 1) schedule(static, 1)
  for (int64_t part = 0; part < parts; ++part) {
    const int64_t j0 = part * chunk, nj = std::min(chunk, n - j0);
    if (nj <= 0) continue;
    std::vector<char> touched(static_cast<size_t>(units), 0);
    for (const PixelPair& pr : pairs) {
      const int64_t src = forward ? pr.q : pr.p, u = forward ? pr.p : pr.q;
      const T beta = touched[static_cast<size_t>(u)] ? T(1) : T(0);
      touched[static_cast<size_t>(u)] = 1;
      gemm::gemm_strided_threads<T>(m, nj, kr, T(1), a + src * kr * lda, 1, lda,
                                    b + pr.t * t_step + j0, j_step, 1, beta,
                                    c + u * n + j0, units * n, 1);
    }
    for (int64_t u = 0; u < units; ++u) {
      if (touched[static_cast<size_t>(u)]) continue;
      for (int64_t i = 0; i < m; ++i) std::fill_n(c + (i * units + u) * n + j0, nj, T(0));
    }
  }
}

// Filters as rows of `ld` values. by_out (the backward-input's W_t^T), tap by tap: row
// (t * K + k) holds w[k, :, t] (C values), one transpose per k; a product's consecutive
// steps then read neighbouring rows (rows RS apart, 19 KiB for 512 channels, spread a block
// of 256 steps over ~150 pages: the 4x4 512-channel backward-input ran 334 -> 355 GFLOPS
// tap by tap). Otherwise (the forward's W_t) row (c * RS + t) holds w[:, c, t] (K values),
// w transposed whole: regrouping those rows by tap cost the forward more than it saved
// (4x4 328 -> 280 GFLOPS).
template <typename T>
T* pixel_weights(const Conv2dShape& s, const T* w, bool by_out, int64_t ld) {
  const int64_t RS = s.R * s.S, C = s.C, K = s.K, rows = by_out ? K * RS : C * RS;
  T* wt = scratch<T>(1, static_cast<size_t>(rows * ld));
  if (by_out) {
    split_across_threads(K, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k)
        gemm::transpose<T>(C, RS, w + k * C * RS, RS, wt + k * ld, K * ld);
    });
  } else {  // each thread writes whole rows of wt
    split_across_threads(C * RS, [&](int64_t r0, int64_t r1) {
      gemm::transpose<T>(K, r1 - r0, w + r0, C * RS, wt + r0 * ld, ld);
    });
  }
  return wt;
}

// The valid pairs ordered by tap (stable: within a tap, by output pixel).
inline std::vector<PixelPair> pairs_by_tap(const Conv2dShape& s) {
  std::vector<PixelPair> pairs = pixel_pairs(s);
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const PixelPair& l, const PixelPair& r) { return l.t < r.t; });
  return pairs;
}

// Forward (forward = true): xt holds the images of one input value side by side, row
// (q * C + c) for input pixel q and channel c (row stride ldn); y_p (N x K) = sum over p's
// pairs (q, t) of x_q (N x C) @ W_t (C x K). Backward-input: the same with src = dy (rows
// (p * K + k)), dx_q (N x C) = sum over q's pairs (p, t) of dy_p (N x K) @ W_t^T (K x C).
// The products land pixel-major and are transposed into NCHW (plus the bias, if given).
template <typename T>
void pixel_pass(const Conv2dShape& s, bool forward, const T* src, const T* w, const T* b,
                T* dst, const Epilogue<T>& epi = Epilogue<T>{}) {
  const int64_t N = s.N, RS = s.R * s.S;
  const int64_t in_ch = forward ? s.C : s.K, out_ch = forward ? s.K : s.C;
  const int64_t in_px = forward ? s.H * s.W : s.pq(), out_px = forward ? s.pq() : s.H * s.W;
  const int64_t ldo = padded_row<T>(out_ch), ldn = padded_row<T>(N);
  T* st = scratch<T>(0, static_cast<size_t>(in_px * in_ch * ldn));
  split_across_threads(in_ch, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      gemm::transpose<T>(N, in_px, src + c * in_px, in_ch * in_px, st + c * ldn, in_ch * ldn);
  });
  const T* wt = pixel_weights(s, w, !forward, ldo);
  T* op = scratch<T>(2, static_cast<size_t>(N * out_px * out_ch));
  tap_products<T>(pairs_by_tap(s), forward, out_px, N, out_ch, in_ch, RS, st, ldn, wt, ldo,
                  op);
  split_across_threads(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* dn = dst + n * out_ch * out_px;
      gemm::transpose<T>(out_px, out_ch, op + n * out_px * out_ch, out_ch, dn, out_px);
      apply_bias_epilogue(epi, b, dst, n * out_ch * out_px, out_ch, out_px);
    }
  });
}

// out_u (m x n at c + u * n, row stride ldc) = the product over unit u's steps
// aoff/boff[begin[u], begin[u+1]) (one gemm_gather_both), for every unit u, on all threads. The columns are split into chunks of
// whole tiles when there are fewer units than twice the threads, and (unit, chunk) items are
// dealt out dynamically (units differ in their count of valid pairs).
template <typename T>
void gathered_products(int64_t units, int64_t m, int64_t n, const std::vector<int64_t>& begin,
                       const T* a, const int64_t* aoff, const T* b, const int64_t* boff, T* c,
                       int64_t ldc) {
  const int nt = get_num_threads();
  const int64_t w = 2 * gemm::frame_rows_width<T>();
  const int64_t want = units >= 2 * nt ? 1 : ceil_div(2 * nt, units);
  const int64_t chunk = ceil_div(ceil_div(n, want), w) * w, nchunk = ceil_div(n, chunk);
  const int64_t items = units * nchunk;
#pragma omp parallel for num_threads(nt) if (nt > 1 && items > 1) schedule(dynamic, 1)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t u = it / nchunk, j0 = (it % nchunk) * chunk, nj = std::min(chunk, n - j0);
    const int64_t k0 = begin[static_cast<size_t>(u)];
    const int64_t kt = begin[static_cast<size_t>(u) + 1] - k0;
    gemm::gemm_gather_both<T>(m, nj, kt, a, aoff + k0, b + j0, boff + k0, T(0),
                              c + u * n + j0, ldc);
  }
}

// Backward-weight: tap t's step (pair (p, q, t), image n) reads the K values of dy at output
// pixel p of image n from dyp (PQ x N x ldk, pixel-major) and the C values of x at input
// pixel q from xp (HW x N x ldc); dW_t (K x C) lands in acc (K x T x C), then is permuted
// into (K, C, R, S).
template <typename T>
void pixel_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t N = s.N, C = s.C, K = s.K, HW = s.H * s.W, PQ = s.pq(), RS = s.R * s.S;
  const int64_t ldk = padded_row<T>(K), ldc = padded_row<T>(C);
  const std::vector<PixelPair> pairs = pairs_by_tap(s);
  std::vector<int64_t> begin(static_cast<size_t>(RS) + 1, 0);
  for (const PixelPair& pr : pairs) begin[static_cast<size_t>(pr.t) + 1] += N;
  for (int64_t u = 0; u < RS; ++u) begin[u + 1] += begin[u];
  const int64_t steps = begin[static_cast<size_t>(RS)];
  int64_t* off = scratch<int64_t>(3, static_cast<size_t>(2 * steps + 1));
  for (size_t i = 0, j = 0; i < pairs.size(); ++i)
    for (int64_t n = 0; n < N; ++n, ++j) {
      off[j] = (pairs[i].p * N + n) * ldk;
      off[steps + j] = (pairs[i].q * N + n) * ldc;
    }
  T* dyp = scratch<T>(0, static_cast<size_t>(PQ * N * ldk + gemm::kGatherSlack));
  T* xp = scratch<T>(1, static_cast<size_t>(HW * N * ldc + gemm::kGatherSlack));
  std::fill(dyp + PQ * N * ldk, dyp + PQ * N * ldk + gemm::kGatherSlack, T(0));
  std::fill(xp + HW * N * ldc, xp + HW * N * ldc + gemm::kGatherSlack, T(0));
  for (int64_t n = 0; n < N; ++n) {
    gemm::transpose<T>(K, PQ, dy + n * K * PQ, PQ, dyp + n * ldk, N * ldk);
    gemm::transpose<T>(C, HW, x + n * C * HW, HW, xp + n * ldc, N * ldc);
  }
  T* acc = scratch<T>(2, static_cast<size_t>(K * RS * C));
  gathered_products<T>(RS, K, C, begin, dyp, off, xp, off + steps, acc, RS * C);
  for (int64_t k = 0; k < K; ++k)
    gemm::transpose<T>(RS, C, acc + k * RS * C, C, dw + k * C * RS, RS);
  if (db != nullptr) {
    std::fill(db, db + K, T(0));
    add_bias_grad(s, dy, 0, N, db);
  }
}

// The per-pixel path where it measured faster than the other paths (2 threads, a batch of
// 64, nominal GFLOPS forward / backward-input / backward-weight, per-pixel vs the best
// other): 512->512 3x3 at 2x2 287 / 316 / 363 vs 200 / 166 / 139 (im2col), at 4x4 328 / 334
// / 340 vs 240 / 212 / 208, 256->512 at 4x4 336 / 313 / 325 vs 241 / 220 / 212, 256->256 at
// 8x8 277 / 275 / 283 vs 233 / 222 / 262 (gathered backward-weight), 128->256 at 8x8 262 /
// 240 / 264 vs 259 (direct) / 213 / 276 (gathered); not 64->128 at 16x16 (153 / 126 / 181
// vs 302 / 258 / 286) nor ResNet's 64->64 at 8x8 (132 / 126 / 197 vs 287 / 288 / 276). A
// batch of at least 16 images fills the tiles.
template <typename T>
bool use_pixel(const Conv2dShape& s) {
  const Gate gate = path_gate(s, s.groups == 1, ConvAlgo::Pixel);
  if (gate != Gate::Decide) return gate == Gate::Forced;
  const int64_t channels = std::min(s.C, s.K), pixels = std::max(s.pq(), s.H * s.W);
  return s.N >= 16 && ((pixels <= 16 && channels >= 64) || (pixels <= 64 && channels >= 128));
}

std::atomic<int>& algo_slot() {
  static std::atomic<int> slot{[] {
    const char* env = std::getenv("EMBER_CONV_ALGO");
    ConvAlgo a = ConvAlgo::Auto;
    if (env != nullptr && std::strcmp(env, "im2col") == 0) a = ConvAlgo::Im2col;
    if (env != nullptr && std::strcmp(env, "winograd") == 0) a = ConvAlgo::Winograd;
    if (env != nullptr && std::strcmp(env, "frame") == 0) a = ConvAlgo::Frame;
    if (env != nullptr && std::strcmp(env, "direct") == 0) a = ConvAlgo::Direct;
    if (env != nullptr && std::strcmp(env, "pixel") == 0) a = ConvAlgo::Pixel;
    return static_cast<int>(a);
  }()};
  return slot;
}

}  // namespace

void set_conv_algo(ConvAlgo algo) { algo_slot().store(static_cast<int>(algo)); }
ConvAlgo get_conv_algo() { return static_cast<ConvAlgo>(algo_slot().load()); }

void Conv2dShape::finalize() {
  auto bad = [](const std::string& m) { throw std::invalid_argument(m); };
  if (N < 0 || C <= 0 || H <= 0 || W <= 0 || K <= 0 || R <= 0 || S <= 0)
    bad("sizes must be positive (batch may be 0)");
  if (sh <= 0 || sw <= 0) bad("stride must be positive");
  if (dh <= 0 || dw <= 0) bad("dilation must be positive");
  if (ph < 0 || pw < 0) bad("padding must be non-negative");
  if (groups <= 0 || C % groups || K % groups) bad("channels must be divisible by groups");
  const int64_t eh = dh * (R - 1) + 1, ew = dw * (S - 1) + 1;
  if (H + 2 * ph < eh || W + 2 * pw < ew) bad("kernel larger than the padded input");
  P = (H + 2 * ph - eh) / sh + 1;
  Q = (W + 2 * pw - ew) / sw + 1;
}

template <typename T>
void im2col(const Conv2dShape& s, const T* x, T* col) {
  Conv2dShape one = s;
  one.N = 1;
  one.C = s.Cg();
  one.K = s.Kg();
  one.groups = 1;
  im2col_block(one, x, 0, 0, s.pq(), col, s.pq(), 1);
}

template <typename T>
void col2im_add(const Conv2dShape& s, const T* col, T* dx) {
  Conv2dShape one = s;
  one.N = 1;
  one.C = s.Cg();
  one.K = s.Kg();
  one.groups = 1;
  col2im_block(one, col, s.pq(), 0, 0, s.pq(), dx, 1);
}

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
                    const Epilogue<T>& epi) {
  if (use_pixel<T>(s)) return pixel_pass(s, true, x, w, b, y, epi);
  if (use_direct_forward<T>(s))
    return direct_forward(s, x, tap_major_weights(s, w, false, true).data(), b, y, epi);
  if (use_frame_forward<T>(s))
    return frame_forward(s, x, tap_major_weights(s, w, false).data(), b, y, epi);
  if constexpr (std::is_same_v<T, float>) {
    if (use_winograd<T>(s)) return winograd_forward(s, x, w, b, y, epi);
  }
  const int64_t Kg = s.Kg(), crs = s.crs(), pq = s.pq(), blk = column_block<T>(s);
  const bool pointwise = s.is_pointwise();
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int nt, int) {
    if (n1 <= n0) return;
    if (b != nullptr) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t k = 0; k < s.K; ++k)
          std::fill(y + (n * s.K + k) * pq, y + (n * s.K + k + 1) * pq, b[k]);
    }
    const T beta = b != nullptr ? T(1) : T(0);
    T* col = scratch<T>(0, static_cast<size_t>(crs * blk));
    T* cbuf = scratch<T>(1, static_cast<size_t>(Kg * blk));
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* wg = w + g * Kg * crs;
      for (int64_t t0 = n0 * pq; t0 < n1 * pq; t0 += blk) {
        const int64_t t1 = std::min(n1 * pq, t0 + blk), nb = t1 - t0;
        const bool single = one_image(pq, t0, t1);
        const int64_t n = t0 / pq, j0 = t0 - n * pq;
        const T* B = col;
        int64_t ldb = nb;
        if (pointwise && single) {  // the input is the column matrix
          B = x + (n * s.C + g * s.Cg()) * pq + j0;
          ldb = pq;
        } else {
          im2col_block(s, x, g, t0, t1, col, nb, nt);
        }
        if (single) {  // y_g[n][:, j0:j0+nb] (+)= w_g @ col
          gemm::gemm_strided_threads<T>(Kg, nb, crs, T(1), wg, crs, 1, B, ldb, 1, beta,
                                        y + (n * s.K + g * Kg) * pq + j0, pq, nt);
        } else {  // a block of several images: multiply into cbuf, then scatter
          gemm::gemm_strided_threads<T>(Kg, nb, crs, T(1), wg, crs, 1, B, ldb, 1, T(0), cbuf,
                                        nb, nt);
          scatter_block(s, y, g, t0, t1, cbuf, nb, b != nullptr);
        }
        if (epi.active()) {  // the block's columns of y, image segment by image segment
          for (int64_t t = t0; t < t1;) {
            const int64_t ni = t / pq, j = t - ni * pq, len = std::min(t1 - t, pq - j);
            for (int64_t k = 0; k < Kg; ++k)
              apply_epilogue(epi, y, (ni * s.K + g * Kg + k) * pq + j, len);
            t += len;
          }
        }
      }
    }
  });
}

template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (use_pixel<T>(s)) return pixel_pass(s, false, dy, w, static_cast<const T*>(nullptr), dx);
  // Stride 1: dx is the forward convolution of dy with the filters flipped and transposed
  // (C/g outputs per group, K/g inputs) and padding dilation * (R - 1) - padding.
  const Conv2dShape t = transposed_shape(s);
  const bool transposable = s.sh == 1 && s.sw == 1 && t.ph >= 0 && t.pw >= 0;
  if (transposable && use_direct_forward<T>(t)) {
    return direct_forward(t, dy, tap_major_weights(s, w, true, true).data(),
                          static_cast<const T*>(nullptr), dx);
  }
  if (transposable && use_frame_forward<T>(t)) {
    return frame_forward(t, dy, tap_major_weights(s, w, true).data(),
                         static_cast<const T*>(nullptr), dx);
  }
  if constexpr (std::is_same_v<T, float>) {
    if (use_winograd<T>(s)) return winograd_backward_input(s, dy, w, dx);
  }
  const int64_t Kg = s.Kg(), crs = s.crs(), pq = s.pq(), HW = s.H * s.W;
  const int64_t blk = column_block<T>(s);
  const bool pointwise = s.is_pointwise();
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int nt, int) {
    if (n1 <= n0) return;
    std::fill(dx + n0 * s.C * HW, dx + n1 * s.C * HW, T(0));
    T* col = scratch<T>(0, static_cast<size_t>(crs * blk));
    T* dybuf = scratch<T>(1, static_cast<size_t>(Kg * blk));
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* wg = w + g * Kg * crs;
      for (int64_t t0 = n0 * pq; t0 < n1 * pq; t0 += blk) {
        const int64_t t1 = std::min(n1 * pq, t0 + blk), nb = t1 - t0;
        const bool single = one_image(pq, t0, t1);
        const int64_t n = t0 / pq, j0 = t0 - n * pq;
        const auto [B, ldb] = dy_block(s, dy, g, t0, t1, dybuf);
        // dcol (crs x nb) = w_g^T (crs x Kg) @ dy block (Kg x nb); w_g is Kg x crs row-major.
        if (pointwise && single) {  // dcol is dx itself
          gemm::gemm_strided_threads<T>(crs, nb, Kg, T(1), wg, 1, crs, B, ldb, 1, T(0),
                                        dx + (n * s.C + g * s.Cg()) * pq + j0, pq, nt);
          continue;
        }
        gemm::gemm_strided_threads<T>(crs, nb, Kg, T(1), wg, 1, crs, B, ldb, 1, T(0), col, nb,
                                      nt);
        col2im_block(s, col, nb, g, t0, t1, dx, nt);
      }
    }
  });
}

// db_t[k] += sum of dy over images [n0, n1) and positions (db_t may be null).
template <typename T>
void add_bias_grad(const Conv2dShape& s, const T* dy, int64_t n0, int64_t n1, T* db_t) {
  if (db_t == nullptr) return;
  const int64_t pq = s.pq();
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t k = 0; k < s.K; ++k) {
      const T* __restrict row = dy + (n * s.K + k) * pq;
      T acc = 0;
      // One partial sum per vector lane: a plain `acc += row[i]` is a chain of dependent
      // adds (it was 30% of the 3->16 stem's backward-weight with a bias).
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < pq; ++i) acc += row[i];
      db_t[k] += acc;
    }
  }
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (use_pixel<T>(s)) return pixel_backward_weight(s, x, dy, dw, db);
  const int64_t Kg = s.Kg(), crs = s.crs(), pq = s.pq(), blk = column_block<T>(s);
  const int64_t wsize = s.K * crs;
  const bool pointwise = s.is_pointwise();
  const int nt = get_num_threads();
  const bool split = nt > 1 && s.N >= nt;
  const bool gather_path = use_gather_backward_weight<T>(s);
  const bool frame_path = !gather_path && use_frame_backward_weight<T>(s);
  // Per-thread partial sums when threads split the batch; thread 0 writes into dw directly.
  std::vector<T> partial(split ? static_cast<size_t>((nt - 1) * (wsize + s.K)) : 0, T(0));
  std::fill(dw, dw + wsize, T(0));
  if (db != nullptr) std::fill(db, db + s.K, T(0));

  for_each_range(s.N, [&](int64_t n0, int64_t n1, int gemm_nt, int tid) {
    if (n1 <= n0) return;
    T* dw_t = tid == 0 ? dw : partial.data() + (tid - 1) * (wsize + s.K);
    T* db_t = db == nullptr ? nullptr : (tid == 0 ? db : dw_t + wsize);
    if (gather_path || frame_path) {
      if (gather_path) {
        gather_backward_weight_range(s, x, dy, n0, n1, dw_t);
      } else {
        frame_backward_weight_range(s, x, dy, n0, n1, dw_t);
      }
      add_bias_grad(s, dy, n0, n1, db_t);
      return;
    }
    T* col = scratch<T>(0, static_cast<size_t>(crs * blk));
    T* dybuf = scratch<T>(1, static_cast<size_t>(Kg * blk));
    for (int64_t g = 0; g < s.groups; ++g) {
      for (int64_t t0 = n0 * pq; t0 < n1 * pq; t0 += blk) {
        const int64_t t1 = std::min(n1 * pq, t0 + blk), nb = t1 - t0;
        const bool single = one_image(pq, t0, t1);
        const int64_t n = t0 / pq, j0 = t0 - n * pq;
        const auto [A, lda] = dy_block(s, dy, g, t0, t1, dybuf);
        const T* B = col;
        int64_t ldb = nb;
        if (pointwise && single) {
          B = x + (n * s.C + g * s.Cg()) * pq + j0;
          ldb = pq;
        } else {
          im2col_block(s, x, g, t0, t1, col, nb, gemm_nt);
        }
        // dw_g (Kg x crs) += dy block (Kg x nb) @ col^T (nb x crs)
        gemm::gemm_strided_threads<T>(Kg, crs, nb, T(1), A, lda, 1, B, 1, ldb, T(1),
                                      dw_t + g * Kg * crs, crs, gemm_nt);
      }
    }
    add_bias_grad(s, dy, n0, n1, db_t);
  });
  if (split) {
    for (int t = 1; t < nt; ++t) {
      const T* src = partial.data() + (t - 1) * (wsize + s.K);
      for (int64_t i = 0; i < wsize; ++i) dw[i] += src[i];
      if (db != nullptr)
        for (int64_t k = 0; k < s.K; ++k) db[k] += src[wsize + k];
    }
  }
}

#define EMBER_CONV_INSTANTIATE(T)                                                           \
  template void im2col<T>(const Conv2dShape&, const T*, T*);                               \
  template void col2im_add<T>(const Conv2dShape&, const T*, T*);                           \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*,   \
                                  const Epilogue<T>&);                                    \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);      \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);
EMBER_CONV_INSTANTIATE(float)
EMBER_CONV_INSTANTIATE(double)
#undef EMBER_CONV_INSTANTIATE

}  // namespace ember::conv
