// Overflow-checked size arithmetic. Every size computed from values a caller supplies (kernel,
// stride, padding, dilation, input and output extents, element counts) goes through these, so
// that a huge argument is refused with std::invalid_argument (ValueError in Python) instead of
// wrapping around into a wrong shape or an out-of-bounds read.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace ember::checked {

// The largest extent or parameter (kernel, stride, padding, dilation, a dimension) accepted:
// far above any real tensor, low enough that sums and products of a few stay exact.
constexpr int64_t kMaxExtent = int64_t(1) << 40;

[[noreturn]] inline void overflow(const std::string& what) {
  throw std::invalid_argument(what + " overflows 64-bit indexing");
}

inline int64_t add(int64_t a, int64_t b, const std::string& what) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) overflow(what);
  return out;
}

inline int64_t mul(int64_t a, int64_t b, const std::string& what) {
  int64_t out;
  if (__builtin_mul_overflow(a, b, &out)) overflow(what);
  return out;
}

// The product of non-negative dims (an element count).
inline int64_t numel(std::initializer_list<int64_t> dims, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw std::invalid_argument(what + " has a negative size");
    n = mul(n, d, what);
  }
  return n;
}

// v in [lo, kMaxExtent], else std::invalid_argument naming `what` and the range.
inline void extent(int64_t v, int64_t lo, const std::string& what) {
  if (v < lo || v > kMaxExtent) {
    throw std::invalid_argument(what + " must be in [" + std::to_string(lo) + ", 2^40], got " +
                                std::to_string(v));
  }
}

}  // namespace ember::checked
