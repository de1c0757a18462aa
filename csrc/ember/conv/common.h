// Helpers every convolution path shares: index arithmetic, how a batch is split across
// threads, filters re-laid out tap by tap, the stride-1 backward-input as a forward
// convolution, bias and weight-gradient accumulation. Generic code (no ISA flags).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ember/conv/conv2d.h"
#include "ember/cpu.h"
#include "ember/parallel.h"

namespace ember::conv {

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }
inline int64_t round_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

// Images of [n0, n1) per block when each takes per_image bytes of working buffers and a
// block should fit `budget` bytes (at least one image).
inline int64_t images_per_block(int64_t n0, int64_t n1, int64_t per_image, int64_t budget) {
  return std::max<int64_t>(1, std::min<int64_t>(n1 - n0, budget / per_image));
}

// True when threads split the batch: several threads and at least as many images. Then each
// thread takes a contiguous range of whole images and runs single-threaded (no two threads
// write the same image); otherwise one range holds the whole batch and the products inside
// it use every thread.
inline bool splits_batch(int64_t N) {
  const int nt = get_num_threads();
  return nt > 1 && N >= nt;
}

// Runs body(n0, n1, nt, tid) over image ranges as splits_batch() says: one range per thread
// (nt = 1 inside), or the whole batch on the calling thread (nt = all threads).
template <typename F>
void for_each_range(int64_t N, F&& body) {
  const int nt = get_num_threads();
  if (splits_batch(N)) {
    parallel::run(nt, nt, [&](int64_t t) {
      body(N * t / nt, N * (t + 1) / nt, 1, t);
    });
  } else {
    body(0, N, nt, 0);
  }
}

// Runs body(i0, i1) over [0, n) split into one contiguous part per thread (at most n
// parts): for the memory-bound copies and transposes around the products.
template <typename F>
void split_across_threads(int64_t n, F&& body) {
  const int nt = parallel::threads_for_parts(n);
  parallel::run(nt, nt, [&](int64_t t) {
    body(n * t / nt, n * (t + 1) / nt);
  });
}

// The stride-1 backward-input as a forward convolution: input dy (N, K, P, Q), output
// (N, C, H, W), padding dilation * (kernel - 1) - padding (negative when the forward padding
// exceeds that; `transposable` is then false and another algorithm runs).
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
inline bool transposable(const Conv2dShape& s) {
  return s.sh == 1 && s.sw == 1 && s.dh * (s.R - 1) >= s.ph && s.dw * (s.S - 1) >= s.pw;
}

// The filters (K, C/g, R, S) tap by tap, once per call: for the forward out = k, in = c; for
// the stride-1 backward-input (transpose_flip) the filters transposed and flipped, out = c,
// in = k, tap o read from R*S - 1 - o. Laid out [g][o][out][in] (the frame path's shifted
// products) or, with in_major, [g][o][in][out] (the direct path's frame-row products).
template <typename T>
std::vector<T> tap_major_weights(const Conv2dShape& s, const T* w, bool transpose_flip,
                                 bool in_major) {
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

// A forward over ranges of images with tap-major filters (the direct and frame paths):
// range(s, x, wt, b, y, n0, n1, epi) computes images [n0, n1). Their backward-input is the
// same on transposed_shape(s) with the filters transposed and flipped.
template <typename T, typename Range>
void forward_by_ranges(const Conv2dShape& s, const T* x, const std::vector<T>& wt, const T* b,
                       T* y, const Epilogue<T>& epi, Range&& range) {
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int, int) {
    range(s, x, wt.data(), b, y, n0, n1, epi);
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
      // adds.
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < pq; ++i) acc += row[i];
      db_t[k] += acc;
    }
  }
}

// dw (K x crs) and db (K, may be null) := the gradients summed over the batch, where
// body(n0, n1, gemm_nt, dw_t) adds the weight gradient of images [n0, n1) into dw_t with
// products of at most gemm_nt threads (for_each_range's ranges). When threads split the
// batch each has its own partial sums (thread 0 writes into dw directly), added at the end.
template <typename T, typename F>
void accumulate_weight_grad(const Conv2dShape& s, const T* dy, T* dw, T* db, F&& body) {
  const int64_t wsize = s.K * s.crs();
  const int nt = get_num_threads();
  const bool split = splits_batch(s.N);
  std::vector<T> partial(split ? static_cast<size_t>((nt - 1) * (wsize + s.K)) : 0, T(0));
  std::fill(dw, dw + wsize, T(0));
  if (db != nullptr) std::fill(db, db + s.K, T(0));
  for_each_range(s.N, [&](int64_t n0, int64_t n1, int gemm_nt, int tid) {
    if (n1 <= n0) return;
    T* dw_t = tid == 0 ? dw : partial.data() + (tid - 1) * (wsize + s.K);
    T* db_t = db == nullptr ? nullptr : (tid == 0 ? db : dw_t + wsize);
    body(n0, n1, gemm_nt, dw_t);
    add_bias_grad(s, dy, n0, n1, db_t);
  });
  if (!split) return;
  for (int t = 1; t < nt; ++t) {
    const T* src = partial.data() + (t - 1) * (wsize + s.K);
    for (int64_t i = 0; i < wsize; ++i) dw[i] += src[i];
    if (db != nullptr)
      for (int64_t k = 0; k < s.K; ++k) db[k] += src[wsize + k];
  }
}

}  // namespace ember::conv
