#include "ember/eltwise/eltwise.h"

#include <cmath>
#include <type_traits>

#include "ember/parallel.h"

namespace ember::eltwise {

namespace {

const Kernels& table() {
  static const IsaTables<Kernels> tables = EMBER_ISA_TABLES(eltwise::kernels());
  return tables.active();
}

template <typename F>
void parallel_chunks(int64_t n, F&& body) {
  const int nt = parallel::threads_for_elements(n);
  if (nt <= 1) {
    body(0, n);
    return;
  }
  parallel::run(nt, nt, [&](int64_t t) {
    // 64-byte aligned chunk boundaries (16 floats) so that threads never share a cache line.
    const int64_t lo = (n * t / nt) & ~int64_t(15);
    const int64_t hi = t + 1 == nt ? n : (n * (t + 1) / nt) & ~int64_t(15);
    body(lo, hi);
  });
}

}  // namespace

// The loops live in functions with __restrict pointers and load every operand unconditionally
// so that the compiler vectorises them into branch-free selects (a conditional load of g made
// GCC emit a scalar branch on the sign of each activation, which mispredicts half the time).
template <typename T>
void relu_forward_range(int64_t lo, int64_t hi, const T* __restrict x, T* __restrict y) {
  for (int64_t i = lo; i < hi; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
}

template <typename T>
void relu_backward_range(int64_t lo, int64_t hi, const T* __restrict g, const T* __restrict y,
                         T* __restrict dx) {
  for (int64_t i = lo; i < hi; ++i) {
    const T gi = g[i], yi = y[i];  // both loaded unconditionally: a select, not a branch
    dx[i] = yi > T(0) ? gi : T(0);
  }
}

template <typename T>
void relu_forward(int64_t n, const T* x, T* y) {
  parallel_chunks(n, [=](int64_t lo, int64_t hi) { relu_forward_range(lo, hi, x, y); });
}

template <typename T>
void relu_backward(int64_t n, const T* g, const T* y, T* dx) {
  parallel_chunks(n, [=](int64_t lo, int64_t hi) { relu_backward_range(lo, hi, g, y, dx); });
}

template <typename T>
void add_range(int64_t lo, int64_t hi, const T* a, const T* b, T* out) {
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) out[i] = a[i] + b[i];
}

template <typename T>
void add(int64_t n, const T* a, const T* b, T* out) {
  parallel_chunks(n, [=](int64_t lo, int64_t hi) { add_range(lo, hi, a, b, out); });
}

template <typename T>
void tanh_backward_range(int64_t lo, int64_t hi, const T* __restrict g, const T* __restrict y,
                         T* __restrict dx) {
  for (int64_t i = lo; i < hi; ++i) dx[i] = g[i] * (T(1) - y[i] * y[i]);
}

template <typename T>
void sigmoid_backward_range(int64_t lo, int64_t hi, const T* __restrict g,
                            const T* __restrict y, T* __restrict dx) {
  for (int64_t i = lo; i < hi; ++i) dx[i] = g[i] * (y[i] * (T(1) - y[i]));
}

template <typename T>
void tanh_forward(int64_t n, const T* x, T* y) {
  parallel_chunks(n, [=](int64_t lo, int64_t hi) {
    if constexpr (std::is_same_v<T, float>) {
      table().tanh_range(lo, hi, x, y);
    } else {
      for (int64_t i = lo; i < hi; ++i) y[i] = std::tanh(x[i]);
    }
  });
}
template void tanh_forward<float>(int64_t, const float*, float*);
template void tanh_forward<double>(int64_t, const double*, double*);

template <typename T>
void tanh_backward(int64_t n, const T* g, const T* y, T* dx) {
  parallel_chunks(n, [=](int64_t lo, int64_t hi) { tanh_backward_range(lo, hi, g, y, dx); });
}

template <typename T>
void sigmoid_backward(int64_t n, const T* g, const T* y, T* dx) {
  parallel_chunks(n, [=](int64_t lo, int64_t hi) { sigmoid_backward_range(lo, hi, g, y, dx); });
}

template void tanh_backward<float>(int64_t, const float*, const float*, float*);
template void tanh_backward<double>(int64_t, const double*, const double*, double*);
template void sigmoid_backward<float>(int64_t, const float*, const float*, float*);
template void sigmoid_backward<double>(int64_t, const double*, const double*, double*);
template void add<float>(int64_t, const float*, const float*, float*);
template void add<double>(int64_t, const double*, const double*, double*);
template void relu_forward<float>(int64_t, const float*, float*);
template void relu_forward<double>(int64_t, const double*, double*);
template void relu_backward<float>(int64_t, const float*, const float*, float*);
template void relu_backward<double>(int64_t, const double*, const double*, double*);

}  // namespace ember::eltwise
