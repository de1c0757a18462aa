// The Winograd path: F(2x2, 3x3) for 3x3, stride-1, dilation-1 float32 layers (winograd.h).
//
// Summed over input channels, the element-wise products of the transformed tiles become 16
// independent GEMMs M[xi] (K x tiles) = U[xi] (K x C) @ V[xi] (C x tiles), which do 16
// multiply-adds per 4 outputs and channel instead of 36 (2.25x fewer than im2col + GEMM).
// Tiles are processed in blocks of whole tile rows sized so that V and M stay in L2; a
// block's input rows are first copied into a zero-padded patch, so the input transform needs
// no bounds checks, and the transforms (compiled per ISA tier) vectorise along a row of
// tiles. Backward-input: the same convolution of dy with the flipped, transposed filter and
// padding 2 - p. Where it wins: 3x3 layers with 16 to 128 channels on images wide enough
// for the transforms' vectors.
#include "ember/conv/winograd.h"

#include <algorithm>
#include <vector>

#include "ember/conv/common.h"
#include "ember/conv/paths.h"
#include "ember/gemm/gemm.h"
#include "ember/scratch.h"

namespace ember::conv::winograd {

namespace {

const Kernels& transforms() {
  static const IsaTables<Kernels> tables = EMBER_ISA_TABLES(conv::winograd_kernels());
  return tables.active();
}

// U[g][xi][k][c] = (G w G^T)[xi] of the 3x3 filter g3 = filt(g, k, c).
template <typename F>
void transform_filters(const Geometry& geo, F filt, float* U) {
  const int64_t Kg = geo.Kg(), Cg = geo.Cg();
  for (int64_t g = 0; g < geo.groups; ++g) {
    for (int64_t k = 0; k < Kg; ++k) {
      for (int64_t c = 0; c < Cg; ++c) {
        float f[3][3];
        for (int r = 0; r < 3; ++r)
          for (int s = 0; s < 3; ++s) f[r][s] = filt(g, k, c, r, s);
        float t[4][3];  // G f
        for (int s = 0; s < 3; ++s) {
          t[0][s] = f[0][s];
          t[1][s] = 0.5f * (f[0][s] + f[1][s] + f[2][s]);
          t[2][s] = 0.5f * (f[0][s] - f[1][s] + f[2][s]);
          t[3][s] = f[2][s];
        }
        float* u = U + (g * kXi * Kg + k) * Cg + c;
        for (int i = 0; i < 4; ++i) {  // (G f) G^T
          const float v[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]),
                              0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
          for (int j = 0; j < 4; ++j) u[(i * 4 + j) * Kg * Cg] = v[j];
        }
      }
    }
  }
}

Geometry make_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t P,
                       int64_t Q, int64_t ph, int64_t pw, int64_t groups) {
  return Geometry{N, C, H, W, K, P, Q, ph, pw, groups, (P + 1) / 2, (Q + 1) / 2};
}

// Tile rows per block: V (16 x Cg x tiles) and M (16 x Kg x tiles) about 2 MiB together, and
// at least 128 tiles so that the 16 GEMMs are wide enough.
int64_t block_tile_rows(const Geometry& geo) {
  const int64_t per_tile = kXi * (geo.Cg() + geo.Kg()) * static_cast<int64_t>(sizeof(float));
  const int64_t tiles = std::max<int64_t>(128, (int64_t(2) << 20) / per_tile);
  return std::max<int64_t>(1, tiles / geo.TQ);
}

