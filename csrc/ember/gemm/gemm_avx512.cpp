// AVX-512 GEMM path. Compiled with -mavx512f -mavx512vl -mavx512dq -mavx512bw (and AVX2/FMA)
// and only called after run-time detection (ember::active_isa() == Isa::Avx512).
//
// Register tile: 14 rows x 2 zmm (float 14x32, double 14x16): 28 accumulators, 2 registers
// for the B row and 1 for the broadcast A value, 31 of the 32 zmm registers. Per k step the
// tile issues 28 FMAs against 2 loads and 14 broadcasts, so the two FMA ports, not the load
// ports, set the pace. Measured on the 2-core Xeon (Sapphire Rapids class) dev machine,
// 1024^3 float32 on one thread (GFLOPS, % of the measured AVX-512 FMA peak): 14x32 was the
// best of 14x32, 12x32 and 6x64 (see docs/results.md for the current table).
//
// Blocks: KC=256 keeps one 256x32 B micro-panel (32 KiB) in the 48 KiB L1 while 14-row A
// micro-panels stream past it from the 2 MiB L2, which holds the MC x KC packed A block.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

#include "ember/gemm/gemm.h"
#include "ember/gemm/rows.h"

namespace ember::gemm::avx512 {
namespace {

#include "ember/gemm/gemm_x86.h"

#include "ember/simd_avx512.h"

// NV vectors per tile row: 2 (the GEMM's 14x32 float tile) or 1 (14x16, for the direct
// convolution paths when the output channels are a multiple of 16 but not of 32).
template <typename Scalar, int MC_, int KC_, int NC_, int NV = 2>
struct Kernel : MicroEntries<Kernel<Scalar, MC_, KC_, NC_, NV>, Scalar> {
  using T = Scalar;
  using V = Zmm<T>;
  using R = typename V::R;
  static constexpr int kW = V::kLanes;
  static constexpr int MR = 14, NR = NV * kW, MC = MC_, KC = KC_, NC = NC_;
  static constexpr int64_t kDirectBMaxM = 10 * MR;  // 140 rows: see gemm_serial

  // C[0:ROWS, 0:NR] := alpha * A @ B + beta * C. The accumulators are named variables (GCC
  // keeps an array of vectors in memory and reloads it every step).
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
#define EMBER_ROW(I)                              \
  if constexpr (ROWS > I) {                       \
    const R ai = V::set1(*a.at(I));                  \
    c##I##0 = V::fmadd(ai, b0, c##I##0);          \
    if constexpr (NV > 1)                         \
      c##I##1 = V::fmadd(ai, b1, c##I##1);        \
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

using KernelF32 = Kernel<float, 168, 256, 4096>;
using KernelF64 = Kernel<double, 84, 256, 4096>;
using KernelF32Narrow = Kernel<float, 168, 256, 4096, 1>;
using KernelF64Narrow = Kernel<double, 84, 256, 4096, 1>;
#define EMBER_GEMM_HAS_NARROW 1

#include "ember/gemm/gemm_driver.inc"

}  // namespace

#include "ember/gemm/gemm_entry.inc"

}  // namespace ember::gemm::avx512
