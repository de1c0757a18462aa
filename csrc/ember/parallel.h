// How many threads a piece of work gets: the one policy every kernel family uses.
//
// Memory-bound passes (element-wise ops, pooling, batch norm, optimizer updates) take every
// thread from kMinParallelElements elements on: below that, waking a second thread costs
// more than it saves. Products (GEMM) run on one thread below kMinParallelMadds
// multiply-adds and from there on at least two, one more per kMaddsPerThread, up to all.
// Work that splits into parts of comparable size (the images of a batch, the columns of a
// product) takes one part per thread. The count itself is ember::get_num_threads() (cpu.h).
#pragma once

#include <cstdint>

namespace ember::parallel {

constexpr int64_t kMinParallelElements = int64_t(1) << 15;
constexpr double kMinParallelMadds = 300000.0;
constexpr double kMaddsPerThread = 524288.0;

// Threads for a memory-bound pass over `elements` values that splits into at most
// `max_parts` independent parts (1 when either is too small).
int threads_for_elements(int64_t elements, int64_t max_parts = INT64_MAX);

// Threads for a product of `madds` multiply-adds; below `serial_below`, one.
int threads_for_madds(double madds, double serial_below = kMinParallelMadds);

// Threads for `parts` independent parts of comparable size: min(threads, parts), >= 1.
int threads_for_parts(int64_t parts);

}  // namespace ember::parallel
