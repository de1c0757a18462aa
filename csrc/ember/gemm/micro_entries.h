// The entry points every microkernel offers the driver and the convolution products, all
// built on the kernel's `template <int ROWS> micro_rows(kc, ARows a, BRows b, c, ldc,
// alpha, beta)` (C[0:ROWS, 0:NR] := alpha * A @ B + beta * C, C not read when beta == 0)
// with the operand cursors of rows.h. A kernel K derives from MicroEntries<K, T>.
// For sources compiled per ISA (isa.h).
#pragma once

#include <cstdint>

#include "ember/gemm/rows.h"

namespace ember::EMBER_ISA_NS::gemm {

// An edge tile's run-time row count mr (1..K::MR) to the micro_rows compiled for that many
// rows: only ROWS rows of accumulators are live and only ROWS rows of A are read. Full
// tiles (mr == MR, the common case) cost one comparison.
template <typename K, int ROWS = K::MR, typename ARows, typename BRows>
inline void micro_for_rows(int64_t kc, ARows a, BRows b, typename K::T* c, int64_t ldc,
                           typename K::T alpha, typename K::T beta, int64_t mr) {
  if constexpr (ROWS > 1) {
    if (mr < ROWS) return micro_for_rows<K, ROWS - 1>(kc, a, b, c, ldc, alpha, beta, mr);
  }
  K::template micro_rows<ROWS>(kc, a, b, c, ldc, alpha, beta);
}

template <typename K, typename T>
struct MicroEntries {
  // A packed (or in place along its columns): step p's MR values at a + p * lda; B's row p
  // at b + p * ldb.
  static void micro(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                    int64_t ldc, T alpha, T beta, int64_t mr) {
    micro_for_rows<K>(kc, StridedRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, alpha, beta,
                      mr);
  }
  // B's row p at b + off[p].
  static void micro_offsets(int64_t kc, const T* a, int64_t lda, const T* b,
                            const int64_t* off, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_for_rows<K>(kc, StridedRows<T>{a, lda}, OffsetRows<T>{b, off}, c, ldc, T(1), beta,
                      mr);
  }
  // A's step-p values at a + off[p].
  static void micro_frame(int64_t kc, const T* a, const int64_t* off, const T* b,
                          int64_t ldb, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_for_rows<K>(kc, OffsetRows<T>{a, off}, StridedRows<T>{b, ldb}, c, ldc, T(1), beta,
                      mr);
  }
  // Both at listed offsets.
  static void micro_gather(int64_t kc, const T* a, const int64_t* aoff, const T* b,
                           const int64_t* boff, T* c, int64_t ldc, T beta, int64_t mr) {
    micro_for_rows<K>(kc, OffsetRows<T>{a, aoff}, OffsetRows<T>{b, boff}, c, ldc, T(1), beta,
                      mr);
  }
  // A read in place from its rows (row i at a + i * lda).
  static void micro_across(int64_t kc, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                           int64_t ldc, T alpha, T beta, int64_t mr) {
    micro_for_rows<K>(kc, AcrossRows<T>{a, lda}, StridedRows<T>{b, ldb}, c, ldc, alpha, beta,
                      mr);
  }
};

}  // namespace ember::EMBER_ISA_NS::gemm
