// Memory-bound elementwise kernels on contiguous arrays, threaded over large arrays (NumPy's
// ufuncs run on one thread) from parallel::kMinParallelElements elements on.
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::eltwise {

// y[i] = x[i] < 0 ? 0 : x[i]  (NaN passes through, as torch.relu and np.maximum)
template <typename T>
void relu_forward(int64_t n, const T* x, T* y);

// dx[i] = y[i] > 0 ? g[i] : 0, where y is ReLU's output
template <typename T>
void relu_backward(int64_t n, const T* g, const T* y, T* dx);

// y[i] = tanh(x[i]): float32 with the x86 tiers' vectors (within 1.3 float ulps, see
// tanh_kernels.cpp), otherwise std::tanh
template <typename T>
void tanh_forward(int64_t n, const T* x, T* y);

// dx[i] = g[i] * (1 - y[i]^2), where y is tanh's output
template <typename T>
void tanh_backward(int64_t n, const T* g, const T* y, T* dx);

// dx[i] = g[i] * y[i] * (1 - y[i]), where y is the sigmoid's output
template <typename T>
void sigmoid_backward(int64_t n, const T* g, const T* y, T* dx);

// out[i] = a[i] + b[i] (out may be a or b)
template <typename T>
void add(int64_t n, const T* a, const T* b, T* out);

// The per-ISA table (tanh_kernels.cpp, compiled once per tier): float32 tanh of x[lo, hi).
struct Kernels {
  void (*tanh_range)(int64_t lo, int64_t hi, const float* x, float* y);
};

}  // namespace ember::eltwise

EMBER_ISA_DECLARE(namespace eltwise { const ::ember::eltwise::Kernels& kernels(); })
