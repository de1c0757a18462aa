// The x86 register-tile microkernel, one template for the AVX2 and AVX-512 tiers, over the
// vector traits V = simd::Ymm<T> or simd::Zmm<T>. A tile is MR rows x NV vectors: MR * NV
// accumulators, NV registers for the B row and 1 for the broadcast A value must fit the
// register file (AVX-512: 14 x 2 of 32 zmm; AVX2: 6 x 2 of 16 ymm). Per k step the tile
// issues MR * NV FMAs against NV loads and MR broadcasts, so the FMA ports, not the load
// ports, set the pace. For sources compiled per ISA (isa.h), x86 tiers only.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "ember/gemm/micro_entries.h"

namespace ember::EMBER_ISA_NS::gemm {

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

// dst[p*W + i] = src[i*stride + p] for i < W, p < kc: W rows of a row-major matrix,
// interleaved column by column. This packs an A micro-panel from A as stored (W = MR) and a
// B micro-panel from B^T as stored (W = NR, e.g. x @ W^T in a linear layer), 8x8 blocks
// transposed in registers instead of W strided scalar reads per column.
template <int W>
inline void pack_transposed(const float* src, int64_t stride, int64_t kc, float* dst) {
  int64_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    for (int g = 0; g < W; g += 8) {
      const int cnt = W - g < 8 ? W - g : 8;
      __m256 r[8];
      for (int i = 0; i < 8; ++i)
        r[i] = i < cnt ? _mm256_loadu_ps(src + (g + i) * stride + p) : _mm256_setzero_ps();
      transpose8x8(r);
      if (cnt == 8) {
        for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (p + q) * W + g, r[q]);
      } else {  // the last rows of a W that is not a multiple of 8: store cnt lanes only
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), lanes);
        for (int q = 0; q < 8; ++q) _mm256_maskstore_ps(dst + (p + q) * W + g, mask, r[q]);
      }
    }
  }
  for (; p < kc; ++p)
    for (int i = 0; i < W; ++i) dst[p * W + i] = src[i * stride + p];
}

// Vt: vector traits (simd::Ymm or simd::Zmm) over Scalar; MR rows (<= 14) x NV vectors per
// tile; MC, KC, NC: the largest cache blocks (MC % MR == 0, NC % NR == 0); B is read in place
// instead of packed when C has at most kDirectBPanels micro-panels of rows (driver.h).
template <template <typename> class Vt, typename Scalar, int MR_, int NV, int MC_, int KC_,
          int NC_, int kDirectBPanels>
struct VecKernel
    : MicroEntries<VecKernel<Vt, Scalar, MR_, NV, MC_, KC_, NC_, kDirectBPanels>, Scalar> {
  using T = Scalar;
  using V = Vt<T>;
  using R = typename V::R;
  static constexpr int kW = V::kLanes;
  static constexpr int MR = MR_, NR = NV * kW, MC = MC_, KC = KC_, NC = NC_;
  static constexpr int64_t kDirectBMaxM = int64_t(kDirectBPanels) * MR;
  static_assert(MR >= 1 && MR <= 14 && (NV == 1 || NV == 2), "tile shape out of range");

  // C[0:ROWS, 0:NR] := alpha * A @ B + beta * C. The accumulators are named variables (GCC
  // keeps an array of vectors in memory and reloads it every step); rows at or past ROWS
  // are never touched.
  template <int ROWS, typename ARows, typename BRows>
  static void micro_rows(int64_t kc, ARows a, BRows b, T* c, int64_t ldc, T alpha, T beta) {
    R c00 = V::zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00;
    R c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    R c70 = c00, c71 = c00, c80 = c00, c81 = c00, c90 = c00, c91 = c00, c100 = c00;
    R c101 = c00, c110 = c00, c111 = c00, c120 = c00, c121 = c00, c130 = c00, c131 = c00;
    for (int i = 0; i < ROWS; ++i) {  // fetch the C tile while the k loop runs
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
#define EMBER_ROW(I)                        \
  if constexpr (ROWS > I) {                 \
    const R ai = V::set1(*a.at(I));         \
    c##I##0 = V::fmadd(ai, b0, c##I##0);    \
    if constexpr (NV > 1)                   \
      c##I##1 = V::fmadd(ai, b1, c##I##1);  \
  }
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
      const T* bp = b.row();
      const R b0 = V::loadu(bp);
      const R b1 = NV > 1 ? V::loadu(bp + kW) : b0;
      EMBER_ROW(0) EMBER_ROW(1) EMBER_ROW(2) EMBER_ROW(3) EMBER_ROW(4) EMBER_ROW(5)
      EMBER_ROW(6) EMBER_ROW(7) EMBER_ROW(8) EMBER_ROW(9) EMBER_ROW(10) EMBER_ROW(11)
      EMBER_ROW(12) EMBER_ROW(13)
      a.next();
      b.next();
    }
#undef EMBER_ROW
    const R va = V::set1(alpha), vb = V::set1(beta);
    const bool scale = alpha != T(1), accumulate = beta != T(0);
    auto store = [&](T* ci, R x, R y) {
      if (scale) {
        x = V::mul(x, va);
        if constexpr (NV > 1) y = V::mul(y, va);
      }
      if (accumulate) {
        x = V::fmadd(vb, V::loadu(ci), x);
        if constexpr (NV > 1) y = V::fmadd(vb, V::loadu(ci + kW), y);
      }
      V::storeu(ci, x);
      if constexpr (NV > 1) V::storeu(ci + kW, y);
    };
#define EMBER_STORE(I) \
  if constexpr (ROWS > I) store(c + I * ldc, c##I##0, c##I##1);
    EMBER_STORE(0) EMBER_STORE(1) EMBER_STORE(2) EMBER_STORE(3) EMBER_STORE(4) EMBER_STORE(5)
    EMBER_STORE(6) EMBER_STORE(7) EMBER_STORE(8) EMBER_STORE(9) EMBER_STORE(10)
    EMBER_STORE(11) EMBER_STORE(12) EMBER_STORE(13)
#undef EMBER_STORE
  }

  // Packed micro-panels from the layouts that need a transpose (float only; float64 serves
  // gradient checks and uses the driver's portable loops). The contiguous layouts are copied
  // by the driver's loops, which the compiler vectorises.
  static bool pack_a_fast(const T* a, int64_t a_rs, int64_t a_cs, int64_t kc, T* dst) {
    if constexpr (std::is_same_v<T, float>) {
      if (a_cs == 1) {
        pack_transposed<MR>(a, a_rs, kc, dst);
        return true;
      }
    }
    (void)a, (void)a_rs, (void)a_cs, (void)kc, (void)dst;
    return false;
  }
  static bool pack_b_fast(const T* b, int64_t b_rs, int64_t b_cs, int64_t kc, T* dst) {
    if constexpr (std::is_same_v<T, float>) {
      if (b_rs == 1) {
        pack_transposed<NR>(b, b_cs, kc, dst);
        return true;
      }
    }
    (void)b, (void)b_rs, (void)b_cs, (void)kc, (void)dst;
    return false;
  }
};

}  // namespace ember::EMBER_ISA_NS::gemm
