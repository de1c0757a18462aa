// The per-pixel path: small images with many channels (groups 1).
//
// im2col + GEMM multiplies every window value, and a window hanging over the border holds
// padding zeros (3x3 with padding 1: a third of the multiply-adds at 4x4, over half at
// 2x2). Here the batch's images are the GEMM rows and each (output pixel p, input pixel q,
// tap t) that lands inside the image is one product y_p (N x K) += x_q (N x C) @ W_t (C x K),
// run tap by tap so W_t stays in L2 while the pixels that use it pass -- no column matrix,
// no zero multiplied. x is transposed to "images side by side" rows (read in place as A's
// columns) and the filters to one row per (channel, tap), both with an odd number of cache
// lines per row so consecutive steps spread over the L1 sets. Backward-input: the same with
// dy and W_t^T per input pixel. Backward-weight: one gemm_gather_both (products.h) per tap,
// dW_t = sum over the tap's pairs of dy_p^T @ x_q, operands read in place through offset
// lists. Where it wins: images of a few pixels with many channels (VGG's last stages).
#include <algorithm>
#include <vector>

#include "ember/conv/common.h"
#include "ember/conv/paths.h"
#include "ember/conv/products.h"
#include "ember/gemm/gemm.h"
#include "ember/scratch.h"

namespace ember::conv::pixel {

namespace {

// (output pixel, input pixel, tap) for every window position inside the input.
struct PixelPair {
  int64_t p, q, t;
};

// The valid pairs ordered by tap (stable: within a tap, by output pixel).
std::vector<PixelPair> pairs_by_tap(const Conv2dShape& s) {
  std::vector<PixelPair> pairs;
  for (int64_t op = 0; op < s.P; ++op)
    for (int64_t oq = 0; oq < s.Q; ++oq)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t c = 0; c < s.S; ++c) {
          const int64_t ih = op * s.sh - s.ph + r * s.dh, iw = oq * s.sw - s.pw + c * s.dw;
          if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
          pairs.push_back({op * s.Q + oq, ih * s.W + iw, r * s.S + c});
        }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const PixelPair& l, const PixelPair& r) { return l.t < r.t; });
  return pairs;
}

// Row stride of the path's operand rows: `len` values rounded up to whole cache lines, and
// to an odd number of lines. Consecutive steps of a product read rows a fixed number of rows
// apart; with an odd line count per row those reads cycle through all L1 sets, where rows of
// a power-of-two size land in the same few sets and are evicted before the next tile could
// reuse them.
template <typename T>
int64_t padded_row(int64_t len) {
  const int64_t line = 64 / static_cast<int64_t>(sizeof(T)), lines = ceil_div(len, line);
  return (lines % 2 == 0 ? lines + 1 : lines) * line;
}

// Products of the forward and backward-input, tap by tap: for each (src, u, t) of `pairs`
// (sorted by tap), C_u (m x n) += A_src (m x kr) @ B_t (kr x n), where A_src[i][j] is at
// a + (src * kr + j) * lda + i (the images of one value side by side), B_t[j][l] at
// b + (t * kr + j) * ldb + l (forward = false: the filters tap by tap) or
// b + (j * RS + t) * ldb + l (forward) and C_u[i][l] at c + (i * units + u) * n + l
// (pixel-major). Each is one strided GEMM on one thread; the threads split the n columns
// (every thread reads A whole and writes its own columns). Tap-major order keeps B_t (the
// slice of one tap) in L2 across all the pixels that use it. A unit no pair reaches is
// zeroed.
template <typename T>
void tap_products(const std::vector<PixelPair>& pairs, bool forward, int64_t units, int64_t m,
                  int64_t n, int64_t kr, int64_t RS, const T* a, int64_t lda, const T* b,
                  int64_t ldb, T* c) {
  const int nt = get_num_threads();
  const int64_t w = 2 * frame_rows_width<T>();
  const int64_t parts = std::min<int64_t>(nt, ceil_div(n, w));
  const int64_t chunk = ceil_div(ceil_div(n, parts), w) * w;
  const int64_t t_step = forward ? ldb : kr * ldb, j_step = forward ? RS * ldb : ldb;
  parallel::run(parts, nt, [&](int64_t part) {
    const int64_t j0 = part * chunk, nj = std::min(chunk, n - j0);
    if (nj <= 0) return;
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
  });
}

// Filters as rows of `ld` values. by_out (the backward-input's W_t^T), tap by tap: row
// (t * K + k) holds w[k, :, t] (C values), one transpose per k, so a product's consecutive
// steps read neighbouring rows. Otherwise (the forward's W_t) row (c * RS + t) holds
// w[:, c, t] (K values), w transposed whole (regrouping those rows by tap costs the forward
// more than it saves).
template <typename T>
T* pixel_weights(const Conv2dShape& s, const T* w, bool by_out, int64_t ld) {
  const int64_t RS = s.R * s.S, C = s.C, K = s.K, rows = by_out ? K * RS : C * RS;
  T* wt = scratch<T>(1, static_cast<size_t>(rows * ld));
  if (by_out) {
    split_across_threads(K, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k)
        transpose<T>(C, RS, w + k * C * RS, RS, wt + k * ld, K * ld);
    });
  } else {  // each thread writes whole rows of wt
    split_across_threads(C * RS, [&](int64_t r0, int64_t r1) {
      transpose<T>(K, r1 - r0, w + r0, C * RS, wt + r0 * ld, ld);
    });
  }
  return wt;
}

