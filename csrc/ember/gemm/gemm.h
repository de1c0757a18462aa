// General matrix multiply, the engine's heart:  C := alpha * op(A) @ op(B) + beta * C.
//
// Shapes: op(A) is m x k, op(B) is k x n, C is m x n, all row-major in the public API.
// op(X) is X or X^T. Leading dimensions are the row strides of the stored matrices (in
// elements), so sub-matrix views work. When beta == 0, C is written without being read (it
// may hold NaN/garbage). k == 0 or alpha == 0 gives C := beta * C.
//
// Algorithm: BLIS's five loops around packed panels (see gemm_driver.inc), an MR x NR
// register-tile microkernel per ISA (AVX-512: 14x32 float / 14x16 double; AVX2+FMA: 6x16
// float / 6x8 double; portable: 4x8),
// OpenMP threads across micro-tiles. Callers never see the ISA: gemm() dispatches on
// ember::active_isa().
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
// register tile right after the tile's last block of k, while the tile is in L1 (after
// the whole block of C, from L2, it cost 4% of an MLP inference).
template <typename T>
struct Finish {
  const T* bias = nullptr;
  bool relu = false;

  bool active() const { return bias != nullptr || relu; }
};

// Internal linkage on purpose: each translation unit (one per ISA) compiles its own copy
// with its own flags, so an AVX-512 copy can never be linked into the portable path.
namespace {
// A rows x cols piece of C at c (row stride ldc) whose first column takes bias[col0].
template <typename T>
void apply_finish(const Finish<T>& fin, T* c, int64_t ldc, int64_t rows, int64_t cols,
                  int64_t col0) {
  if (!fin.active()) return;
  for (int64_t i = 0; i < rows; ++i) {
    T* __restrict ci = c + i * ldc;
    if (fin.bias != nullptr) {
      const T* __restrict bj = fin.bias + col0;
      for (int64_t j = 0; j < cols; ++j) ci[j] += bj[j];
    }
    if (fin.relu) {
      for (int64_t j = 0; j < cols; ++j) ci[j] = ci[j] < T(0) ? T(0) : ci[j];
    }
  }
}
}  // namespace

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

// Sum of shifted products, on the calling thread only:
//   C (m x n, ldc) := sum_{o < nshift} A_o @ B_o
// with A_o = a + o * m * k (row-major m x k) and row p of B_o at b + offs[o] + p * ldb, read
// in place: every such row must be readable for n + kShiftedSlack values. A stride-1
// convolution over zero-padded frames is this with one shift per kernel tap (conv/conv2d.cpp).
constexpr int64_t kShiftedSlack = 32;
template <typename T>
void gemm_shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const T* a, const T* b,
                  int64_t ldb, const int64_t* offs, T* c, int64_t ldc);

// Pixel-major products over zero-padded frames (a direct convolution with the output
// channels along the vector lanes), on the calling thread only: for images i < nimg, output
// rows r < P, columns q < Q and channels j < n,
//   C_i[(r * Q + q) * ldc + j] := sum_{p < kt} a_i[aoff[p] + r * lda + q] * B[p * ldb + j]
// with a_i = a + i * a_img and C_i = c + i * c_img. Every a_i[aoff[p] + r * lda + q] with
// q < Q + kFrameSlack must be readable (the microkernel may read a whole register tile).
// frame_rows_width<T>() is the active ISA's tile width along j: n a multiple of it uses
// every lane.
constexpr int64_t kFrameSlack = 32;
template <typename T>
void gemm_frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt, const T* a,
                     int64_t a_img, int64_t lda, const int64_t* aoff, const T* b, int64_t ldb,
                     T* c, int64_t c_img, int64_t ldc);
template <typename T>
int64_t frame_rows_width();

// C (m x n, ldc) := A @ B + beta * C with B's rows gathered, on the calling thread only:
// column p of A (m x kt) is the m values at a + p * lda; row p of B is the n values at
// b + boff[p]. Both are read in place: A must be readable for kGatherSlack values past its
// last column's start, and B's rows for n + kGatherSlack values (a tile may read past m
// and n). The backward-weight of a stride-1 convolution over pixel-major frames is this,
// one product per kernel row (conv/conv2d.cpp).
constexpr int64_t kGatherSlack = 32;
template <typename T>
void gemm_gather_rows(int64_t m, int64_t n, int64_t kt, const T* a, int64_t lda, const T* b,
                      const int64_t* boff, T beta, T* c, int64_t ldc);

