// GEMM entry points: argument checks, trivial cases, the thread count and the ISA table.
#include "ember/gemm/gemm.h"

#include <algorithm>
#include <stdexcept>

#include "ember/cpu.h"
#include "ember/gemm/finish.h"
#include "ember/gemm/kernels.h"
#include "ember/parallel.h"

namespace ember::gemm {

namespace {

template <typename T>
const Kernels<T>& table() {
  static const IsaTables<Kernels<T>> tables = EMBER_ISA_TABLES(gemm::kernels(T{}));
  return tables.active();
}

// Products of many small matrices keep each one on a single thread below this many
// multiply-adds and run the batch in parallel instead.
constexpr double kBatchSerialMadds = 1048576.0;

double madds(int64_t m, int64_t n, int64_t k) {
  return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
}

void check_args(int64_t m, int64_t n, int64_t k, int64_t a_rs, int64_t a_cs, int64_t b_rs,
                int64_t b_cs, int64_t ldc) {
  if (m < 0 || n < 0 || k < 0) throw std::invalid_argument("gemm: negative size");
  if (a_rs < 0 || a_cs < 0 || b_rs < 0 || b_cs < 0 || ldc < 0)
    throw std::invalid_argument("gemm: negative stride");
}

template <typename T>
void scale_c(int64_t m, int64_t n, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    if (beta == T(0)) {
      std::fill(ci, ci + n, T(0));
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    }
  }
}

}  // namespace

template <typename T>
void gemm_strided_threads(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs,
                          int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c,
                          int64_t ldc, int max_threads, const Finish<T>& fin) {
  check_args(m, n, k, a_rs, a_cs, b_rs, b_cs, ldc);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    apply_finish(fin, c, ldc, m, n, 0);
    return;
  }
  const int nt = std::min(std::max(max_threads, 1), parallel::threads_for_madds(madds(m, n, k)));
  table<T>().run(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nt, fin);
}

template <typename T>
void gemm_strided(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs,
                  int64_t a_cs, const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c,
                  int64_t ldc) {
  gemm_strided_threads(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc,
                       get_num_threads());
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  gemm_strided(m, n, k, alpha, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, trans_b ? 1 : ldb,
               trans_b ? ldb : 1, beta, c, ldc);
}

template <typename T>
void gemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t stride_a, int64_t a_rs, int64_t a_cs, const T* b, int64_t stride_b,
                  int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t stride_c, int64_t ldc) {
  if (batch < 0) throw std::invalid_argument("gemm_batched: negative batch");
  check_args(m, n, k, a_rs, a_cs, b_rs, b_cs, ldc);  // before any parallel region
  const int nt = get_num_threads();
  // Many small products: one thread per product; otherwise each product uses all threads
  // in turn.
  if (nt > 1 && batch >= nt &&
      parallel::threads_for_madds(madds(m, n, k), kBatchSerialMadds) < nt) {
    parallel::for_ranges(batch, nt, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        gemm_strided_threads(m, n, k, alpha, a + i * stride_a, a_rs, a_cs, b + i * stride_b,
                             b_rs, b_cs, beta, c + i * stride_c, ldc, 1);
      }
    });
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    gemm_strided(m, n, k, alpha, a + i * stride_a, a_rs, a_cs, b + i * stride_b, b_rs, b_cs,
                 beta, c + i * stride_c, ldc);
  }
}

template <typename T>
void linear_chain(int64_t m, const T* x, int64_t ldx, const ChainLayer<T>* layers,
                  int64_t nlayers) {
  if (m <= 0 || nlayers <= 0) return;
  double work = 0;
  for (int64_t l = 0; l < nlayers; ++l) work += madds(m, layers[l].n, layers[l].k);
  // Threads as for one product of the chain's whole work, each with at least 8 rows.
  const int nt = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(parallel::threads_for_madds(work), m / 8)));
  parallel::for_ranges(m, nt, [&](int64_t r0, int64_t r1) {
    const T* in = x + r0 * ldx;
    int64_t ld_in = ldx;
    for (int64_t l = 0; l < nlayers; ++l) {
      const ChainLayer<T>& L = layers[l];
      Finish<T> fin;
      fin.bias = L.bias;
      fin.relu = L.relu;
      T* out = L.out + r0 * L.n;
      gemm_strided_threads(r1 - r0, L.n, L.k, T(1), in, ld_in, int64_t(1), L.wt, L.ldw,
                           int64_t(1), T(0), out, L.n, 1, fin);
      in = out;
      ld_in = L.n;
    }
  });
}

#define EMBER_GEMM_INSTANTIATE(T)                                                             \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,        \
                        const T*, int64_t, T, T*, int64_t);                                  \
  template void gemm_strided<T>(int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t,  \
                                const T*, int64_t, int64_t, T, T*, int64_t);                 \
  template void gemm_strided_threads<T>(int64_t, int64_t, int64_t, T, const T*, int64_t,   \
                                        int64_t, const T*, int64_t, int64_t, T, T*, int64_t, \
                                        int, const Finish<T>&);                               \
  template void gemm_batched<T>(int64_t, int64_t, int64_t, int64_t, T, const T*, int64_t,  \
                                int64_t, int64_t, const T*, int64_t, int64_t, int64_t, T, T*, \
                                int64_t, int64_t);                                            \
  template void linear_chain<T>(int64_t, const T*, int64_t, const ChainLayer<T>*, int64_t);
EMBER_GEMM_INSTANTIATE(float)
EMBER_GEMM_INSTANTIATE(double)
#undef EMBER_GEMM_INSTANTIATE

}  // namespace ember::gemm
