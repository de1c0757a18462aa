// ember's CUDA GEMM (gemm.cu): C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for row-major
// float32 / float64 matrices on the device, op() a transpose where asked, b over a batch.
#pragma once

#include <cstdint>

namespace ember::cuda {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;              // row strides, in elements
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // between batch items, in elements
  int64_t batch = 1;
};

// Queues the product on `stream` (a cudaStream_t; 0 = the legacy default stream) and
// returns the launch's cudaError_t (0 on success). Pointers are device pointers; the
// caller has checked sizes and strides (csrc/bindings/cuda_gemm.cpp).
template <typename T>
int gemm(const GemmArgs& g, T alpha, const T* a, const T* b, T beta, T* c, void* stream);

}  // namespace ember::cuda
