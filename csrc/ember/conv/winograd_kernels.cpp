// Winograd F(2x2, 3x3) input and output transforms (winograd.h) for one ISA tier (compiled
// once per tier, isa.h): loops over a row of tiles, written for the compiler to vectorise.
#include <algorithm>
#include <cstdint>

#include "ember/conv/winograd.h"

namespace ember::EMBER_ISA_NS::conv {

namespace {

using ::ember::conv::winograd::Geometry;

// Input transform of tile rows [tr0, tr1) of one channel plane xc (H x W) into
// v[xi * xi_stride + t] (t = tile index within these rows). The rows the tiles read are first
// copied, zero-padded, into `patch` and split into even and odd columns: the 4 columns of tile
// tq are then even[tq], odd[tq], even[tq + 1], odd[tq + 1], contiguous along tq, so the
// transform loops over tiles with plain vector loads and stores.
void transform_input(const Geometry& geo, const float* xc, int64_t tr0, int64_t tr1,
                     float* patch, float* __restrict v, int64_t xi_stride) {
  const int64_t rows = 2 * (tr1 - tr0) + 2, half = geo.TQ + 1, TQ = geo.TQ;
  for (int64_t i = 0; i < rows; ++i) {
    float* ev = patch + 2 * i * half;
    float* od = ev + half;
    const int64_t ih = 2 * tr0 + i - geo.ph;
    if (ih < 0 || ih >= geo.H) {
      std::fill(ev, ev + 2 * half, 0.0f);
      continue;
    }
    const float* src = xc + ih * geo.W;
    // Patch column c is input column c - pw; columns 2m and 2m + 1 are both inside the
    // input for m in [mlo, mhi), which needs no checks.
    const int64_t mlo = std::min(half, (geo.pw + 1) / 2);
    const int64_t mhi = std::max(mlo, std::min(half, (geo.W + geo.pw) / 2));
    auto edge = [&](int64_t m) {
      const int64_t ce = 2 * m - geo.pw, co = ce + 1;
      ev[m] = ce >= 0 && ce < geo.W ? src[ce] : 0.0f;
      od[m] = co >= 0 && co < geo.W ? src[co] : 0.0f;
    };
    for (int64_t m = 0; m < mlo; ++m) edge(m);
    for (int64_t m = mlo; m < mhi; ++m) {
      ev[m] = src[2 * m - geo.pw];
      od[m] = src[2 * m + 1 - geo.pw];
    }
    for (int64_t m = mhi; m < half; ++m) edge(m);
  }
  for (int64_t tr = tr0; tr < tr1; ++tr) {
    const float* e[4];
    const float* o[4];
    for (int i = 0; i < 4; ++i) {
      e[i] = patch + 2 * (2 * (tr - tr0) + i) * half;
      o[i] = e[i] + half;
    }
    float* __restrict out = v + (tr - tr0) * TQ;
#pragma GCC ivdep
    for (int64_t tq = 0; tq < TQ; ++tq) {
      float d[4][4];
      for (int i = 0; i < 4; ++i) {
        d[i][0] = e[i][tq];
        d[i][1] = o[i][tq];
        d[i][2] = e[i][tq + 1];
        d[i][3] = o[i][tq + 1];
      }
      for (int i = 0; i < 4; ++i) {
        float t[4];  // row i of B^T d
        for (int j = 0; j < 4; ++j) {
          t[j] = i == 0 ? d[0][j] - d[2][j]
               : i == 1 ? d[1][j] + d[2][j]
               : i == 2 ? d[2][j] - d[1][j]
                        : d[1][j] - d[3][j];
        }
        out[(i * 4 + 0) * xi_stride + tq] = t[0] - t[2];  // (B^T d) B
        out[(i * 4 + 1) * xi_stride + tq] = t[1] + t[2];
        out[(i * 4 + 2) * xi_stride + tq] = t[2] - t[1];
        out[(i * 4 + 3) * xi_stride + tq] = t[1] - t[3];
      }
    }
  }
}

// Output transform of tile rows [tr0, tr1) into one output channel plane yk (P x Q), from
// m[xi * xi_stride + t]; adds `bias`. Each tile row's two output rows are computed as even
// and odd columns in `rowbuf` (4 x TQ), then interleaved into y (clipped at odd P or Q).
void transform_output(const Geometry& geo, const float* __restrict m, int64_t xi_stride,
                      int64_t tr0, int64_t tr1, float bias, float* rowbuf, float* yk) {
  const int64_t TQ = geo.TQ;
  float* __restrict r0e = rowbuf;
  float* __restrict r0o = rowbuf + TQ;
  float* __restrict r1e = rowbuf + 2 * TQ;
  float* __restrict r1o = rowbuf + 3 * TQ;
  for (int64_t tr = tr0; tr < tr1; ++tr) {
    const float* mt = m + (tr - tr0) * TQ;
#pragma GCC ivdep
    for (int64_t tq = 0; tq < TQ; ++tq) {
      float s0[4], s1[4];
      for (int j = 0; j < 4; ++j) {  // A^T m
        const float m0 = mt[(0 + j) * xi_stride + tq], m1 = mt[(4 + j) * xi_stride + tq];
        const float m2 = mt[(8 + j) * xi_stride + tq], m3 = mt[(12 + j) * xi_stride + tq];
        s0[j] = m0 + m1 + m2;
        s1[j] = m1 - m2 - m3;
      }
      r0e[tq] = s0[0] + s0[1] + s0[2] + bias;  // (A^T m) A
      r0o[tq] = s0[1] - s0[2] - s0[3] + bias;
      r1e[tq] = s1[0] + s1[1] + s1[2] + bias;
      r1o[tq] = s1[1] - s1[2] - s1[3] + bias;
    }
    const int64_t oh = 2 * tr, qe = geo.Q / 2;  // qe full column pairs
    for (int r = 0; r < 2 && oh + r < geo.P; ++r) {
      float* __restrict yrow = yk + (oh + r) * geo.Q;
      const float* ev = r == 0 ? r0e : r1e;
      const float* od = r == 0 ? r0o : r1o;
      for (int64_t q = 0; q < qe; ++q) {
        yrow[2 * q] = ev[q];
        yrow[2 * q + 1] = od[q];
      }
      if (geo.Q % 2) yrow[geo.Q - 1] = ev[qe];
    }
  }
}

}  // namespace

const ::ember::conv::winograd::Kernels& winograd_kernels() {
  static constexpr ::ember::conv::winograd::Kernels table{&transform_input, &transform_output};
  return table;
}

}  // namespace ember::EMBER_ISA_NS::conv
