// What a forward convolution may do to its output after the products, for inference-time
// fusion (ember.utils.optimize_for_inference): y += residual (a tensor of y's shape, e.g. a
// ResNet block's shortcut), then y = relu(y). Every forward path applies it to the part of
// y it has just written (one image's channel planes, a tile row, a column block), while
// that part is still in cache: a separate add and ReLU would each be one more pass over
// the whole activation (together 15% of a ResNet-20 inference).
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
// Elements [at, at + len) of the output y (flat NCHW offsets, shared with the residual).
// ReLU keeps NaN (as max(x, 0) in NumPy and PyTorch).
template <typename T>
void apply_epilogue(const Epilogue<T>& epi, T* y, int64_t at, int64_t len) {
  T* __restrict d = y + at;
  if (epi.residual != nullptr) {
    const T* __restrict r = epi.residual + at;
    if (epi.relu) {
      for (int64_t i = 0; i < len; ++i) {
        const T v = d[i] + r[i];
        d[i] = v < T(0) ? T(0) : v;
      }
    } else {
      for (int64_t i = 0; i < len; ++i) d[i] += r[i];
    }
  } else if (epi.relu) {
    for (int64_t i = 0; i < len; ++i) d[i] = d[i] < T(0) ? T(0) : d[i];
  }
}
}  // namespace

}  // namespace ember::conv
