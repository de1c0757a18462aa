// AVX2+FMA GEMM path. Compiled with -mavx2 -mfma and only called after run-time detection
// (ember::active_isa() == Isa::Avx2). Register tiles: float 6x16 (12 ymm accumulators,
// 2 for B, 1 broadcast of A: 15 of 16 registers), double 6x8. Block sizes follow BLIS's
// Haswell/Zen configuration (KC=256: a 6x256 A micro-panel and a 256x16 B micro-panel stay
// in L1; MC x KC of packed A in L2; KC x NC of packed B in L3).
#include <immintrin.h>

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

namespace ember::gemm::avx2 {
namespace {

#include "ember/gemm/gemm_x86.h"

struct KernelF32 : MicroEntries<KernelF32, float> {
  using T = float;
  static constexpr int MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;
  static constexpr int64_t kDirectBMaxM = 8 * MR;  // see gemm_serial

  // C[0:ROWS, 0:16] := alpha * A @ B + beta * C with 2*ROWS accumulators (12 for the full
  // tile), 2 registers for the B row and 1 for the broadcast A value: 15 of 16 ymm. The
  // accumulators are named variables, not an array: GCC keeps an array of __m256 on the
  // stack and stores it every iteration (that version ran at half speed).
  template <int ROWS, typename ARows, typename BRows>
  static void micro_rows(int64_t kc, ARows a, BRows b, float* c,
                         int64_t ldc, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    // Fetch the C tile while the k loop runs (a 16-float row spans two lines unless aligned).
    for (int i = 0; i < ROWS; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
    }
#define EMBER_ROW(I)                                          \
  if constexpr (ROWS > I) {                                   \
    const __m256 ai = _mm256_broadcast_ss(a.at(I));             \
    c##I##0 = _mm256_fmadd_ps(ai, b0, c##I##0);               \
    c##I##1 = _mm256_fmadd_ps(ai, b1, c##I##1);               \
  }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const float* bp = b.row();
      const __m256 b0 = _mm256_loadu_ps(bp);
      const __m256 b1 = _mm256_loadu_ps(bp + 8);
      EMBER_ROW(0) EMBER_ROW(1) EMBER_ROW(2) EMBER_ROW(3) EMBER_ROW(4) EMBER_ROW(5)
      a.next();
      b.next();
    }
#undef EMBER_ROW
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const bool scale = alpha != 1.0f, accumulate = beta != 0.0f;
    auto store = [&](float* ci, __m256 x, __m256 y) {
      if (scale) {
        x = _mm256_mul_ps(x, va);
        y = _mm256_mul_ps(y, va);
      }
      if (accumulate) {
        x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), x);
        y = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), y);
      }
      _mm256_storeu_ps(ci, x);
      _mm256_storeu_ps(ci + 8, y);
    };
    store(c, c00, c01);
    if constexpr (ROWS > 1) store(c + ldc, c10, c11);
    if constexpr (ROWS > 2) store(c + 2 * ldc, c20, c21);
    if constexpr (ROWS > 3) store(c + 3 * ldc, c30, c31);
    if constexpr (ROWS > 4) store(c + 4 * ldc, c40, c41);
    if constexpr (ROWS > 5) store(c + 5 * ldc, c50, c51);
  }

  // Packed micro-panels from the layouts that need a transpose; the driver's loops copy the
  // contiguous cases (A^T as stored, B as stored), which the compiler vectorises.
  static bool pack_a_fast(const float* a, int64_t a_rs, int64_t a_cs, int64_t kc, float* dst) {
    if (a_cs != 1) return false;
    pack_transposed<MR>(a, a_rs, kc, dst);
    return true;
  }
  static bool pack_b_fast(const float* b, int64_t b_rs, int64_t b_cs, int64_t kc, float* dst) {
    if (b_rs != 1) return false;
    pack_transposed<NR>(b, b_cs, kc, dst);
    return true;
  }
};

struct KernelF64 : MicroEntries<KernelF64, double> {
  using T = double;
  static constexpr int MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;
  static constexpr int64_t kDirectBMaxM = 8 * MR;

  // Same register plan as the float tile, 4 doubles per ymm.
  template <int ROWS, typename ARows, typename BRows>
  static void micro_rows(int64_t kc, ARows a, BRows b, double* c,
                         int64_t ldc, double alpha, double beta) {
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256d c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define EMBER_ROW(I)                                          \
  if constexpr (ROWS > I) {                                   \
    const __m256d ai = _mm256_broadcast_sd(a.at(I));            \
    c##I##0 = _mm256_fmadd_pd(ai, b0, c##I##0);               \
    c##I##1 = _mm256_fmadd_pd(ai, b1, c##I##1);               \
  }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const double* bp = b.row();
      const __m256d b0 = _mm256_loadu_pd(bp);
      const __m256d b1 = _mm256_loadu_pd(bp + 4);
      EMBER_ROW(0) EMBER_ROW(1) EMBER_ROW(2) EMBER_ROW(3) EMBER_ROW(4) EMBER_ROW(5)
      a.next();
      b.next();
    }
#undef EMBER_ROW
    const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
    const bool accumulate = beta != 0.0;
    auto store = [&](double* ci, __m256d x, __m256d y) {
      x = _mm256_mul_pd(x, va);
      y = _mm256_mul_pd(y, va);
      if (accumulate) {
        x = _mm256_fmadd_pd(vb, _mm256_loadu_pd(ci), x);
        y = _mm256_fmadd_pd(vb, _mm256_loadu_pd(ci + 4), y);
      }
      _mm256_storeu_pd(ci, x);
      _mm256_storeu_pd(ci + 4, y);
    };
    store(c, c00, c01);
    if constexpr (ROWS > 1) store(c + ldc, c10, c11);
    if constexpr (ROWS > 2) store(c + 2 * ldc, c20, c21);
    if constexpr (ROWS > 3) store(c + 3 * ldc, c30, c31);
    if constexpr (ROWS > 4) store(c + 4 * ldc, c40, c41);
    if constexpr (ROWS > 5) store(c + 5 * ldc, c50, c51);
  }

  // float64 serves gradient checks, not speed: the portable packing loops suffice.
  static bool pack_a_fast(const double*, int64_t, int64_t, int64_t, double*) { return false; }
  static bool pack_b_fast(const double*, int64_t, int64_t, int64_t, double*) { return false; }
};

#include "ember/gemm/gemm_driver.inc"

}  // namespace

#include "ember/gemm/gemm_entry.inc"

void transpose(int64_t rows, int64_t cols, const float* src, int64_t lds, float* dst,
               int64_t ldd) {
  int64_t i = 0;
  for (; i + 8 <= rows; i += 8) {
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 r[8];
      for (int a = 0; a < 8; ++a) r[a] = _mm256_loadu_ps(src + (i + a) * lds + j);
      transpose8x8(r);
      for (int a = 0; a < 8; ++a) _mm256_storeu_ps(dst + (j + a) * ldd + i, r[a]);
    }
    for (; j < cols; ++j)
      for (int a = 0; a < 8; ++a) dst[j * ldd + i + a] = src[(i + a) * lds + j];
  }
  for (; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * ldd + i] = src[i * lds + j];
}

}  // namespace ember::gemm::avx2