// Forward (forward = true): xt holds the images of one input value side by side, row
// (q * C + c) for input pixel q and channel c (row stride ldn); y_p (N x K) = sum over p's
// pairs (q, t) of x_q (N x C) @ W_t (C x K). Backward-input: the same with src = dy (rows
// (p * K + k)), dx_q (N x C) = sum over q's pairs (p, t) of dy_p (N x K) @ W_t^T (K x C).
// The products land pixel-major and are transposed into NCHW (plus the bias and epilogue).
template <typename T>
void pass(const Conv2dShape& s, bool forward, const T* src, const T* w, const T* b, T* dst,
          const Epilogue<T>& epi) {
  const int64_t N = s.N, RS = s.R * s.S;
  const int64_t in_ch = forward ? s.C : s.K, out_ch = forward ? s.K : s.C;
  const int64_t in_px = forward ? s.H * s.W : s.pq(), out_px = forward ? s.pq() : s.H * s.W;
  const int64_t ldo = padded_row<T>(out_ch), ldn = padded_row<T>(N);
  T* st = scratch<T>(0, static_cast<size_t>(in_px * in_ch * ldn));
  split_across_threads(in_ch, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      transpose<T>(N, in_px, src + c * in_px, in_ch * in_px, st + c * ldn, in_ch * ldn);
  });
  const T* wt = pixel_weights(s, w, !forward, ldo);
  T* op = scratch<T>(2, static_cast<size_t>(N * out_px * out_ch));
  tap_products<T>(pairs_by_tap(s), forward, out_px, N, out_ch, in_ch, RS, st, ldn, wt, ldo, op);
  split_across_threads(N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* dn = dst + n * out_ch * out_px;
      transpose<T>(out_px, out_ch, op + n * out_px * out_ch, out_ch, dn, out_px);
      apply_bias_epilogue(epi, b, dst, n * out_ch * out_px, out_ch, out_px);
    }
  });
}

// out_u (m x n at c + u * n, row stride ldc) = the product over unit u's steps
// aoff/boff[begin[u], begin[u+1]) (one gemm_gather_both), for every unit u, on all threads.
// The columns are split into chunks of whole tiles when there are fewer units than twice
// the threads, and (unit, chunk) items are dealt out dynamically (units differ in their
// count of valid pairs).
template <typename T>
void gathered_products(int64_t units, int64_t m, int64_t n, const std::vector<int64_t>& begin,
                       const T* a, const int64_t* aoff, const T* b, const int64_t* boff, T* c,
                       int64_t ldc) {
  const int nt = get_num_threads();
  const int64_t w = 2 * frame_rows_width<T>();
  const int64_t want = units >= 2 * nt ? 1 : ceil_div(2 * nt, units);
  const int64_t chunk = ceil_div(ceil_div(n, want), w) * w, nchunk = ceil_div(n, chunk);
  const int64_t items = units * nchunk;
  parallel::run(items, nt, [&](int64_t it) {  // items taken one at a time, as they finish
    const int64_t u = it / nchunk, j0 = (it % nchunk) * chunk, nj = std::min(chunk, n - j0);
    const int64_t k0 = begin[static_cast<size_t>(u)];
    const int64_t kt = begin[static_cast<size_t>(u) + 1] - k0;
    gemm_gather_both<T>(m, nj, kt, a, aoff + k0, b + j0, boff + k0, T(0), c + u * n + j0, ldc);
  });
}

}  // namespace

template <typename T>
void forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y,
             const Epilogue<T>& epi) {
  pass(s, true, x, w, b, y, epi);
}

template <typename T>
void backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  pass(s, false, dy, w, static_cast<const T*>(nullptr), dx, Epilogue<T>{});
}

// Tap t's step (pair (p, q, t), image n) reads the K values of dy at output pixel p of image
// n from dyp (PQ x N x ldk, pixel-major) and the C values of x at input pixel q from xp
// (HW x N x ldc); dW_t (K x C) lands in acc (K x T x C), then is permuted into (K, C, R, S).
template <typename T>
void backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
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
  T* dyp = scratch<T>(0, static_cast<size_t>(PQ * N * ldk + kGatherSlack));
  T* xp = scratch<T>(1, static_cast<size_t>(HW * N * ldc + kGatherSlack));
  std::fill(dyp + PQ * N * ldk, dyp + PQ * N * ldk + kGatherSlack, T(0));
  std::fill(xp + HW * N * ldc, xp + HW * N * ldc + kGatherSlack, T(0));
  for (int64_t n = 0; n < N; ++n) {
    transpose<T>(K, PQ, dy + n * K * PQ, PQ, dyp + n * ldk, N * ldk);
    transpose<T>(C, HW, x + n * C * HW, HW, xp + n * ldc, N * ldc);
  }
  T* acc = scratch<T>(2, static_cast<size_t>(K * RS * C));
  gathered_products<T>(RS, K, C, begin, dyp, off, xp, off + steps, acc, RS * C);
  for (int64_t k = 0; k < K; ++k) transpose<T>(RS, C, acc + k * RS * C, C, dw + k * C * RS, RS);
  if (db != nullptr) {
    std::fill(db, db + K, T(0));
    add_bias_grad(s, dy, 0, N, db);
  }
}

EMBER_CONV_PATH_INSTANTIATE(float)
EMBER_CONV_PATH_INSTANTIATE(double)

}  // namespace ember::conv::pixel
