// BLIS-style GEMM driver around the tier's microkernel (microkernel.h).
//
// Loops, outermost first: jc (nc columns of C; packed B block kc x nc, in L3), pc (kc slice
// of the inner dimension), ic (mc rows; packed A block mc x kc, in L2), jr (one B
// micro-panel kc x NR, in L1), ir (one A micro-panel MR x kc streamed from L2). Block sizes
// are balanced (packing.h).
//
// Threads split C into a grid of independent blocks (rows in whole MR micro-panels, columns
// in whole NR micro-panels) and each runs the serial loops on its block with its own
// packing space: no shared buffers, no barriers. The price is redundant packing (the row
// groups each pack all of their B columns, the column groups all of their A rows); the grid
// minimises that plus the load imbalance (split_cost). Sharing packed blocks as BLIS does
// needs a barrier per block, and a barrier stalls whenever another core is briefly taken
// (docs/ARCHITECTURE.md). For sources compiled per ISA (isa.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "ember/gemm/finish.h"
#include "ember/gemm/microkernel.h"
#include "ember/gemm/packing.h"
#include "ember/parallel.h"

namespace ember::EMBER_ISA_NS::gemm {

using ::ember::gemm::apply_finish;
using ::ember::gemm::Finish;

// C[0:mc, 0:nc] (+)= alpha * A block @ B block: jr outer so that one B micro-panel stays in
// L1 while the A micro-panels stream past it. A's tile at row ir starts at a + ir * a_rs and
// its step p is read a_cs further on (a packed block: a_rs = kc, a_cs = MR; A in place along
// its columns: a_rs = 1); a_cs == 1 means A is read in place from its rows (row i at
// a + i * a_rs, AcrossRows). Full B panels come from `bd` (row stride ldb) when it is given
// (B read in place), else from the packed block pb; the partial panel at the right edge is
// always packed. `fin` (if given) finishes each tile while it is in L1.
template <class K>
inline void macro_kernel(int64_t mc, int64_t nc, int64_t kc, typename K::T alpha,
                         const typename K::T* a, int64_t a_rs, int64_t a_cs,
                         const typename K::T* pb, const typename K::T* bd, int64_t ldb,
                         typename K::T beta, typename K::T* c, int64_t ldc,
                         const Finish<typename K::T>* fin) {
  using T = typename K::T;
  constexpr int64_t MR = K::MR, NR = K::NR;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min(NR, nc - jr);
    const bool direct = bd != nullptr && nr == NR;
    const T* bp = direct ? bd + jr : pb + jr * kc;
    const int64_t bstride = direct ? ldb : NR;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int64_t mr = std::min(MR, mc - ir);
      auto tile = [&](T* ct, int64_t ldct, T bet) {
        if (a_cs == 1) {
          K::micro_across(kc, a + ir * a_rs, a_rs, bp, bstride, ct, ldct, alpha, bet, mr);
        } else {
          K::micro(kc, a + ir * a_rs, a_cs, bp, bstride, ct, ldct, alpha, bet, mr);
        }
      };
      T* ct = c + ir * ldc + jr;
      if (nr == NR) {
        tile(ct, ldc, beta);
      } else {
        edge_tile<K>([&](T* t, int64_t ldt) { tile(t, ldt, T(0)); }, ct, ldc, mr, nr, beta);
      }
      if (fin != nullptr) apply_finish(*fin, ct, ldc, mr, nr, jr);  // the tile, in L1
    }
  }
}

// A is read in place instead of packed: from its rows (a_cs == 1, AcrossRows), or along its
// contiguous columns when consecutive columns are at most kInPlaceColumnBytes apart (a
// tile's steps then stay within a page for many steps). Columns farther apart are packed.
constexpr int64_t kInPlaceColumnBytes = 512;
template <class K>
bool a_in_place(int64_t a_rs, int64_t a_cs) {
  if (a_cs == 1) return a_rs != 1;
  return a_rs == 1 && a_cs * static_cast<int64_t>(sizeof(typename K::T)) <= kInPlaceColumnBytes;
}

