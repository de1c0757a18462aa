// im2col + GEMM: the path every layer can take (select.cpp's fallback).
//
// Layout: NCHW input; the column matrix of one group has a row per (channel, kernel tap)
// and a column per output position of the batch (column t = image * P*Q + position), built
// in blocks of about a cache's worth of columns (column_block) so that a block written by
// im2col is still in L2 when the GEMM reads it; small images share a block, which makes
// their product large enough to run near peak. Forward: y_g (Kg x block) = w_g @ col (a
// block inside one image multiplies straight into y, one spanning images goes through a
// buffer and is scattered). Backward-input: dcol = w_g^T @ dy_block, then col2im adds it
// into dx. Backward-weight: dw_g += dy_block @ col^T. A 1x1 stride-1 unpadded layer uses the
// input itself as its column matrix. Where it wins: layers no specialised path fits, and
// large filters (many channels) whose products reuse packed panels best.
#include <algorithm>
#include <cstring>
#include <utility>

#include "ember/conv/common.h"
#include "ember/conv/paths.h"
#include "ember/gemm/gemm.h"
#include "ember/scratch.h"

namespace ember::conv::im2col {

namespace {

// Output columns q in [lo, hi) are those whose input column q*sw - pw + off lies inside
// [0, W); 0 <= lo <= hi <= Q always (a window may miss the input entirely).
inline void valid_q(const Conv2dShape& s, int64_t off, int64_t& lo, int64_t& hi) {
  lo = std::min<int64_t>(s.Q, std::max<int64_t>(0, ceil_div(s.pw - off, s.sw)));
  hi = std::max<int64_t>(lo, std::min<int64_t>(s.Q, floor_div(s.W - 1 + s.pw - off, s.sw) + 1));
}

// Columns [j0, j1) of one im2col row (input plane xc, kernel offset (r, ss)): dst[j - j0] is
// the input value under output position j = p * Q + q, or 0 where the window is in padding.
// Plain loops rather than memcpy/fill: rows are often short (a few values), and a library
// call per few values would cost more than the GEMM they feed.
template <typename T>
void im2col_row(const Conv2dShape& s, const T* xc, int64_t r, int64_t ss, int64_t j0,
                int64_t j1, T* dst) {
  const int64_t off = ss * s.dw - s.pw;  // input column of output q: q * sw + off
  int64_t qlo, qhi;
  valid_q(s, ss * s.dw, qlo, qhi);
  T* d = dst;
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

// Calls f(n, j0, j1, offset) for each image segment of the columns [t0, t1): columns
// [j0, j1) of image n, at `offset` columns into the block.
template <typename F>
void for_image_segments(const Conv2dShape& s, int64_t t0, int64_t t1, F&& f) {
  const int64_t pq = s.pq();
  for (int64_t t = t0; t < t1;) {
    const int64_t n = t / pq, j0 = t - n * pq, j1 = std::min(pq, t1 - n * pq);
    f(n, j0, j1, t - t0);
    t += j1 - j0;
  }
}

// Columns [t0, t1) of the im2col matrix of group g over the whole batch: col is
// crs x (t1 - t0), row-major with leading dimension ld. Rows are split across `nthreads`.
template <typename T>
void im2col_block(const Conv2dShape& s, const T* x, int64_t g, int64_t t0, int64_t t1,
                  T* col, int64_t ld, int nthreads) {
  const int64_t rows = s.crs(), RS = s.R * s.S, HW = s.H * s.W;
  parallel::for_ranges(rows, nthreads, [&](int64_t row_begin, int64_t row_end) {
    for (int64_t row = row_begin; row < row_end; ++row) {
      const int64_t c = row / RS, r = (row % RS) / s.S, ss = row % s.S;
      for_image_segments(s, t0, t1, [&](int64_t n, int64_t j0, int64_t j1, int64_t at) {
        im2col_row(s, x + (n * s.C + g * s.Cg() + c) * HW, r, ss, j0, j1, col + row * ld + at);
      });
    }
  });
}

// dx += col2im of columns [t0, t1) of group g (the adjoint of im2col_block). Channels are
// split across threads: each channel's rows touch only that channel's planes.
template <typename T>
void col2im_block(const Conv2dShape& s, const T* col, int64_t ld, int64_t g, int64_t t0,
                  int64_t t1, T* dx, int nthreads) {
  const int64_t RS = s.R * s.S, HW = s.H * s.W;
  parallel::for_ranges(s.Cg(), nthreads, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      for (int64_t rs = 0; rs < RS; ++rs) {
        const T* src = col + (c * RS + rs) * ld;
        for_image_segments(s, t0, t1, [&](int64_t n, int64_t j0, int64_t j1, int64_t at) {
          col2im_row(s, src + at, rs / s.S, rs % s.S, j0, j1, dx + (n * s.C + g * s.Cg() + c) * HW);
        });
      }
    }
  });
}

// Calls f(z_row, block_row, len) for each (k, image segment) of the columns [t0, t1) of
// group g: z_row points into the NCHW tensor z (y or dy), block_row into a Kg x (t1 - t0)
// block matrix with leading dimension ld.
template <typename T, typename Z, typename F>
void for_block_rows(const Conv2dShape& s, Z* z, int64_t g, int64_t t0, int64_t t1, T* blk,
                    int64_t ld, F&& f) {
  const int64_t pq = s.pq(), Kg = s.Kg();
  for_image_segments(s, t0, t1, [&](int64_t n, int64_t j0, int64_t j1, int64_t at) {
    for (int64_t k = 0; k < Kg; ++k)
      f(z + (n * s.K + g * Kg + k) * pq + j0, blk + k * ld + at, j1 - j0);
  });
}

// Columns per block: about 1 MiB of column matrix, so that a block written by im2col is
// still in L2 when the GEMM reads it (a whole image's column matrix would round-trip
// through L3). Large filters (crs >= 1024) take 8 MiB blocks of at least 512 columns: every
// block re-packs the Kg x crs filters for its GEMM, and with small blocks that packing
// costs a large part of the multiply.
template <typename T>
int64_t column_block(const Conv2dShape& s) {
  const bool large = s.crs() >= 1024;
  const int64_t bytes = int64_t(1) << (large ? 23 : 20);
  const int64_t target = bytes / (static_cast<int64_t>(sizeof(T)) * s.crs());
  return std::max<int64_t>(large ? 512 : 128, target / 32 * 32);
}

// One block of columns [t0, t1) of group g: lies inside image n (single) from position j0,
// or spans images.
struct Block {
  int64_t g, t0, t1, nb, n, j0;
  bool single;
};

// Calls f(block) for every group and block of the columns of images [n0, n1).
template <typename F>
void for_each_block(const Conv2dShape& s, int64_t n0, int64_t n1, int64_t blk, F&& f) {
  const int64_t pq = s.pq();
  for (int64_t g = 0; g < s.groups; ++g) {
    for (int64_t t0 = n0 * pq; t0 < n1 * pq; t0 += blk) {
      const int64_t t1 = std::min(n1 * pq, t0 + blk), n = t0 / pq;
      f(Block{g, t0, t1, t1 - t0, n, t0 - n * pq, n == (t1 - 1) / pq});
    }
  }
}

// The block's column matrix (pointer, row stride): the input itself for a pointwise layer
// inside one image, else built by im2col into col.
template <typename T>
std::pair<const T*, int64_t> columns(const Conv2dShape& s, const T* x, const Block& b, T* col,
                                     int nt) {
  if (s.is_pointwise() && b.single) return {x + (b.n * s.C + b.g * s.Cg()) * s.pq() + b.j0, s.pq()};
  im2col_block(s, x, b.g, b.t0, b.t1, col, b.nb, nt);
  return {col, b.nb};
}

// The block's rows of dy's group g as a matrix (pointer, row stride): read in place inside
// one image, else gathered into buf.
template <typename T>
std::pair<const T*, int64_t> dy_rows(const Conv2dShape& s, const T* dy, const Block& b, T* buf) {
  if (b.single) return {dy + (b.n * s.K + b.g * s.Kg()) * s.pq() + b.j0, s.pq()};
  for_block_rows(s, dy, b.g, b.t0, b.t1, buf, b.nb, [](const T* zr, T* br, int64_t len) {
    std::memcpy(br, zr, sizeof(T) * len);
  });
  return {buf, b.nb};
}

}  // namespace

