// x86 packing helpers shared by the AVX2 and AVX-512 GEMM paths. Each of those translation
// units includes this file inside its own anonymous namespace, so every copy is compiled
// with that unit's ISA flags and never mixed with another (no ODR sharing across ISAs).
// Needs <immintrin.h> and AVX2 (both units are compiled with at least -mavx2 -mfma).

// An edge tile's runtime row count mr (1..K::MR) to the micro-kernel compiled for that many
// rows: K::micro_rows<ROWS> keeps only ROWS rows of accumulators live. Full tiles (mr == MR,
// the common case) cost one comparison. ARows / BRows are the operands' row cursors
// (rows.h): step p reads MR values of A at a.row() and NR values of B at b.row().
template <typename K, int ROWS = K::MR, typename ARows, typename BRows>
inline void micro_for_rows(int64_t kc, ARows a, BRows b, typename K::T* c, int64_t ldc,
                           typename K::T alpha, typename K::T beta, int64_t mr) {
  if constexpr (ROWS > 1) {
    if (mr < ROWS) return micro_for_rows<K, ROWS - 1>(kc, a, b, c, ldc, alpha, beta, mr);
  }
  K::template micro_rows<ROWS>(kc, a, b, c, ldc, alpha, beta);
}

// The entry points every x86 kernel K offers the driver (see gemm_driver.inc). Kernels
// derive from MicroEntries<themselves, T>.
template <typename K, typename T>
struct MicroEntries {
  static void micro(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                    int64_t ldc, T alpha, T beta, int64_t mr) {
    micro_for_rows<K>(kc, StridedRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, alpha, beta,
                      mr);
  }
  static void micro_offsets(int64_t kc, const T* a, int64_t lda, const T* b,
                            const int64_t* off, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_for_rows<K>(kc, StridedRows<T>{a, lda}, OffsetRows<T>{b, off}, c, ldc, T(1), beta,
                      mr);
  }
  static void micro_frame(int64_t kc, const T* a, const int64_t* off, const T* b,
                          int64_t ldb, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_for_rows<K>(kc, OffsetRows<T>{a, off}, StridedRows<T>{b, ldb}, c, ldc, T(1), beta,
                      mr);
  }
  static void micro_gather(int64_t kc, const T* a, const int64_t* aoff, const T* b,
                           const int64_t* boff, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_for_rows<K>(kc, OffsetRows<T>{a, aoff}, OffsetRows<T>{b, boff}, c, ldc, T(1), beta,
                      mr);
  }
  static void micro_across(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                           int64_t ldc, T alpha, T beta, int64_t mr) {
    micro_for_rows<K>(kc, AcrossRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, alpha, beta,
                      mr);
  }
};

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
