// AVX2+FMA GEMM path. Compiled with -mavx2 -mfma and only called after run-time detection
// (ember::active_isa() == Isa::Avx2). Register tiles: float 6x16 (12 ymm accumulators,
// 2 for B, 1 broadcast of A: 15 of 16 registers), double 6x8. Block sizes follow BLIS's
// Haswell/Zen configuration (KC=256: a 6x256 A micro-panel and a 256x16 B micro-panel stay
// in L1; MC x KC of packed A in L2; KC x NC of packed B in L3).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

#include "ember/gemm/gemm.h"

namespace ember::gemm::avx2 {
namespace {

struct KernelF32 {
  using T = float;
  static constexpr int MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;

  static inline void store_row(float* c, __m256 lo, __m256 hi, __m256 va, __m256 vb,
                               bool beta0) {
    lo = _mm256_mul_ps(lo, va);
    hi = _mm256_mul_ps(hi, va);
    if (!beta0) {
      lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), lo);
      hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), hi);
    }
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
  }

  static void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                    float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_load_ps(b);
      const __m256 b1 = _mm256_load_ps(b + 8);
      __m256 ai;
      ai = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
      ai = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
      ai = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
      ai = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
      ai = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
      ai = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
      a += MR;
      b += NR;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const bool beta0 = beta == 0.0f;
    store_row(c + 0 * ldc, c00, c01, va, vb, beta0);
    store_row(c + 1 * ldc, c10, c11, va, vb, beta0);
    store_row(c + 2 * ldc, c20, c21, va, vb, beta0);
    store_row(c + 3 * ldc, c30, c31, va, vb, beta0);
    store_row(c + 4 * ldc, c40, c41, va, vb, beta0);
    store_row(c + 5 * ldc, c50, c51, va, vb, beta0);
  }
};

struct KernelF64 {
  using T = double;
  static constexpr int MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;

  static inline void store_row(double* c, __m256d lo, __m256d hi, __m256d va, __m256d vb,
                               bool beta0) {
    lo = _mm256_mul_pd(lo, va);
    hi = _mm256_mul_pd(hi, va);
    if (!beta0) {
      lo = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c), lo);
      hi = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c + 4), hi);
    }
    _mm256_storeu_pd(c, lo);
    _mm256_storeu_pd(c + 4, hi);
  }

  static void micro(int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                    double alpha, double beta) {
    __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
    __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
    __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
    __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
    __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
    __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const __m256d b0 = _mm256_load_pd(b);
      const __m256d b1 = _mm256_load_pd(b + 4);
      __m256d ai;
      ai = _mm256_broadcast_sd(a + 0); c00 = _mm256_fmadd_pd(ai, b0, c00); c01 = _mm256_fmadd_pd(ai, b1, c01);
      ai = _mm256_broadcast_sd(a + 1); c10 = _mm256_fmadd_pd(ai, b0, c10); c11 = _mm256_fmadd_pd(ai, b1, c11);
      ai = _mm256_broadcast_sd(a + 2); c20 = _mm256_fmadd_pd(ai, b0, c20); c21 = _mm256_fmadd_pd(ai, b1, c21);
      ai = _mm256_broadcast_sd(a + 3); c30 = _mm256_fmadd_pd(ai, b0, c30); c31 = _mm256_fmadd_pd(ai, b1, c31);
      ai = _mm256_broadcast_sd(a + 4); c40 = _mm256_fmadd_pd(ai, b0, c40); c41 = _mm256_fmadd_pd(ai, b1, c41);
      ai = _mm256_broadcast_sd(a + 5); c50 = _mm256_fmadd_pd(ai, b0, c50); c51 = _mm256_fmadd_pd(ai, b1, c51);
      a += MR;
      b += NR;
    }
    const __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
    const bool beta0 = beta == 0.0;
    store_row(c + 0 * ldc, c00, c01, va, vb, beta0);
    store_row(c + 1 * ldc, c10, c11, va, vb, beta0);
    store_row(c + 2 * ldc, c20, c21, va, vb, beta0);
    store_row(c + 3 * ldc, c30, c31, va, vb, beta0);
    store_row(c + 4 * ldc, c40, c41, va, vb, beta0);
    store_row(c + 5 * ldc, c50, c51, va, vb, beta0);
  }
};

#include "ember/gemm/gemm_driver.inc"

}  // namespace

void run(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t a_rs,
         int64_t a_cs, const float* b, int64_t b_rs, int64_t b_cs, float beta, float* c,
         int64_t ldc, int nthreads) {
  driver<KernelF32>(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nthreads);
}

void run(int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t a_rs,
         int64_t a_cs, const double* b, int64_t b_rs, int64_t b_cs, double beta, double* c,
         int64_t ldc, int nthreads) {
  driver<KernelF64>(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nthreads);
}

}  // namespace ember::gemm::avx2