// The five loops on one thread, packing B (and A unless it is read in place) into the
// thread's packing space.
template <class K>
void gemm_serial(int64_t m, int64_t n, int64_t k, typename K::T alpha, const typename K::T* a,
                 int64_t a_rs, int64_t a_cs, const typename K::T* b, int64_t b_rs,
                 int64_t b_cs, typename K::T beta, typename K::T* c, int64_t ldc,
                 const Finish<typename K::T>& fin) {
  using T = typename K::T;
  constexpr int64_t MR = K::MR, NR = K::NR;
  if (m <= 0 || n <= 0) return;
  const int64_t nc_blk = balanced_block(n, K::NC, NR);
  const int64_t kc_blk = balanced_block(k, K::KC, 1);
  const int64_t mc_blk = balanced_block(m, K::MC, MR);
  // Few rows of C: each packed B element would serve only m multiply-adds, and packing B (a
  // read and a write per element, often of a B that is not in L2) then costs as much as
  // the multiply. The kernel reads B's rows in place instead (rows must be contiguous).
  const bool direct_b = b_cs == 1 && m <= K::kDirectBMaxM;
  const bool a_direct = a_in_place<K>(a_rs, a_cs);
  const int64_t b_elems = kc_blk * ceil_div(nc_blk, NR) * NR;
  const int64_t a_elems = a_direct ? 0 : kc_blk * mc_blk;
  T* const pb = static_cast<T*>(pack_space().get((b_elems + a_elems) * sizeof(T)));
  T* const pa = pb + b_elems;  // b_elems is a multiple of NR: pa stays vector-aligned
  for (int64_t jc = 0; jc < n; jc += nc_blk) {
    const int64_t nc = std::min(nc_blk, n - jc);
    Finish<T> fin_jc = fin;  // the epilogue of this block of columns
    if (fin_jc.bias != nullptr) fin_jc.bias += jc;
    for (int64_t pc = 0; pc < k; pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, k - pc);
      const T beta_eff = pc == 0 ? beta : T(1);
      const T* bblk = b + pc * b_rs + jc * b_cs;
      pack_b_panels<K>(bblk, b_rs, b_cs, nc, kc, direct_b ? nc / NR : 0, ceil_div(nc, NR), pb);
      // After the last block of k, each finished tile gets the epilogue.
      const Finish<T>* last = pc + kc >= k && fin.active() ? &fin_jc : nullptr;
      for (int64_t ic = 0; ic < m; ic += mc_blk) {
        const int64_t mc = std::min(mc_blk, m - ic);
        const T* ablk = a + ic * a_rs + pc * a_cs;
        const T* bd = direct_b ? bblk : nullptr;
        T* cblk = c + ic * ldc + jc;
        if (a_direct) {
          macro_kernel<K>(mc, nc, kc, alpha, ablk, a_rs, a_cs, pb, bd, b_rs, beta_eff, cblk,
                          ldc, last);
        } else {
          pack_a_block<K>(ablk, a_rs, a_cs, mc, kc, pa);
          macro_kernel<K>(mc, nc, kc, alpha, pa, kc, MR, pb, bd, b_rs, beta_eff, cblk, ldc,
                          last);
        }
      }
    }
  }
}

struct Grid {
  int tm, tn;
};

