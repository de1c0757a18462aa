// The frame backward-weight's dot-product tiles (frame_dot.h) for one ISA tier (compiled once
// per tier, isa.h). A tile of MT x NT accumulators plus MT + NT loaded vectors must fit the
// register file: 4 x 4 with AVX-512 (and the scalar generic tier), 2 x 4 with AVX2.
#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "ember/conv/frame_dot.h"
#include "ember/simd/vec.h"

namespace ember::EMBER_ISA_NS::conv {

namespace {

using ::ember::conv::FrameDotArgs;

#if defined(EMBER_ISA_AVX2)
constexpr int MT = 2, NT = 4;
#else
constexpr int MT = 4, NT = 4;
#endif

// acc[i][jn] accumulates rows a[i] (dy) against rows b[jn] (x, already shifted).
template <typename T, int M, int N>
void tile(const FrameDotArgs& g, const T* const* a, const T* const* b, T* out, int64_t out_k,
          int64_t out_c) {
  using Vt = simd::Vec<T>;
  using V = typename Vt::R;
  V acc[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) acc[i][j] = Vt::zero();
  for (int64_t seg = 0; seg < g.nseg; ++seg) {
    const int64_t base = seg * g.seg_stride;
    for (int64_t t = base; t < base + g.seg_len; t += Vt::kLanes) {
      V av[M], bv[N];
      for (int i = 0; i < M; ++i) av[i] = Vt::loadu(a[i] + t);
      for (int j = 0; j < N; ++j) bv[j] = Vt::loadu(b[j] + t);
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) acc[i][j] = Vt::fmadd(av[i], bv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) out[i * out_k + j * out_c] += Vt::sum(acc[i][j]);
}

template <typename T>
using TileFn = void (*)(const FrameDotArgs&, const T* const*, const T* const*, T*, int64_t,
                        int64_t);

template <typename T, int M, int... Ns>
constexpr std::array<TileFn<T>, sizeof...(Ns)> tile_row(std::integer_sequence<int, Ns...>) {
  return {&tile<T, M, Ns + 1>...};
}

template <typename T, int... Ms>
constexpr std::array<std::array<TileFn<T>, NT>, sizeof...(Ms)> tile_table(
    std::integer_sequence<int, Ms...>) {
  return {tile_row<T, Ms + 1>(std::make_integer_sequence<int, NT>{})...};
}

template <typename T>
void dot(const FrameDotArgs& g, const T* dyf, const T* xf, T* dw) {
  static constexpr auto table = tile_table<T>(std::make_integer_sequence<int, MT>{});
  for (int64_t o = 0; o < g.RS; ++o) {
    for (int64_t k0 = 0; k0 < g.Kg; k0 += MT) {
      const int m = static_cast<int>(std::min<int64_t>(MT, g.Kg - k0));
      const T* a[MT];
      for (int i = 0; i < m; ++i) a[i] = dyf + (k0 + i) * g.ldd;
      for (int64_t c0 = 0; c0 < g.Cg; c0 += NT) {
        const int n = static_cast<int>(std::min<int64_t>(NT, g.Cg - c0));
        const T* b[NT];
        for (int j = 0; j < n; ++j) b[j] = xf + (c0 + j) * g.ldx + g.offs[o];
        table[m - 1][n - 1](g, a, b, dw + k0 * g.ldk + c0 * g.RS + o, g.ldk, g.RS);
      }
    }
  }
}

}  // namespace

const ::ember::conv::FrameDotKernels<float>& frame_dot_kernels(float) {
  static constexpr ::ember::conv::FrameDotKernels<float> table{&dot<float>};
  return table;
}
const ::ember::conv::FrameDotKernels<double>& frame_dot_kernels(double) {
  static constexpr ::ember::conv::FrameDotKernels<double> table{&dot<double>};
  return table;
}

}  // namespace ember::EMBER_ISA_NS::conv