template <typename T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
             const Epilogue<T>& epi) {
  const int64_t Kg = s.Kg(), crs = s.crs(), pq = s.pq(), blk = column_block<T>(s);
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
    for_each_block(s, n0, n1, blk, [&](const Block& bk) {
      const T* wg = w + bk.g * Kg * crs;
      const auto [B, ldb] = columns(s, x, bk, col, nt);
      if (bk.single) {  // y_g[n][:, j0:j0+nb] (+)= w_g @ col
        gemm::gemm_strided_threads<T>(Kg, bk.nb, crs, T(1), wg, crs, 1, B, ldb, 1, beta,
                                      y + (bk.n * s.K + bk.g * Kg) * pq + bk.j0, pq, nt);
      } else {  // a block of several images: multiply into cbuf, then scatter
        gemm::gemm_strided_threads<T>(Kg, bk.nb, crs, T(1), wg, crs, 1, B, ldb, 1, T(0), cbuf,
                                      bk.nb, nt);
        const bool add = b != nullptr;
        for_block_rows(s, y, bk.g, bk.t0, bk.t1, cbuf, bk.nb,
                       [add](T* zr, const T* br, int64_t len) {
                         if (add) {
                           for (int64_t i = 0; i < len; ++i) zr[i] += br[i];
                         } else {
                           std::memcpy(zr, br, sizeof(T) * len);
                         }
                       });
      }
      if (epi.active()) {  // the block's columns of y, image segment by image segment
        for_image_segments(s, bk.t0, bk.t1, [&](int64_t n, int64_t j0, int64_t j1, int64_t) {
          for (int64_t k = 0; k < Kg; ++k)
            apply_epilogue(epi, y, (n * s.K + bk.g * Kg + k) * pq + j0, j1 - j0);
        });
      }
    });
  });
}

