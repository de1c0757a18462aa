// Pooling: output sizes, shape checks, and the entry points (the active tier's kernels).
#include "ember/pool/pool2d.h"

#include <stdexcept>
#include <string>

#include "ember/checked.h"

namespace ember::pool {

namespace {

inline int64_t div_floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

template <typename T>
const Kernels<T>& table() {
  static const IsaTables<Kernels<T>> tables = EMBER_ISA_TABLES(pool::kernels(T{}));
  return tables.active();
}

}  // namespace

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  // finalize bounds every argument and the dilated kernel to 2^40: nothing here overflows.
  const int64_t span = in + 2 * p - d * (k - 1) - 1;
  int64_t out = (ceil_mode ? -div_floor(-span, s) : div_floor(span, s)) + 1;
  // With ceil_mode the last window must start inside the input or the left padding.
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

void Pool2dShape::finalize(const char* op) {
  auto pr = [](int64_t a, int64_t b) {
    return "(" + std::to_string(a) + ", " + std::to_string(b) + ")";
  };
  auto bad = [op](const std::string& m) {
    throw std::invalid_argument(std::string(op) + ": " + m);
  };
  if (N < 0 || C <= 0 || H <= 0 || W <= 0 || N > checked::kMaxExtent || C > checked::kMaxExtent ||
      H > checked::kMaxExtent || W > checked::kMaxExtent)
    bad("input sizes must be positive (batch may be 0) and at most 2^40, got (" +
        std::to_string(N) + ", " + std::to_string(C) + ", " + std::to_string(H) + ", " +
        std::to_string(W) + ")");
  auto within = [&](int64_t a, int64_t b, int64_t lo, const char* what) {
    if (a < lo || b < lo || a > checked::kMaxExtent || b > checked::kMaxExtent)
      bad(std::string(what) + " must be in [" + std::to_string(lo) + ", 2^40], got " + pr(a, b));
  };
  within(kh, kw, 1, "kernel_size");
  within(sh, sw, 1, "stride");
  within(dh, dw, 1, "dilation");
  within(ph, pw, 0, "padding");
  auto dilated = [&](int64_t d, int64_t k) {
    int64_t span;
    if (__builtin_mul_overflow(d, k - 1, &span) || span >= checked::kMaxExtent)
      bad("the dilated kernel (kernel_size " + pr(kh, kw) + ", dilation " + pr(dh, dw) +
          ") spans more than 2^40");
    return span + 1;
  };
  dilated(dh, kh);
  dilated(dw, kw);
  // torch's rule, on the kernel itself (not the dilated span): a window then always holds
  // at least one input element.
  if (2 * ph > kh || 2 * pw > kw)
    bad("padding " + pr(ph, pw) + " must be at most half of the kernel size " + pr(kh, kw));
  P = pooled_size(H, kh, sh, ph, dh, ceil_mode);
  Q = pooled_size(W, kw, sw, pw, dw, ceil_mode);
  if (P <= 0 || Q <= 0)
    bad("kernel " + pr(kh, kw) + " (dilation " + pr(dh, dw) + ") is larger than the padded "
        "input " + pr(H, W) + " with padding " + pr(ph, pw));
}

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx) {
  table<T>().max_forward(s, x, y, idx);
}
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* dy, const int64_t* idx, T* dx) {
  table<T>().index_backward(s.planes(), s.H * s.W, s.P * s.Q, dy, idx, dx);
}
template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, bool include_pad, const T* x, T* y) {
  table<T>().avg_forward(s, include_pad, x, y);
}
template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, bool include_pad, const T* dy, T* dx) {
  table<T>().avg_backward(s, include_pad, dy, dx);
}
template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                 const T* x, T* y) {
  table<T>().adaptive_avg_forward(planes, H, W, P, Q, x, y);
}
template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                  const T* dy, T* dx) {
  table<T>().adaptive_avg_backward(planes, H, W, P, Q, dy, dx);
}
template <typename T>
void adaptive_max_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                 const T* x, T* y, int64_t* idx) {
  table<T>().adaptive_max_forward(planes, H, W, P, Q, x, y, idx);
}
template <typename T>
void index_pool_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy,
                         const int64_t* idx, T* dx) {
  table<T>().index_backward(planes, in_plane, out_plane, dy, idx, dx);
}

#define EMBER_POOL_INSTANTIATE(T)                                                              \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*, int64_t*);            \
  template void max_pool2d_backward<T>(const Pool2dShape&, const T*, const int64_t*, T*);     \
  template void avg_pool2d_forward<T>(const Pool2dShape&, bool, const T*, T*);                \
  template void avg_pool2d_backward<T>(const Pool2dShape&, bool, const T*, T*);               \
  template void adaptive_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t,   \
                                               const T*, T*);                                 \
  template void adaptive_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                                const T*, T*);                                \
  template void adaptive_max_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t,   \
                                               const T*, T*, int64_t*);                       \
  template void index_pool_backward<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);
EMBER_POOL_INSTANTIATE(float)
EMBER_POOL_INSTANTIATE(double)
#undef EMBER_POOL_INSTANTIATE

}  // namespace ember::pool
