// What a forward convolution may do to its output after the products, for inference-time
// fusion (ember.inference.optimize_for_inference): y += residual (a tensor of y's shape, e.g. a
// ResNet block's shortcut), then y = relu(y). Every forward path applies it to the part of
// y it has just written (one image's channel planes, a tile row, a column block), while
// that part is still in cache: a separate add and ReLU would each be one more pass over
// the whole activation. The frame, direct and per-pixel paths add the bias in that same
// pass (finish_row / apply_bias_epilogue), rather than in a pass of its own after their
// transpose or copy-out.
#pragma once

#include <cstdint>

namespace ember::conv {

template <typename T>
struct Epilogue {
  const T* residual = nullptr;  // same layout as y (N, K, P, Q), or null
  bool relu = false;

  bool active() const { return residual != nullptr || relu; }
};

// Internal linkage on purpose: each translation unit (the Winograd code is compiled once per
// ISA) gets its own copy with its own flags, never an AVX-512 copy in the portable path.
namespace {
// dst[j] = src[j] + bias (+ res[j] when res is given), then max(., 0) when relu, for
// j < len; src may be dst. One pass for what a bias pass and apply_epilogue did in two, with
// the same order of additions: (y + bias) + residual. `omp simd`: element j reads only
// src[j] and res[j] before writing dst[j], so the loops vectorise even in place (without it
// GCC's overlap check sent the in-place calls to its scalar loop).
template <typename T, bool kBias = true>
void finish_row(const T* src, T* dst, const T* res, T bias, bool relu, int64_t len) {
  // kBias == false: no addition at all (adding a zero bias would turn -0 into +0).
  if (res != nullptr && relu) {
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) {
      const T v = (kBias ? src[j] + bias : src[j]) + res[j];
      dst[j] = v < T(0) ? T(0) : v;
    }
  } else if (res != nullptr) {
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) dst[j] = (kBias ? src[j] + bias : src[j]) + res[j];
  } else if (relu) {
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) {
      const T v = kBias ? src[j] + bias : src[j];
      dst[j] = v < T(0) ? T(0) : v;
    }
  } else if (kBias || src != dst) {
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) dst[j] = kBias ? src[j] + bias : src[j];
  }
}

// Elements [at, at + len) of the output y (flat NCHW offsets, shared with the residual):
// the epilogue alone (no bias), in place. ReLU keeps NaN (as max(x, 0) in NumPy and
// PyTorch).
template <typename T>
void apply_epilogue(const Epilogue<T>& epi, T* y, int64_t at, int64_t len) {
  if (!epi.active()) return;
  finish_row<T, false>(y + at, y + at,
                       epi.residual != nullptr ? epi.residual + at : nullptr, T(0), epi.relu,
                       len);
}

// One image's channel planes [0, rows) of the output, plane r at y + at + r * cols (flat
// NCHW offsets, shared with the residual): += bias[r] (bias may be null), then the
// epilogue, in one pass (a bias pass followed by apply_epilogue read and wrote each
// transposed image twice).
template <typename T>
void apply_bias_epilogue(const Epilogue<T>& epi, const T* bias, T* y, int64_t at,
                         int64_t rows, int64_t cols) {
  if (bias == nullptr && !epi.active()) return;
  for (int64_t r = 0; r < rows; ++r) {
    T* d = y + at + r * cols;
    const T* res = epi.residual != nullptr ? epi.residual + at + r * cols : nullptr;
    if (bias != nullptr) {
      finish_row<T>(d, d, res, bias[r], epi.relu, cols);
    } else {
      finish_row<T, false>(d, d, res, T(0), epi.relu, cols);
    }
  }
}
}  // namespace

}  // namespace ember::conv