// Modelled cycles for the slowest thread of a tm x tn grid: its multiply-adds at 16 per
// cycle (2 FMA ports x 8 lanes), times the imbalance of the micro-panel split, plus about
// half a cycle per packed element (packing is bound by reading the source from L2/L3; an A
// read in place costs nothing to pack).
template <class K>
double split_cost(int64_t m, int64_t n, int64_t k, int tm, int tn, bool a_direct) {
  const int64_t mp = ceil_div(m, K::MR), np = ceil_div(n, K::NR);
  if (mp < tm || np < tn) return 1e300;
  const double rows = static_cast<double>(std::min(m, ceil_div(mp, tm) * K::MR));
  const double cols = static_cast<double>(std::min(n, ceil_div(np, tn) * K::NR));
  const double kd = static_cast<double>(k);
  const double a_packs =
      a_direct ? 0.0 : static_cast<double>(ceil_div(static_cast<int64_t>(cols), K::NC));
  return rows * cols * kd / 16.0 + 0.5 * (rows * kd * a_packs + kd * cols);
}

template <class K>
Grid choose_grid(int64_t m, int64_t n, int64_t k, int nthreads, bool a_direct) {
  Grid best{nthreads, 1};
  double best_cost = split_cost<K>(m, n, k, nthreads, 1, a_direct);
  for (int tm = nthreads - 1; tm >= 1; --tm) {
    if (nthreads % tm != 0) continue;
    const double cost = split_cost<K>(m, n, k, tm, nthreads / tm, a_direct);
    if (cost < best_cost) {
      best = Grid{tm, nthreads / tm};
      best_cost = cost;
    }
  }
  return best;
}

// The grid for `nthreads` threads: nthreads blocks, or up to kPartsPerThread times as many
// when the extra packing that finer blocks cost stays within kFinerGridSlack of the
// modelled total, so that a thread slowed by a shared core takes fewer blocks.
constexpr double kFinerGridSlack = 1.03;
template <class K>
Grid choose_parts(int64_t m, int64_t n, int64_t k, int nthreads, bool a_direct) {
  const Grid base = choose_grid<K>(m, n, k, nthreads, a_direct);
  const double base_total = nthreads * split_cost<K>(m, n, k, base.tm, base.tn, a_direct);
  for (int per = parallel::kPartsPerThread; per > 1; per /= 2) {
    const int parts = nthreads * per;
    const Grid g = choose_grid<K>(m, n, k, parts, a_direct);
    if (parts * split_cost<K>(m, n, k, g.tm, g.tn, a_direct) <= kFinerGridSlack * base_total)
      return g;
  }
  return base;
}

template <class K>
void driver(int64_t m, int64_t n, int64_t k, typename K::T alpha, const typename K::T* a,
            int64_t a_rs, int64_t a_cs, const typename K::T* b, int64_t b_rs, int64_t b_cs,
            typename K::T beta, typename K::T* c, int64_t ldc, int nthreads,
            const Finish<typename K::T>& fin) {
  constexpr int64_t MR = K::MR, NR = K::NR;
  if (nthreads <= 1) {
    gemm_serial<K>(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, fin);
    return;
  }
  const Grid grid = choose_parts<K>(m, n, k, nthreads, a_in_place<K>(a_rs, a_cs));
  const int64_t mp = ceil_div(m, MR), np = ceil_div(n, NR);
  parallel::run(grid.tm * grid.tn, nthreads, [&](int64_t t) {
    const int ti = static_cast<int>(t) / grid.tn, tj = static_cast<int>(t) % grid.tn;
    const int64_t r0 = std::min(m, mp * ti / grid.tm * MR);
    const int64_t r1 = std::min(m, mp * (ti + 1) / grid.tm * MR);
    const int64_t c0 = std::min(n, np * tj / grid.tn * NR);
    const int64_t c1 = std::min(n, np * (tj + 1) / grid.tn * NR);
    Finish<typename K::T> fin_block = fin;  // this block's columns start at c0
    if (fin_block.bias != nullptr) fin_block.bias += c0;
    gemm_serial<K>(r1 - r0, c1 - c0, k, alpha, a + r0 * a_rs, a_rs, a_cs, b + c0 * b_cs, b_rs,
                   b_cs, beta, c + r0 * ldc + c0, ldc, fin_block);
  });
}

}  // namespace ember::EMBER_ISA_NS::gemm
