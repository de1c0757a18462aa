// Packing of GEMM operands into micro-panels, block sizing and edge tiles: shared by the
// five-loop driver (driver.h) and the convolution products (conv/products_kernels.cpp).
// A kernel K (microkernel.h) provides MR, NR, MC, KC, NC and pack_a_fast / pack_b_fast (a
// faster way to pack one full micro-panel for some strides, or false). For sources
// compiled per ISA (isa.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "ember/scratch.h"

namespace ember::EMBER_ISA_NS::gemm {

// Packing space of the calling thread (each OpenMP worker is long-lived, so it is
// allocated once per thread and then reused).
inline ScratchBuffer& pack_space() {
  static thread_local ScratchBuffer ws;
  return ws;
}

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Largest block of a balanced split of `total` into blocks of at most `max_block` (a
// multiple of `align`), rounded up to `align`: a loop of length L with largest block X runs
// ceil(L/X) equal blocks (k = 784 as 4 x 196, not 3 x 256 + 16: a 16-deep block does a
// full load and store of C for little work).
inline int64_t balanced_block(int64_t total, int64_t max_block, int64_t align) {
  const int64_t blocks = ceil_div(total, max_block);
  return std::min(max_block, ceil_div(ceil_div(total, blocks), align) * align);
}

// Rows per register tile when m rows are split into the fewest tiles of at most mr_max
// rows, balanced (16 rows with MR = 14 as 8 + 8, not 14 + 2: a 2-row tile has too few
// accumulator chains to hide the FMA latency and runs at half the FMA rate).
inline int64_t balanced_rows(int64_t m, int64_t mr_max) {
  return ceil_div(m, ceil_div(m, mr_max));
}

template <class K>
inline void pack_a(const typename K::T* a, int64_t a_rs, int64_t a_cs, int64_t mr, int64_t kc,
                   typename K::T* dst) {
  using T = typename K::T;
  constexpr int MR = K::MR;
  if (mr == MR && K::pack_a_fast(a, a_rs, a_cs, kc, dst)) return;
  if (mr == MR && a_rs == 1) {  // op(A) columns are contiguous: copy MR values per column
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = a + p * a_cs;
      for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i];
    }
    return;
  }
  if (mr == MR && a_cs == 1) {  // rows of op(A) contiguous: read MR rows side by side
    const T* r[MR];
    for (int i = 0; i < MR; ++i) r[i] = a + i * a_rs;
    for (int64_t p = 0; p < kc; ++p)
      for (int i = 0; i < MR; ++i) dst[p * MR + i] = r[i][p];
    return;
  }
  for (int64_t i = 0; i < mr; ++i) {
    const T* src = a + i * a_rs;
    for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p * a_cs];
  }
  for (int64_t i = mr; i < MR; ++i)
    for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = T(0);
}

template <class K>
inline void pack_b(const typename K::T* b, int64_t b_rs, int64_t b_cs, int64_t nr, int64_t kc,
                   typename K::T* dst) {
  using T = typename K::T;
  constexpr int NR = K::NR;
  if (nr == NR && K::pack_b_fast(b, b_rs, b_cs, kc, dst)) return;
  if (nr == NR && b_cs == 1) {  // rows of op(B) are contiguous: copy NR values per row
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = b + p * b_rs;
      for (int j = 0; j < NR; ++j) dst[p * NR + j] = src[j];
    }
    return;
  }
  for (int64_t j = 0; j < nr; ++j) {
    const T* src = b + j * b_cs;
    for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[p * b_rs];
  }
  for (int64_t j = nr; j < NR; ++j)
    for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = T(0);
}

// Micro-panels [jp0, jp1) of the kc x nc block of op(B) starting at b.
template <class K>
inline void pack_b_panels(const typename K::T* b, int64_t b_rs, int64_t b_cs, int64_t nc,
                          int64_t kc, int64_t jp0, int64_t jp1, typename K::T* dst) {
  using T = typename K::T;
  constexpr int64_t NR = K::NR;
  const int64_t full_end = std::min(jp1, nc / NR);  // panels with all NR columns
  int64_t jp = jp0;
  if (b_cs == 1 && full_end - jp0 >= 2) {
    // Rows of op(B) are contiguous: walk each row once, left to right, dealing its NR-wide
    // pieces out to the panels. Panel by panel would read kc rows a row stride apart for
    // each panel: with a power-of-two row stride those lines share one L1 set and are
    // evicted before the next panel needs their other half, so the pack would run from L2.
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = b + p * b_rs + jp0 * NR;
      T* d = dst + jp0 * NR * kc + p * NR;
      for (int64_t q = jp0; q < full_end; ++q, src += NR, d += NR * kc) {
        for (int64_t j = 0; j < NR; ++j) d[j] = src[j];
      }
    }
    jp = full_end;
  }
  for (; jp < jp1; ++jp) {
    const int64_t j0 = jp * NR;
    pack_b<K>(b + j0 * b_cs, b_rs, b_cs, std::min(NR, nc - j0), kc, dst + j0 * kc);
  }
}

template <class K>
inline void pack_a_block(const typename K::T* a, int64_t a_rs, int64_t a_cs, int64_t mc,
                         int64_t kc, typename K::T* dst) {
  constexpr int64_t MR = K::MR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR)
    pack_a<K>(a + i0 * a_rs, a_rs, a_cs, std::min(MR, mc - i0), kc, dst + i0 * kc);
}

// A tile with fewer than NR valid columns: `tile(t, ldt)` computes the full tile into a
// scratch tile (beta = 0), then its mr x nr corner is merged into C (C := beta * C + tile).
// Bottom-edge tiles with all NR columns need no scratch: the microkernel writes only their
// mr rows.
template <class K, typename Tile>
inline void edge_tile(Tile&& tile, typename K::T* c, int64_t ldc, int64_t mr, int64_t nr,
                      typename K::T beta) {
  using T = typename K::T;
  alignas(64) T tmp[K::MR * K::NR];
  tile(tmp, int64_t(K::NR));
  for (int64_t i = 0; i < mr; ++i) {
    T* ci = c + i * ldc;
    const T* ti = tmp + i * K::NR;
    if (beta == T(0)) {
      for (int64_t j = 0; j < nr; ++j) ci[j] = ti[j];
    } else {
      for (int64_t j = 0; j < nr; ++j) ci[j] = beta * ci[j] + ti[j];
    }
  }
}

}  // namespace ember::EMBER_ISA_NS::gemm