// The transposed arrangement, on the calling thread only: C (m x n, ldc) := A @ B + beta * C
// with column p of A the m values at a + aoff[p] and row p of B the n values at b + p * ldb,
// both read in place (readable for kGatherSlack values past m and n).
template <typename T>
void gemm_gather_cols(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// Both operands gathered, on the calling thread only: C (m x n, ldc) := A @ B + beta * C
// with column p of A the m values at a + aoff[p] and row p of B the n values at
// b + boff[p], both read in place (readable for kGatherSlack values past m and n). The
// per-pixel convolution's backward-weight (conv/conv2d.cpp) is this: one product per kernel
// tap, over the (output pixel, input pixel) pairs of that tap inside the image and the
// images of the batch.
template <typename T>
void gemm_gather_both(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, const int64_t* boff, T beta, T* c, int64_t ldc);

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols (8x8 register transposes for
// float with AVX2; plain loops otherwise).
template <typename T>
void transpose(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd);
#ifdef EMBER_HAVE_AVX2_BUILD
namespace avx2 {
void transpose(int64_t rows, int64_t cols, const float* src, int64_t lds, float* dst,
               int64_t ldd);
}
#endif

// One ISA's driver: the same entry points, in namespaces ember::gemm::generic / ::avx2.
#define EMBER_GEMM_DECLARE_ISA(NS)                                                            \
  namespace NS {                                                                             \
  void run(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t a_rs,      \
           int64_t a_cs, const float* b, int64_t b_rs, int64_t b_cs, float beta, float* c,  \
           int64_t ldc, int nthreads, const Finish<float>& fin);                             \
  void run(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t a_rs,    \
           int64_t a_cs, const double* b, int64_t b_rs, int64_t b_cs, double beta,          \
           double* c, int64_t ldc, int nthreads, const Finish<double>& fin);                 \
  void run_shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const float* a,           \
                   const float* b, int64_t ldb, const int64_t* offs, float* c,                \
                   int64_t ldc);                                                              \
  void run_shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const double* a,          \
                   const double* b, int64_t ldb, const int64_t* offs, double* c,              \
                   int64_t ldc);                                                              \
  void run_frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt,             \
                      const float* a, int64_t a_img, int64_t lda, const int64_t* aoff,       \
                      const float* b, int64_t ldb, float* c, int64_t c_img, int64_t ldc);    \
  void run_frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt,             \
                      const double* a, int64_t a_img, int64_t lda, const int64_t* aoff,      \
                      const double* b, int64_t ldb, double* c, int64_t c_img, int64_t ldc);  \
  void run_gather_rows(int64_t m, int64_t n, int64_t kt, const float* a, int64_t lda,         \
                       const float* b, const int64_t* boff, float beta, float* c,             \
                       int64_t ldc);                                                          \
  void run_gather_rows(int64_t m, int64_t n, int64_t kt, const double* a, int64_t lda,        \
                       const double* b, const int64_t* boff, double beta, double* c,          \
                       int64_t ldc);                                                          \
  void run_gather_cols(int64_t m, int64_t n, int64_t kt, const float* a, const int64_t* aoff, \
                       const float* b, int64_t ldb, const int64_t* boff, float beta,          \
                       float* c, int64_t ldc);                                                \
  void run_gather_cols(int64_t m, int64_t n, int64_t kt, const double* a,                     \
                       const int64_t* aoff, const double* b, int64_t ldb,                     \
                       const int64_t* boff, double beta, double* c, int64_t ldc);             \
  int64_t narrow_width(float);                                                               \
  int64_t narrow_width(double);                                                              \
  }

EMBER_GEMM_DECLARE_ISA(generic)
EMBER_GEMM_DECLARE_ISA(avx2)
EMBER_GEMM_DECLARE_ISA(avx512)
#undef EMBER_GEMM_DECLARE_ISA

}  // namespace ember::gemm
