// The portable microkernel: plain C++ MR x NR tiles that the compiler may auto-vectorise for
// the baseline ISA. For sources compiled per ISA (isa.h), generic tier.
#pragma once

#include <cstdint>

#include "ember/gemm/micro_entries.h"

namespace ember::EMBER_ISA_NS::gemm {

template <typename Scalar, int MR_, int NR_, int MC_, int KC_, int NC_>
struct RefKernel : MicroEntries<RefKernel<Scalar, MR_, NR_, MC_, KC_, NC_>, Scalar> {
  using T = Scalar;
  static constexpr int MR = MR_, NR = NR_, MC = MC_, KC = KC_, NC = NC_;
  static constexpr int64_t kDirectBMaxM = 8 * MR;

  template <int ROWS, typename ARows, typename BRows>
  static void micro_rows(int64_t kc, ARows a, BRows b, T* c, int64_t ldc, T alpha, T beta) {
    T acc[ROWS][NR] = {};
    for (int64_t p = 0; p < kc; ++p, a.next(), b.next()) {
      const T* bp = b.row();
      for (int i = 0; i < ROWS; ++i) {
        const T ai = *a.at(i);
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
      }
    }
    for (int i = 0; i < ROWS; ++i) {
      T* ci = c + i * ldc;
      if (beta == T(0)) {
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j];
      } else {
        for (int j = 0; j < NR; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
      }
    }
  }
  // The driver's portable packing loops are all this tier uses.
  static bool pack_a_fast(const T*, int64_t, int64_t, int64_t, T*) { return false; }
  static bool pack_b_fast(const T*, int64_t, int64_t, int64_t, T*) { return false; }
};

}  // namespace ember::EMBER_ISA_NS::gemm
