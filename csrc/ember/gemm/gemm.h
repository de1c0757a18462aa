// General matrix multiply, the engine's heart:  C := alpha * op(A) @ op(B) + beta * C.
//
// Shapes: op(A) is m x k, op(B) is k x n, C is m x n, all row-major in the public API.
// op(X) is X or X^T. Leading dimensions are the row strides of the stored matrices (in
// elements), so sub-matrix views work. When beta == 0, C is written without being read (it
// may hold NaN/garbage). k == 0 or alpha == 0 gives C := beta * C.
//
// Algorithm: BLIS's five loops around packed panels (driver.h) and a register-tile
// microkernel per ISA tier (microkernel.h), compiled once per tier (kernels.cpp, isa.h);
// threads split C into independent blocks. Callers never see the ISA.
#pragma once

#include <cstdint>

namespace ember::gemm {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// Same as gemm() with A and B given by (row stride, column stride) in elements, which covers
// both transposes and any leading dimension. Strides must be >= 0.
template <typename T>
void gemm_strided(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs,
                  int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c,
                  int64_t ldc);

// What C gets after its product (a linear layer's bias and ReLU): C[i][j] += bias[j] (bias
// may be null), then C = max(C, 0) when relu (NaN kept). The driver applies it to each
// register tile right after the tile's last block of k, while the tile is in L1.
template <typename T>
struct Finish {
  const T* bias = nullptr;
  bool relu = false;

  bool active() const { return bias != nullptr || relu; }
};

// gemm_strided with at most `max_threads` threads (1 = run on the calling thread only):
// for callers that are themselves parallel, e.g. convolution over the images of a batch;
// `fin` is applied to C after the product.
template <typename T>
void gemm_strided_threads(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs,
                          int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c,
                          int64_t ldc, int max_threads, const Finish<T>& fin = Finish<T>{});

// One layer of linear_chain: out (m x n, contiguous) = in @ wt (+ bias per column, then ReLU
// when relu), with wt the layer's W^T, k x n with row stride ldw and unit column stride.
template <typename T>
struct ChainLayer {
  const T* wt = nullptr;
  int64_t ldw = 0, k = 0, n = 0;
  const T* bias = nullptr;
  bool relu = false;
  T* out = nullptr;
};

// A chain of linear layers (an MLP's inference), each layer's output the next one's input,
// in ONE parallel region: the threads split the m rows of x (row stride ldx) and each runs
// every layer on its own rows, so there is no barrier between layers and each thread reads
// back the intermediate rows it wrote itself. Layer l's output goes to layers[l].out.
template <typename T>
void linear_chain(int64_t m, const T* x, int64_t ldx, const ChainLayer<T>* layers,
                  int64_t nlayers);

// Batched: for i in [0, batch): C_i := alpha * A_i @ B_i + beta * C_i with A_i = a + i*stride_a
// (and likewise B, C); per-matrix strides as in gemm_strided.
template <typename T>
void gemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t stride_a, int64_t a_rs, int64_t a_cs, const T* b, int64_t stride_b,
                  int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t stride_c, int64_t ldc);

}  // namespace ember::gemm