template <typename T>
void backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t Kg = s.Kg(), crs = s.crs(), pq = s.pq(), HW = s.H * s.W;
  const int64_t blk = column_block<T>(s);
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int nt, int) {
    if (n1 <= n0) return;
    std::fill(dx + n0 * s.C * HW, dx + n1 * s.C * HW, T(0));
    T* col = scratch<T>(0, static_cast<size_t>(crs * blk));
    T* dybuf = scratch<T>(1, static_cast<size_t>(Kg * blk));
    for_each_block(s, n0, n1, blk, [&](const Block& bk) {
      const T* wg = w + bk.g * Kg * crs;
      const auto [B, ldb] = dy_rows(s, dy, bk, dybuf);
      // dcol (crs x nb) = w_g^T (crs x Kg) @ dy block (Kg x nb); w_g is Kg x crs row-major.
      if (s.is_pointwise() && bk.single) {  // dcol is dx itself
        gemm::gemm_strided_threads<T>(crs, bk.nb, Kg, T(1), wg, 1, crs, B, ldb, 1, T(0),
                                      dx + (bk.n * s.C + bk.g * s.Cg()) * pq + bk.j0, pq, nt);
        return;
      }
      gemm::gemm_strided_threads<T>(crs, bk.nb, Kg, T(1), wg, 1, crs, B, ldb, 1, T(0), col,
                                    bk.nb, nt);
      col2im_block(s, col, bk.nb, bk.g, bk.t0, bk.t1, dx, nt);
    });
  });
}

template <typename T>
void backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t Kg = s.Kg(), crs = s.crs(), blk = column_block<T>(s);
  accumulate_weight_grad(s, dy, dw, db, [&](int64_t n0, int64_t n1, int nt, T* dw_t) {
    T* col = scratch<T>(0, static_cast<size_t>(crs * blk));
    T* dybuf = scratch<T>(1, static_cast<size_t>(Kg * blk));
    for_each_block(s, n0, n1, blk, [&](const Block& bk) {
      const auto [A, lda] = dy_rows(s, dy, bk, dybuf);
      const auto [B, ldb] = columns(s, x, bk, col, nt);
      // dw_g (Kg x crs) += dy block (Kg x nb) @ col^T (nb x crs)
      gemm::gemm_strided_threads<T>(Kg, crs, bk.nb, T(1), A, lda, 1, B, 1, ldb, T(1),
                                    dw_t + bk.g * Kg * crs, crs, nt);
    });
  });
}

EMBER_CONV_PATH_INSTANTIATE(float)
EMBER_CONV_PATH_INSTANTIATE(double)

}  // namespace ember::conv::im2col
