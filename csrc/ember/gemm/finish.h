// apply_finish: a Finish<T> (gemm.h) applied to a piece of C. Internal linkage on purpose:
// each source compiled per ISA gets its own copy with its own flags.
#pragma once

#include <cstdint>

#include "ember/gemm/gemm.h"

namespace ember::gemm {
namespace {
// A rows x cols piece of C at c (row stride ldc) whose first column takes bias[col0].
template <typename T>
void apply_finish(const Finish<T>& fin, T* c, int64_t ldc, int64_t rows, int64_t cols,
                  int64_t col0) {
  if (!fin.active()) return;
  for (int64_t i = 0; i < rows; ++i) {
    T* __restrict ci = c + i * ldc;
    if (fin.bias != nullptr) {
      const T* __restrict bj = fin.bias + col0;
      for (int64_t j = 0; j < cols; ++j) ci[j] += bj[j];
    }
    if (fin.relu) {
      for (int64_t j = 0; j < cols; ++j) ci[j] = ci[j] < T(0) ? T(0) : ci[j];
    }
  }
}
}  // namespace
}  // namespace ember::gemm
