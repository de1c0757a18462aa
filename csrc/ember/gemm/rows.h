// Row cursors for the B operand of the GEMM micro-kernels. A micro-kernel walks kc rows of
// B (NR values each, read from row()); the cursor says where the next row is:
//   StridedRows: consecutive rows `ld` apart (a packed micro-panel, or B read in place);
//   OffsetRows:  row p at base + off[p] (gemm_shifted: one row per kernel tap and input
//                channel, read in place from zero-padded frames, so the whole sum over taps
//                stays in the accumulators and C is written once).
#pragma once

#include <cstdint>

namespace ember::gemm {

template <typename T>
struct StridedRows {
  const T* p;
  int64_t ld;
  const T* row() const { return p; }
  void next() { p += ld; }
};

template <typename T>
struct OffsetRows {
  const T* base;
  const int64_t* off;
  const T* row() const { return base + *off; }
  void next() { ++off; }
};

}  // namespace ember::gemm