// y = epi(conv(x, filter) + bias) with the filter already transformed into U. Threads take
// contiguous ranges of whole images when there are enough of them (no two threads write
// the same output), else blocks run one after another with threaded GEMMs.
void run(const Geometry& geo, const float* x, const float* U, const float* b, float* y,
         const Epilogue<float>& epi) {
  const Kernels& tf = transforms();
  const int64_t Cg = geo.Cg(), Kg = geo.Kg(), HW = geo.H * geo.W, PQ = geo.P * geo.Q;
  const int64_t rows_blk = block_tile_rows(geo);
  for_each_range(geo.N, [&](int64_t n0, int64_t n1, int gemm_nt, int) {
    const int64_t max_tiles = rows_blk * geo.TQ;
    float* V = scratch<float>(0, static_cast<size_t>(kXi * Cg * max_tiles));
    float* M = scratch<float>(1, static_cast<size_t>(kXi * Kg * max_tiles));
    float* patch = scratch<float>(2, static_cast<size_t>((2 * rows_blk + 2) * (2 * geo.TQ + 2)));
    float* rowbuf = scratch<float>(3, static_cast<size_t>(4 * geo.TQ));
    // Calls f(n, tr0, tr1, offset) for the image segments of tile rows [u0, u1) of the batch.
    auto segments = [&](int64_t u0, int64_t u1, auto&& f) {
      for (int64_t u = u0; u < u1;) {
        const int64_t n = u / geo.TP, tr0 = u - n * geo.TP;
        const int64_t tr1 = std::min(geo.TP, u1 - n * geo.TP);
        f(n, tr0, tr1, (u - u0) * geo.TQ);
        u += tr1 - tr0;
      }
    };
    for (int64_t g = 0; g < geo.groups; ++g) {
      const float* Ug = U + g * kXi * Kg * Cg;
      for (int64_t u0 = n0 * geo.TP; u0 < n1 * geo.TP; u0 += rows_blk) {
        const int64_t u1 = std::min(n1 * geo.TP, u0 + rows_blk);
        const int64_t tiles = (u1 - u0) * geo.TQ;
        segments(u0, u1, [&](int64_t n, int64_t tr0, int64_t tr1, int64_t at) {
          for (int64_t c = 0; c < Cg; ++c) {
            tf.transform_input(geo, x + (n * geo.C + g * Cg + c) * HW, tr0, tr1, patch,
                               V + c * tiles + at, Cg * tiles);
          }
        });
        // 16 products M[xi] (Kg x tiles) = U[xi] (Kg x Cg) @ V[xi] (Cg x tiles).
        for (int xi = 0; xi < kXi; ++xi) {
          gemm::gemm_strided_threads<float>(Kg, tiles, Cg, 1.0f, Ug + xi * Kg * Cg, Cg, 1,
                                            V + xi * Cg * tiles, tiles, 1, 0.0f,
                                            M + xi * Kg * tiles, tiles, gemm_nt);
        }
        segments(u0, u1, [&](int64_t n, int64_t tr0, int64_t tr1, int64_t at) {
          for (int64_t k = 0; k < Kg; ++k) {
            const int64_t kk = g * Kg + k;
            tf.transform_output(geo, M + k * tiles + at, Kg * tiles, tr0, tr1,
                                b != nullptr ? b[kk] : 0.0f, rowbuf, y + (n * geo.K + kk) * PQ);
            if (epi.active()) {  // the output rows just written
              const int64_t p0 = 2 * tr0, p1 = std::min(geo.P, 2 * tr1);
              apply_epilogue(epi, y, (n * geo.K + kk) * PQ + p0 * geo.Q, (p1 - p0) * geo.Q);
            }
          }
        });
      }
    }
  });
}

}  // namespace

void forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y,
             const Epilogue<float>& epi) {
  const Geometry geo = make_geometry(s.N, s.C, s.H, s.W, s.K, s.P, s.Q, s.ph, s.pw, s.groups);
  const int64_t Kg = s.Kg(), Cg = s.Cg();
  std::vector<float> U(static_cast<size_t>(s.groups * kXi * Kg * Cg));
  transform_filters(geo, [&](int64_t g, int64_t k, int64_t c, int r, int ss) {
    return w[(((g * Kg + k) * Cg + c) * 3 + r) * 3 + ss];
  }, U.data());
  run(geo, x, U.data(), b, y, epi);
}

void backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  // dx = conv(dy, w'), w'[c][k] = w[k][c] rotated by 180 degrees, padding 2 - p: the
  // "input" has s.K channels of P x Q and the "output" s.C channels of H x W.
  const Geometry geo = make_geometry(s.N, s.K, s.P, s.Q, s.C, s.H, s.W, 2 - s.ph, 2 - s.pw,
                                     s.groups);
  const int64_t Kg = s.Kg(), Cg = s.Cg();
  std::vector<float> U(static_cast<size_t>(s.groups * kXi * Kg * Cg));
  // In geo's roles the output channel is c (Cg per group) and the input channel is k.
  transform_filters(geo, [&](int64_t g, int64_t c, int64_t k, int r, int ss) {
    return w[(((g * Kg + k) * Cg + c) * 3 + (2 - r)) * 3 + (2 - ss)];
  }, U.data());
  run(geo, dy, U.data(), nullptr, dx, Epilogue<float>{});
}

}  // namespace ember::conv::winograd
