// Scalar<T>: one lane with the names of Zmm<T> / Ymm<T>, for the generic tier (the compiler
// may still vectorise loops over it for the baseline ISA).
#pragma once

namespace ember::EMBER_ISA_NS::simd {

template <typename T>
struct Scalar {
  using R = T;
  static constexpr int kLanes = 1;
  static R zero() { return T(0); }
  static R loadu(const T* p) { return *p; }
  static void storeu(T* p, R x) { *p = x; }
  static R set1(T v) { return v; }
  static R fmadd(R a, R b, R c) { return a * b + c; }
  static R mul(R a, R b) { return a * b; }
  static R add(R a, R b) { return a + b; }
  static T sum(R v) { return v; }
};

}  // namespace ember::EMBER_ISA_NS::simd
