// GEMM-shaped products that only the convolution paths use: operands read in place through
// row cursors (gemm/rows.h) from zero-padded frames or at listed offsets, so no column
// matrix is built. Each runs on the calling thread only (the paths are parallel around
// them), on the active ISA tier's microkernels (products_kernels.cpp, compiled per tier).
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::conv {

// Sum of shifted products: C (m x n, ldc) := sum_{o < nshift} A_o @ B_o with
// A_o = a + o * m * k (row-major m x k) and row p of B_o at b + offs[o] + p * ldb, read in
// place: every such row must be readable for n + kShiftedSlack values. A stride-1
// convolution over zero-padded channel-major frames is this with one shift per kernel tap
// (frame.cpp).
constexpr int64_t kShiftedSlack = 32;
template <typename T>
void gemm_shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const T* a, const T* b,
                  int64_t ldb, const int64_t* offs, T* c, int64_t ldc);

// Pixel-major products over zero-padded frames (a direct convolution with the output
// channels along the vector lanes): for images i < nimg, output rows r < P, columns q < Q
// and channels j < n,
//   C_i[(r * Q + q) * ldc + j] := sum_{p < kt} a_i[aoff[p] + r * lda + q] * B[p * ldb + j]
// with a_i = a + i * a_img and C_i = c + i * c_img. Every a_i[aoff[p] + r * lda + q] with
// q < Q + kFrameSlack must be readable (the microkernel may read a whole register tile).
// frame_rows_width<T>() is the active tier's narrowest full tile width along j: n a
// multiple of it uses every lane (direct.cpp).
constexpr int64_t kFrameSlack = 32;
template <typename T>
void gemm_frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt, const T* a,
                     int64_t a_img, int64_t lda, const int64_t* aoff, const T* b, int64_t ldb,
                     T* c, int64_t c_img, int64_t ldc);
template <typename T>
int64_t frame_rows_width();

// C (m x n, ldc) := A @ B + beta * C with B's rows gathered: column p of A (m x kt) is the m
// values at a + p * lda; row p of B is the n values at b + boff[p]. Both are read in place:
// A must be readable for kGatherSlack values past its last column's start, and B's rows for
// n + kGatherSlack values. The backward-weight over pixel-major frames is this, one product
// per kernel row (direct.cpp).
constexpr int64_t kGatherSlack = 32;
template <typename T>
void gemm_gather_rows(int64_t m, int64_t n, int64_t kt, const T* a, int64_t lda, const T* b,
                      const int64_t* boff, T beta, T* c, int64_t ldc);

// The transposed arrangement: C (m x n, ldc) := A @ B + beta * C with column p of A the m
// values at a + aoff[p] and row p of B the n values at b + p * ldb, both read in place
// (readable for kGatherSlack values past m and n).
template <typename T>
void gemm_gather_cols(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// Both operands gathered: C (m x n, ldc) := A @ B + beta * C with column p of A the m values
// at a + aoff[p] and row p of B the n values at b + boff[p] (readable for kGatherSlack
// values past m and n). The per-pixel backward-weight is this, one product per kernel tap
// (pixel.cpp).
template <typename T>
void gemm_gather_both(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, const int64_t* boff, T beta, T* c, int64_t ldc);

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols (8x8 register transposes for
// float on the x86 tiers).
template <typename T>
void transpose(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd);

// The per-ISA table behind the functions above (arguments as there; gather_cols takes
// boff = null for gemm_gather_cols).
template <typename T>
struct ProductKernels {
  void (*shifted)(int64_t m, int64_t n, int64_t k, int64_t nshift, const T* a, const T* b,
                  int64_t ldb, const int64_t* offs, T* c, int64_t ldc);
  void (*frame_rows)(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt, const T* a,
                     int64_t a_img, int64_t lda, const int64_t* aoff, const T* b, int64_t ldb,
                     T* c, int64_t c_img, int64_t ldc);
  void (*gather_rows)(int64_t m, int64_t n, int64_t kt, const T* a, int64_t lda, const T* b,
                      const int64_t* boff, T beta, T* c, int64_t ldc);
  void (*gather_cols)(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, int64_t ldb, const int64_t* boff, T beta, T* c, int64_t ldc);
  void (*transpose)(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst,
                    int64_t ldd);
  int64_t narrow_width;
};

}  // namespace ember::conv

EMBER_ISA_DECLARE(namespace conv {
  const ::ember::conv::ProductKernels<float>& product_kernels(float);
  const ::ember::conv::ProductKernels<double>& product_kernels(double);
})
