// The convolution products (products.h) on one ISA tier's microkernels (compiled once per
// tier, isa.h). None packs its in-place operand; the microkernels read it through the row
// cursors of gemm/rows.h.
#include <algorithm>
#include <cstdint>

#include "ember/conv/products.h"
#include "ember/gemm/microkernel.h"
#include "ember/gemm/packing.h"

namespace ember::EMBER_ISA_NS::conv {

namespace {

using gemm::balanced_block;
using gemm::balanced_rows;
using gemm::ceil_div;
using gemm::edge_tile;
using gemm::Tiles;

// Sum of shifted products as one GEMM of inner dimension nshift * k: the A_o are packed
// side by side into MR-row panels (column o * k + p of a panel is column p of A_o), and the
// microkernel reads B's row o * k + p in place at b + offs[o] + p * ldb (OffsetRows), so the
// shifted operands are never copied and each C tile is written once (one microkernel call
// per shift would load and store the C tile nshift times).
template <class K>
void shifted(int64_t m, int64_t n, int64_t k, int64_t nshift, const typename K::T* a,
             const typename K::T* b, int64_t ldb, const int64_t* offs, typename K::T* c,
             int64_t ldc) {
  using T = typename K::T;
  constexpr int64_t MR = K::MR, NR = K::NR;
  const int64_t kt = nshift * k, mpad = ceil_div(m, MR) * MR, mb = balanced_rows(m, MR);
  const size_t a_bytes = (static_cast<size_t>(mpad * kt) * sizeof(T) + 63) & ~size_t(63);
  char* ws = static_cast<char*>(gemm::pack_space().get(a_bytes + kt * sizeof(int64_t)));
  T* const pa = reinterpret_cast<T*>(ws);
  int64_t* const boff = reinterpret_cast<int64_t*>(ws + a_bytes);
  for (int64_t o = 0; o < nshift; ++o)
    for (int64_t p = 0; p < k; ++p) boff[o * k + p] = offs[o] + p * ldb;
  for (int64_t ir = 0; ir < m; ir += mb) {  // panel ir / mb holds rows [ir, ir + mb)
    const int64_t mr = std::min(mb, m - ir);
    T* dst = pa + ir / mb * MR * kt;
    for (int64_t o = 0; o < nshift; ++o) {
      const T* ao = a + o * m * k + ir * k;
      for (int64_t p = 0; p < k; ++p, dst += MR) {
        for (int64_t i = 0; i < mr; ++i) dst[i] = ao[i * k + p];
        for (int64_t i = mr; i < MR; ++i) dst[i] = T(0);
      }
    }
  }
  for (int64_t jr = 0; jr < n; jr += NR) {
    const int64_t nr = std::min(NR, n - jr);
    for (int64_t ir = 0; ir < m; ir += mb) {
      const int64_t mr = std::min(mb, m - ir);
      const T* ap = pa + ir / mb * MR * kt;
      auto tile = [&](T* ct, int64_t ldct) {
        K::micro_offsets(kt, ap, MR, b + jr, boff, ct, ldct, T(0), mr);
      };
      if (nr == NR) {
        tile(c + ir * ldc + jr, ldc);
      } else {
        edge_tile<K>(tile, c + ir * ldc + jr, ldc, mr, nr, T(0));
      }
    }
  }
}

// Pixel-major products over frames: B (the filters, kt x n) is packed once into NR-column
// panels; then for each image, output row r and run of at most MR output columns, the
// microkernel reads A's step-p values as the run of pixels at a_i + aoff[p] + r * lda + q0
// (OffsetRows) -- broadcasts straight from the zero-padded frames, no column matrix -- and
// writes mr x NR outputs of C, channels along the vector lanes. A row's Q columns are split
// into equal runs (balanced_rows' reason).
template <class K>
void frame_rows(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt,
                const typename K::T* a, int64_t a_img, int64_t lda, const int64_t* aoff,
                const typename K::T* b, int64_t ldb, typename K::T* c, int64_t c_img,
                int64_t ldc) {
  using T = typename K::T;
  constexpr int64_t MR = K::MR, NR = K::NR;
  const int64_t np = ceil_div(n, NR);
  T* const pb = static_cast<T*>(gemm::pack_space().get(np * NR * kt * sizeof(T)));
  gemm::pack_b_panels<K>(b, ldb, 1, n, kt, 0, np, pb);
  const int64_t qr = balanced_rows(Q, MR);
  for (int64_t i = 0; i < nimg; ++i) {
    for (int64_t r = 0; r < P; ++r) {
      for (int64_t q0 = 0; q0 < Q; q0 += qr) {
        const int64_t mr = std::min(qr, Q - q0);
        const T* arow = a + i * a_img + r * lda + q0;
        T* crow = c + i * c_img + (r * Q + q0) * ldc;
        for (int64_t jp = 0; jp < np; ++jp) {
          const int64_t jr = jp * NR, nr = std::min(NR, n - jr);
          auto tile = [&](T* ct, int64_t ldct) {
            K::micro_frame(kt, arow, aoff, pb + jr * kt, NR, ct, ldct, T(0), mr);
          };
          if (nr == NR) {
            tile(crow + jr, ldc);
          } else {
            edge_tile<K>(tile, crow + jr, ldc, mr, nr, T(0));
          }
        }
      }
    }
  }
}

// The loops of a product whose operands are both read in place, not packed: blocks of KC
// steps (a panel's rows stay in L1 while the MR-row tiles of C pass over them), NR-column
// panels, balanced MR-row tiles. panel(pc, kc, jr) runs before each panel's tiles;
// tile(ct, ldct, beta, pc, kc, ir, jr, mr) computes one tile of C.
template <class K, typename Panel, typename Tile>
void in_place_tiles(int64_t m, int64_t n, int64_t kt, typename K::T beta, typename K::T* c,
                    int64_t ldc, Panel&& panel, Tile&& tile) {
  using T = typename K::T;
  constexpr int64_t MR = K::MR, NR = K::NR;
  const int64_t kc_blk = balanced_block(kt, K::KC, 1), mb = balanced_rows(m, MR);
  for (int64_t pc = 0; pc < kt; pc += kc_blk) {
    const int64_t kc = std::min(kc_blk, kt - pc);
    const T bet = pc == 0 ? beta : T(1);
    for (int64_t jr = 0; jr < n; jr += NR) {
      const int64_t nr = std::min(NR, n - jr);
      panel(pc, kc, jr);
      for (int64_t ir = 0; ir < m; ir += mb) {
        const int64_t mr = std::min(mb, m - ir);
        T* ct = c + ir * ldc + jr;
        if (nr == NR) {
          tile(ct, ldc, bet, pc, kc, ir, jr, mr);
        } else {
          edge_tile<K>([&](T* t, int64_t ldt) { tile(t, ldt, T(0), pc, kc, ir, jr, mr); }, ct,
                       ldc, mr, nr, bet);
        }
      }
    }
  }
}

// C (+)= A @ B with B's rows gathered: the microkernel reads A's step-p values in place at
// a + p * lda (A's columns are contiguous: a pixel-major copy of dy) and row p of each
// NR-column panel of B at b + boff[p] (OffsetRows).
template <class K>
void gather_rows(int64_t m, int64_t n, int64_t kt, const typename K::T* a, int64_t lda,
                 const typename K::T* b, const int64_t* boff, typename K::T beta,
                 typename K::T* c, int64_t ldc) {
  using T = typename K::T;
  in_place_tiles<K>(m, n, kt, beta, c, ldc, [](int64_t, int64_t, int64_t) {},
                    [&](T* ct, int64_t ldct, T bt, int64_t pc, int64_t kc, int64_t ir,
                        int64_t jr, int64_t mr) {
                      K::micro_offsets(kc, a + pc * lda + ir, lda, b + jr, boff + pc, ct, ldct,
                                       bt, mr);
                    });
}

// C (+)= A @ B with A's columns gathered: column p of A is the m values at a + aoff[p] (a
// run of pixel-major frame values), row p of B the n values at b + boff[p] when boff is
// given, else at b + p * ldb.
template <class K>
void gather_cols(int64_t m, int64_t n, int64_t kt, const typename K::T* a, const int64_t* aoff,
                 const typename K::T* b, int64_t ldb, const int64_t* boff, typename K::T beta,
                 typename K::T* c, int64_t ldc) {
  using T = typename K::T;
  constexpr int64_t NR = K::NR;
  // Gathered B rows are often far apart (rows of another image's pixels): the hardware
  // prefetchers do not follow them across pages, and the first tile of each panel would
  // wait on every row. Fetch the next panel's rows into L2 while this one's tiles run.
  auto prefetch_next = [&](int64_t pc, int64_t kc, int64_t jr) {
    if (boff == nullptr || jr + NR >= n) return;
    for (int64_t p = pc; p < pc + kc; ++p) {
      const T* row = b + boff[p] + jr + NR;
      __builtin_prefetch(row, 0, 2);
      __builtin_prefetch(row + NR - 1, 0, 2);
    }
  };
  in_place_tiles<K>(m, n, kt, beta, c, ldc, prefetch_next,
                    [&](T* ct, int64_t ldct, T bt, int64_t pc, int64_t kc, int64_t ir,
                        int64_t jr, int64_t mr) {
                      if (boff != nullptr) {
                        K::micro_gather(kc, a + ir, aoff + pc, b + jr, boff + pc, ct, ldct, bt,
                                        mr);
                      } else {
                        K::micro_frame(kc, a + ir, aoff + pc, b + pc * ldb + jr, ldb, ct, ldct,
                                       bt, mr);
                      }
                    });
}

// The convolution products put n output columns on the narrow tile when the tier has one
// and n fits it (n <= its width) or is a multiple of its width but not of the wide one:
// no half-empty tiles. f gets the kernel as a tag.
template <typename T, typename F>
void with_tile(int64_t n, F&& f) {
  using W = typename Tiles<T>::Wide;
  using N = typename Tiles<T>::Narrow;
  if (N::NR != W::NR && (n <= N::NR || (n % W::NR != 0 && n % N::NR == 0))) return f(N{});
  f(W{});
}

template <typename T>
void shifted_t(int64_t m, int64_t n, int64_t k, int64_t nshift, const T* a, const T* b,
               int64_t ldb, const int64_t* offs, T* c, int64_t ldc) {
  shifted<typename Tiles<T>::Wide>(m, n, k, nshift, a, b, ldb, offs, c, ldc);
}

template <typename T>
void frame_rows_t(int64_t nimg, int64_t P, int64_t Q, int64_t n, int64_t kt, const T* a,
                  int64_t a_img, int64_t lda, const int64_t* aoff, const T* b, int64_t ldb, T* c,
                  int64_t c_img, int64_t ldc) {
  with_tile<T>(n, [&](auto tile) {
    frame_rows<decltype(tile)>(nimg, P, Q, n, kt, a, a_img, lda, aoff, b, ldb, c, c_img, ldc);
  });
}

template <typename T>
void gather_rows_t(int64_t m, int64_t n, int64_t kt, const T* a, int64_t lda, const T* b,
                   const int64_t* boff, T beta, T* c, int64_t ldc) {
  with_tile<T>(n, [&](auto tile) {
    gather_rows<decltype(tile)>(m, n, kt, a, lda, b, boff, beta, c, ldc);
  });
}

template <typename T>
void gather_cols_t(int64_t m, int64_t n, int64_t kt, const T* a, const int64_t* aoff,
                   const T* b, int64_t ldb, const int64_t* boff, T beta, T* c, int64_t ldc) {
  with_tile<T>(n, [&](auto tile) {
    gather_cols<decltype(tile)>(m, n, kt, a, aoff, b, ldb, boff, beta, c, ldc);
  });
}

template <typename T>
void transpose_t(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd) {
  int64_t i = 0;
#if defined(EMBER_ISA_AVX2) || defined(EMBER_ISA_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 8 <= rows; i += 8) {
      int64_t j = 0;
      for (; j + 8 <= cols; j += 8) {
        __m256 r[8];
        for (int a = 0; a < 8; ++a) r[a] = _mm256_loadu_ps(src + (i + a) * lds + j);
        gemm::transpose8x8(r);
        for (int a = 0; a < 8; ++a) _mm256_storeu_ps(dst + (j + a) * ldd + i, r[a]);
      }
      for (; j < cols; ++j)
        for (int a = 0; a < 8; ++a) dst[j * ldd + i + a] = src[(i + a) * lds + j];
    }
  }
#endif
  for (; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * ldd + i] = src[i * lds + j];
}

template <typename T>
constexpr ::ember::conv::ProductKernels<T> make_table() {
  return {&shifted_t<T>, &frame_rows_t<T>, &gather_rows_t<T>, &gather_cols_t<T>,
          &transpose_t<T>, Tiles<T>::Narrow::NR};
}

}  // namespace

const ::ember::conv::ProductKernels<float>& product_kernels(float) {
  static constexpr ::ember::conv::ProductKernels<float> table = make_table<float>();
  return table;
}
const ::ember::conv::ProductKernels<double>& product_kernels(double) {
  static constexpr ::ember::conv::ProductKernels<double> table = make_table<double>();
  return table;
}

}  // namespace ember::EMBER_ISA_NS::conv
