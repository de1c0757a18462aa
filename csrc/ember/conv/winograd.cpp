#include "ember/conv/winograd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ember/cpu.h"
#include "ember/gemm/gemm.h"
#include "ember/scratch.h"

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

namespace ember::conv {

namespace winograd::generic {
namespace {
using namespace ember::conv::winograd;
#include "ember/conv/winograd_impl.inc"
}  // namespace

void run(const Geometry& geo, const float* x, const float* U, const float* b, float* y,
         const Epilogue<float>& epi) {
  run_impl(geo, x, U, b, y, epi);
}
}  // namespace winograd::generic

namespace {

using winograd::Geometry;
using winograd::kXi;

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

void run(const Geometry& geo, const float* x, const float* U, const float* b, float* y,
         const Epilogue<float>& epi = Epilogue<float>{}) {
#ifdef EMBER_HAVE_AVX512_BUILD
  if (active_isa() == Isa::Avx512) return winograd::avx512::run(geo, x, U, b, y, epi);
#endif
#ifdef EMBER_HAVE_AVX2_BUILD
  if (active_isa() >= Isa::Avx2) return winograd::avx2::run(geo, x, U, b, y, epi);
#endif
  winograd::generic::run(geo, x, U, b, y, epi);
}

Geometry make_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t P,
                       int64_t Q, int64_t ph, int64_t pw, int64_t groups) {
  return Geometry{N, C, H, W, K, P, Q, ph, pw, groups, (P + 1) / 2, (Q + 1) / 2};
}

}  // namespace

bool winograd_applicable(const Conv2dShape& s) {
  return s.R == 3 && s.S == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 &&
         s.ph <= 2 && s.pw <= 2 && s.N > 0;
}

bool winograd_profitable(const Conv2dShape& s) {
  // Channel bounds measured on one thread (direct-equivalent GFLOPS, Winograd vs im2col):
  // 64 ch at 32x32 180 vs 104, 128 ch at 16x16 138 vs 104, 256 ch at 8x8 84 vs 112 (the 16
  // products re-pack a 256 x 256 U[xi] for every block of tiles). The transforms vectorise
  // along a row of tiles, so narrow outputs waste most lanes: at 8x8 (4 tiles per row), 64
  // channels, batch 128, 2 threads it ran 88 GFLOPS vs im2col's 166, while 16x16 (8 tiles)
  // still ran 187 vs 149; hence at least 12 output columns.
  return winograd_applicable(s) && s.Cg() >= 16 && s.Kg() >= 16 && s.Cg() <= 128 &&
         s.Kg() <= 128 && s.Q >= 12;
}

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                      float* y, const Epilogue<float>& epi) {
  const Geometry geo = make_geometry(s.N, s.C, s.H, s.W, s.K, s.P, s.Q, s.ph, s.pw, s.groups);
  const int64_t Kg = s.Kg(), Cg = s.Cg();
  std::vector<float> U(static_cast<size_t>(s.groups * kXi * Kg * Cg));
  transform_filters(geo, [&](int64_t g, int64_t k, int64_t c, int r, int ss) {
    return w[(((g * Kg + k) * Cg + c) * 3 + r) * 3 + ss];
  }, U.data());
  run(geo, x, U.data(), b, y, epi);
}

void winograd_backward_input(const Conv2dShape& s, const float* dy, const float* w,
                             float* dx) {
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
  run(geo, dy, U.data(), nullptr, dx);
}

}  // namespace ember::conv
