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

namespace ember::gemm::avx2 {
namespace {

// In-register transpose of eight 8-float rows: afterwards r[j] holds column j.
inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

struct KernelF32 {
  using T = float;
  static constexpr int MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;

  // C[0:ROWS, 0:16] := alpha * A @ B + beta * C with 2*ROWS accumulators (12 for the full
  // tile), 2 registers for the B row and 1 for the broadcast A value: 15 of 16 ymm. The
  // accumulators are named variables, not an array: GCC keeps an array of __m256 on the
  // stack and stores it every iteration (that version ran at half speed).
  template <int ROWS>
  static void micro_rows(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    // Fetch the C tile while the k loop runs (a 16-float row spans two lines unless aligned).
    for (int i = 0; i < ROWS; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
    }
#define EMBER_ROW(I)                                          \
  if constexpr (ROWS > I) {                                   \
    const __m256 ai = _mm256_broadcast_ss(a + I);             \
    c##I##0 = _mm256_fmadd_ps(ai, b0, c##I##0);               \
    c##I##1 = _mm256_fmadd_ps(ai, b1, c##I##1);               \
  }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_load_ps(b);
      const __m256 b1 = _mm256_load_ps(b + 8);
      EMBER_ROW(0) EMBER_ROW(1) EMBER_ROW(2) EMBER_ROW(3) EMBER_ROW(4) EMBER_ROW(5)
      a += MR;
      b += NR;
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

  static void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                    float alpha, float beta, int64_t mr) {
    switch (mr) {
      case 6: micro_rows<6>(kc, a, b, c, ldc, alpha, beta); break;
      case 5: micro_rows<5>(kc, a, b, c, ldc, alpha, beta); break;
      case 4: micro_rows<4>(kc, a, b, c, ldc, alpha, beta); break;
      case 3: micro_rows<3>(kc, a, b, c, ldc, alpha, beta); break;
      case 2: micro_rows<2>(kc, a, b, c, ldc, alpha, beta); break;
      default: micro_rows<1>(kc, a, b, c, ldc, alpha, beta); break;
    }
  }

  // A micro-panel: dst[p*6 + i] = A[i, p] for i < 6, p < kc, where A[i, p] = a[i*a_rs + p*a_cs].
  static bool pack_a_fast(const float* a, int64_t a_rs, int64_t a_cs, int64_t kc, float* dst) {
    if (a_cs == 1) {  // rows contiguous (A as stored): 6 rows x 8 values, transposed in registers
      int64_t p = 0;
      for (; p + 8 <= kc; p += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(a + i * a_rs + p);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose8x8(r);
        for (int j = 0; j < 8; ++j) {  // column j = 6 values (lanes 6, 7 unused)
          float* d = dst + (p + j) * 6;
          _mm_storeu_ps(d, _mm256_castps256_ps128(r[j]));
          _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), _mm256_extractf128_ps(r[j], 1));
        }
      }
      for (; p < kc; ++p)
        for (int i = 0; i < 6; ++i) dst[p * 6 + i] = a[i * a_rs + p];
      return true;
    }
    if (a_rs == 1) {  // columns contiguous (A^T stored): 6 consecutive values per column
      for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * 6, a + p * a_cs, 6 * sizeof(float));
      return true;
    }
    return false;
  }

  // B micro-panel: dst[p*16 + j] = B[p, j], where B[p, j] = b[p*b_rs + j*b_cs].
  static bool pack_b_fast(const float* b, int64_t b_rs, int64_t b_cs, int64_t kc, float* dst) {
    if (b_cs == 1) {  // rows contiguous (B as stored): copy 16 values per row
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = b + p * b_rs;
        _mm256_store_ps(dst + p * 16, _mm256_loadu_ps(src));
        _mm256_store_ps(dst + p * 16 + 8, _mm256_loadu_ps(src + 8));
      }
      return true;
    }
    if (b_rs == 1) {  // columns contiguous (B^T stored): two 8x8 transposes per 8 rows
      int64_t p = 0;
      for (; p + 8 <= kc; p += 8) {
        for (int half = 0; half < 2; ++half) {
          __m256 r[8];
          for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (half * 8 + j) * b_cs + p);
          transpose8x8(r);
          for (int q = 0; q < 8; ++q) _mm256_store_ps(dst + (p + q) * 16 + half * 8, r[q]);
        }
      }
      for (; p < kc; ++p)
        for (int j = 0; j < 16; ++j) dst[p * 16 + j] = b[j * b_cs + p];
      return true;
    }
    return false;
  }
};

struct KernelF64 {
  using T = double;
  static constexpr int MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;

  // Same register plan as the float tile, 4 doubles per ymm.
  template <int ROWS>
  static void micro_rows(int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                         double alpha, double beta) {
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256d c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define EMBER_ROW(I)                                          \
  if constexpr (ROWS > I) {                                   \
    const __m256d ai = _mm256_broadcast_sd(a + I);            \
    c##I##0 = _mm256_fmadd_pd(ai, b0, c##I##0);               \
    c##I##1 = _mm256_fmadd_pd(ai, b1, c##I##1);               \
  }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const __m256d b0 = _mm256_load_pd(b);
      const __m256d b1 = _mm256_load_pd(b + 4);
      EMBER_ROW(0) EMBER_ROW(1) EMBER_ROW(2) EMBER_ROW(3) EMBER_ROW(4) EMBER_ROW(5)
      a += MR;
      b += NR;
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

  static void micro(int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                    double alpha, double beta, int64_t mr) {
    switch (mr) {
      case 6: micro_rows<6>(kc, a, b, c, ldc, alpha, beta); break;
      case 5: micro_rows<5>(kc, a, b, c, ldc, alpha, beta); break;
      case 4: micro_rows<4>(kc, a, b, c, ldc, alpha, beta); break;
      case 3: micro_rows<3>(kc, a, b, c, ldc, alpha, beta); break;
      case 2: micro_rows<2>(kc, a, b, c, ldc, alpha, beta); break;
      default: micro_rows<1>(kc, a, b, c, ldc, alpha, beta); break;
    }
  }

  // float64 serves gradient checks, not speed: the portable packing loops suffice.
  static bool pack_a_fast(const double*, int64_t, int64_t, int64_t, double*) { return false; }
  static bool pack_b_fast(const double*, int64_t, int64_t, int64_t, double*) { return false; }
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
