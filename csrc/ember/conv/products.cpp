// Entry points of the convolution products (products.h): trivial cases, then the active
// tier's table.
#include "ember/conv/products.h"

namespace ember::conv {

namespace {

template <typename T>
const ProductKernels<T>& table() {
  static const IsaTables<ProductKernels<T>> tables =
      EMBER_ISA_TABLES(conv::product_kernels(T{}));
  return tables.active();
}

// C := beta * C (C not read when beta == 0): the products' result when their sum is empty.
template <typename T>
void scale(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
}

}  // namespace

template <typename T>
void gemm_shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const T* a, const T* b,
                  int64_t ldb, const int64_t* offs, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0 || nshift <= 0) return;
  if (k <= 0) return scale(m, n, T(0), c, ldc);
  table<T>().shifted(m, n, k, nshift, a, b, ldb, offs, c, ldc);
}

template <typename T>
void gemm_frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt, const T* a,
                     int64_t a_img, int64_t lda, const int64_t* aoff, const T* b, int64_t ldb,
                     T* c, int64_t c_img, int64_t ldc) {
  if (nimg <= 0 || P <= 0 || Q <= 0 || n <= 0) return;
  if (kt <= 0) {
    for (int64_t i = 0; i < nimg; ++i) scale(P * Q, n, T(0), c + i * c_img, ldc);
    return;
  }
  table<T>().frame_rows(nimg, P, Q, n, kt, a, a_img, lda, aoff, b, ldb, c, c_img, ldc);
}

template <typename T>
int64_t frame_rows_width() {
  return table<T>().narrow_width;
}

template <typename T>
void gemm_gather_rows(int64_t m, int64_t n, int64_t kt, const T* a, int64_t lda, const T* b,
                      const int64_t* boff, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (kt <= 0) return scale(m, n, beta, c, ldc);
  table<T>().gather_rows(m, n, kt, a, lda, b, boff, beta, c, ldc);
}

template <typename T>
void gemm_gather_cols(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (kt <= 0) return scale(m, n, beta, c, ldc);
  table<T>().gather_cols(m, n, kt, a, aoff, b, ldb, nullptr, beta, c, ldc);
}

template <typename T>
void gemm_gather_both(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, const int64_t* boff, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (kt <= 0) return scale(m, n, beta, c, ldc);
  table<T>().gather_cols(m, n, kt, a, aoff, b, 0, boff, beta, c, ldc);
}

template <typename T>
void transpose(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd) {
  table<T>().transpose(rows, cols, src, lds, dst, ldd);
}

#define EMBER_PRODUCTS_INSTANTIATE(T)                                                        \
  template void gemm_shifted<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*,     \
                                int64_t, const int64_t*, T*, int64_t);                      \
  template void gemm_frame_rows<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*,   \
                                   int64_t, int64_t, const int64_t*, const T*, int64_t, T*, \
                                   int64_t, int64_t);                                        \
  template int64_t frame_rows_width<T>();                                                    \
  template void gemm_gather_rows<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*, \
                                    const int64_t*, T, T*, int64_t);                         \
  template void gemm_gather_cols<T>(int64_t, int64_t, int64_t, const T*, const int64_t*,    \
                                    const T*, int64_t, T, T*, int64_t);                      \
  template void gemm_gather_both<T>(int64_t, int64_t, int64_t, const T*, const int64_t*,    \
                                    const T*, const int64_t*, T, T*, int64_t);               \
  template void transpose<T>(int64_t, int64_t, const T*, int64_t, T*, int64_t);
EMBER_PRODUCTS_INSTANTIATE(float)
EMBER_PRODUCTS_INSTANTIATE(double)
#undef EMBER_PRODUCTS_INSTANTIATE

}  // namespace ember::conv
