// GEMM entry points: trivial cases, thread-count choice and ISA dispatch.
#include "ember/gemm/gemm.h"

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "ember/cpu.h"
#include "ember/isa_dispatch.h"

namespace ember::gemm {

namespace {

// Below ~70^3 multiply-adds a parallel region costs more than it saves (measured with the
// AVX-512 kernel, 2 threads: 64^3 ran at 56 GFLOPS vs 75 on one thread; 128^3 at 134 vs
// 120). From there up, two threads: 128x256 @ 256x10 (an MLP's classifier) 10.8 -> 8.8 us,
// 64x84 @ 84x120 12.7 -> 9.9 us. A parallel region also keeps the idle workers spinning
// (libgomp puts them to sleep after GOMP_SPINCOUNT spins, ~0.1 ms at the benchmarks'
// 10000, and waking them costs the next region ~30 us): with the classifier's products
// serial, the MLP's training step paid that wake-up in the ReLU backward after the loss.
// gemm_batched keeps products below 2^20 multiply-adds on one thread each and runs the
// batch in parallel instead (kBatchSerialWork).
constexpr double kSerialWork = 300000.0, kBatchSerialWork = 1048576.0;

int threads_for_work(double work, double serial_below = kSerialWork) {
  const int nt = get_num_threads();
  if (nt <= 1 || work < serial_below) return 1;
  const int64_t by_work = static_cast<int64_t>(work / 524288.0);
  return static_cast<int>(std::max<int64_t>(2, std::min<int64_t>(nt, by_work)));
}

int threads_for(int64_t m, int64_t n, int64_t k, double serial_below = kSerialWork) {
  return threads_for_work(
      static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k), serial_below);
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

template <typename T>
void dispatch(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
              const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc, int nthreads,
              const Finish<T>& fin) {
#ifdef EMBER_HAVE_AVX512_BUILD
  if (active_isa() == Isa::Avx512) {
    avx512::run(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nthreads, fin);
    return;
  }
#endif
#ifdef EMBER_HAVE_AVX2_BUILD
  if (active_isa() >= Isa::Avx2) {
    avx2::run(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nthreads, fin);
    return;
  }
#endif
  generic::run(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nthreads, fin);
}

}  // namespace

template <typename T>
void gemm_shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const T* a, const T* b,
                  int64_t ldb, const int64_t* offs, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0 || nshift <= 0) return;
  if (k <= 0) {
    scale_c(m, n, T(0), c, ldc);
    return;
  }
  EMBER_ISA_DISPATCH(run_shifted(m, n, k, nshift, a, b, ldb, offs, c, ldc))
}

template <typename T>
void gemm_frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt, const T* a,
                     int64_t a_img, int64_t lda, const int64_t* aoff, const T* b, int64_t ldb,
                     T* c, int64_t c_img, int64_t ldc) {
  if (nimg <= 0 || P <= 0 || Q <= 0 || n <= 0) return;
  if (kt <= 0) {
    for (int64_t i = 0; i < nimg; ++i) scale_c(P * Q, n, T(0), c + i * c_img, ldc);
    return;
  }
  EMBER_ISA_DISPATCH(
      run_frame_rows(nimg, P, Q, n, kt, a, a_img, lda, aoff, b, ldb, c, c_img, ldc))
}

template <typename T>
void gemm_gather_rows(int64_t m, int64_t n, int64_t kt, const T* a, int64_t lda, const T* b,
                      const int64_t* boff, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (kt <= 0) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  EMBER_ISA_DISPATCH(run_gather_rows(m, n, kt, a, lda, b, boff, beta, c, ldc))
}

template <typename T>
void transpose(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd) {
#ifdef EMBER_HAVE_AVX2_BUILD
  if constexpr (std::is_same_v<T, float>) {
    if (active_isa() >= Isa::Avx2) return avx2::transpose(rows, cols, src, lds, dst, ldd);
  }
#endif
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * ldd + i] = src[i * lds + j];
}

template <typename T>
void gemm_gather_cols(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (kt <= 0) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  EMBER_ISA_DISPATCH(run_gather_cols(m, n, kt, a, aoff, b, ldb, nullptr, beta, c, ldc))
}

template <typename T>
void gemm_gather_both(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                      const T* b, const int64_t* boff, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (kt <= 0) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  EMBER_ISA_DISPATCH(run_gather_cols(m, n, kt, a, aoff, b, 0, boff, beta, c, ldc))
}

// Narrowest full tile width (NR) of the active ISA's kernels: the AVX-512 one-vector tile
// (16 floats / 8 doubles), AVX2's tile (16 / 8), the portable one (8 / 4).
template <typename T>
int64_t frame_rows_width() {
  EMBER_ISA_DISPATCH(narrow_width(T()))
}

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
  const int nt = std::min(std::max(max_threads, 1), threads_for(m, n, k));
  dispatch(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nt, fin);
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
  // Many small products: one thread per product (each GEMM alone would run on one thread
  // anyway, see threads_for); otherwise each product uses all threads in turn.
  if (nt > 1 && batch >= nt && threads_for(m, n, k, kBatchSerialWork) < nt) {
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (int64_t i = 0; i < batch; ++i) {
      gemm_strided_threads(m, n, k, alpha, a + i * stride_a, a_rs, a_cs, b + i * stride_b, b_rs,
                           b_cs, beta, c + i * stride_c, ldc, 1);
    }
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
  for (int64_t l = 0; l < nlayers; ++l)
    work += static_cast<double>(m) * static_cast<double>(layers[l].n) *
            static_cast<double>(layers[l].k);
  // Threads as for one product of the chain's whole work, each with at least 8 rows.
  const int nt = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(threads_for_work(work), m / 8)));
  std::exception_ptr error;
#ifdef EMBER_HAVE_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
#endif
  for (int t = 0; t < nt; ++t) {
    const int64_t r0 = m * t / nt, r1 = m * (t + 1) / nt;
    try {
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
    } catch (...) {
#ifdef EMBER_HAVE_OPENMP
#pragma omp critical(ember_linear_chain)
#endif
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
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
  template void gemm_shifted<T>(int64_t, int64_t, int64_t, int64_t, const T*, const T*,      \
                                int64_t, const int64_t*, T*, int64_t);                       \
  template void gemm_frame_rows<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*,    \
                                   int64_t, int64_t, const int64_t*, const T*, int64_t, T*,  \
                                   int64_t, int64_t);                                         \
  template int64_t frame_rows_width<T>();                                                     \
  template void transpose<T>(int64_t, int64_t, const T*, int64_t, T*, int64_t);                                                     \
  template void gemm_gather_rows<T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*,  \
                                    const int64_t*, T, T*, int64_t);                          \
  template void gemm_gather_cols<T>(int64_t, int64_t, int64_t, const T*, const int64_t*,     \
                                    const T*, int64_t, T, T*, int64_t);                       \
  template void gemm_gather_both<T>(int64_t, int64_t, int64_t, const T*, const int64_t*,     \
                                    const T*, const int64_t*, T, T*, int64_t);                \
  template void linear_chain<T>(int64_t, const T*, int64_t, const ChainLayer<T>*, int64_t);
EMBER_GEMM_INSTANTIATE(float)
EMBER_GEMM_INSTANTIATE(double)
#undef EMBER_GEMM_INSTANTIATE

}  // namespace ember::gemm
