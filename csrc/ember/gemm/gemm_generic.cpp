// Portable GEMM path: the shared BLIS driver around a plain C++ MR x NR microkernel that the
// compiler may auto-vectorise for the baseline ISA (SSE2 on x86-64). Always built; chosen
// when the CPU lacks AVX2/FMA or EMBER_ISA=generic.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

#include "ember/gemm/gemm.h"
#include "ember/gemm/rows.h"

namespace ember::gemm::generic {
namespace {

template <typename Scalar, int MR_, int NR_, int MC_, int KC_, int NC_>
struct RefKernel {
  using T = Scalar;
  static constexpr int MR = MR_, NR = NR_, MC = MC_, KC = KC_, NC = NC_;
  static constexpr int64_t kDirectBMaxM = 8 * MR;
  template <typename ARows, typename BRows>
  static void micro_rows(int64_t kc, ARows a, BRows b, T* c, int64_t ldc, T alpha, T beta,
                         int64_t mr) {
    T acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p, a.next(), b.next()) {
      const T* bp = b.row();
      for (int i = 0; i < MR; ++i) {
        const T ai = *a.at(i);
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
      }
    }
    for (int64_t i = 0; i < mr; ++i) {
      T* ci = c + i * ldc;
      if (beta == T(0)) {
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
      } else {
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
      }
    }
  }
  static void micro(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                    int64_t ldc, T alpha, T beta, int64_t mr) {
    micro_rows(kc, StridedRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, alpha, beta, mr);
  }
  static void micro_offsets(int64_t kc, const T* a, int64_t lda, const T* b,
                            const int64_t* off, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_rows(kc, StridedRows<T>{a, lda}, OffsetRows<T>{b, off}, c, ldc, T(1), beta, mr);
  }
  static void micro_frame(int64_t kc, const T* a, const int64_t* off, const T* b,
                          int64_t ldb, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_rows(kc, OffsetRows<T>{a, off}, StridedRows<T>{b, ldb}, c, ldc, T(1), beta, mr);
  }
  static void micro_gather(int64_t kc, const T* a, const int64_t* aoff, const T* b,
                           const int64_t* boff, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_rows(kc, OffsetRows<T>{a, aoff}, OffsetRows<T>{b, boff}, c, ldc, T(1), beta, mr);
  }
  static void micro_across(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                           int64_t ldc, T alpha, T beta, int64_t mr) {
    micro_rows(kc, AcrossRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, alpha, beta, mr);
  }
  // The driver's portable packing loops are all this path uses.
  static bool pack_a_fast(const T*, int64_t, int64_t, int64_t, T*) { return false; }
  static bool pack_b_fast(const T*, int64_t, int64_t, int64_t, T*) { return false; }
};

using KernelF32 = RefKernel<float, 4, 8, 128, 256, 2048>;
using KernelF64 = RefKernel<double, 4, 4, 128, 256, 2048>;

#include "ember/gemm/gemm_driver.inc"

}  // namespace

#include "ember/gemm/gemm_entry.inc"

}  // namespace ember::gemm::generic
