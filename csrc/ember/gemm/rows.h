// Step cursors for the operands of the GEMM microkernels. A microkernel walks kc steps; at
// each it reads NR values of B from row() and MR values of A, value i from at(i); the
// cursor says where step p's values are:
//   StridedRows: step p's values contiguous, steps `ld` apart (a packed micro-panel, or an
//                operand read in place along its contiguous dimension);
//   OffsetRows:  step p's values contiguous at base + off[p] (rows read in place at listed
//                offsets: one row per kernel tap and channel of a zero-padded frame, so a
//                whole sum over taps stays in the accumulators and C is written once);
//   AcrossRows:  value i of step p at p0 + i * ld + p: the A operand read in place from a
//                row-major matrix (rows ld apart), no packed copy.
// For sources compiled per ISA (isa.h).
#pragma once

#include <cstdint>

namespace ember::EMBER_ISA_NS::gemm {

template <typename T>
struct StridedRows {
  const T* p;
  int64_t ld;
  const T* row() const { return p; }
  const T* at(int64_t i) const { return p + i; }
  void next() { p += ld; }
};

template <typename T>
struct OffsetRows {
  const T* base;
  const int64_t* off;
  const T* row() const { return base + *off; }
  const T* at(int64_t i) const { return base + *off + i; }
  void next() { ++off; }
};

template <typename T>
struct AcrossRows {
  const T* p;
  int64_t ld;
  const T* at(int64_t i) const { return p + i * ld; }
  void next() { ++p; }
};

}  // namespace ember::EMBER_ISA_NS::gemm
