// How many threads a piece of work gets, and the thread pool that runs it: the one policy
// every kernel family uses.
//
// Memory-bound passes (element-wise ops, pooling, batch norm, optimizer updates) take every
// thread from kMinParallelElements elements on: below that, waking a second thread costs
// more than it saves. Products (GEMM) run on one thread below kMinParallelMadds
// multiply-adds and from there on at least two, one more per kMaddsPerThread, up to all.
// Work that splits into parts of comparable size (the images of a batch, the columns of a
// product) takes one part per thread. The count itself is ember::get_num_threads() (cpu.h).
//
// run() executes parts on ember's own pool (parallel.cpp), not on OpenMP's: the calling
// thread works on the parts itself and waits only for parts a helper has started, never for
// a helper to wake up. A helper that is late (asleep, or its core taken by another library's
// spinning worker, or by the host of a virtual machine) makes a call slower, never stalls
// it until the helper comes. Idle helpers wait awake briefly (kSpin), then sleep; a helper
// that finds its core shared with another busy thread waits asleep for a while, so that a
// new job's wake-up preempts that thread instead of queueing behind it. A call made while
// the pool is busy (from a helper, or from a second Python thread) runs its parts on the
// calling thread.
#pragma once

#include <cstdint>
#include <type_traits>

namespace ember::parallel {

constexpr int64_t kMinParallelElements = int64_t(1) << 15;
constexpr double kMinParallelMadds = 300000.0;
constexpr double kMaddsPerThread = 524288.0;
// Products are cut into up to kPartsPerThread parts per thread where the cut costs little
// (gemm/driver.h): a thread slowed by a shared core then takes fewer parts instead of
// holding up the call.
constexpr int kPartsPerThread = 4;

// Threads for a memory-bound pass over `elements` values that splits into at most
// `max_parts` independent parts (1 when either is too small).
int threads_for_elements(int64_t elements, int64_t max_parts = INT64_MAX);

// Threads for a product of `madds` multiply-adds; below `serial_below`, one.
int threads_for_madds(double madds, double serial_below = kMinParallelMadds);

// Threads for `parts` independent parts of comparable size: min(threads, parts), >= 1.
int threads_for_parts(int64_t parts);

// Runs fn(ctx, part) for every part in [0, parts) on at most `threads` threads (the calling
// thread one of them) and returns when all are done. The first exception a part throws is
// rethrown here (the other parts still run).
void run_parts(int64_t parts, int threads, void (*fn)(void*, int64_t), void* ctx);

// body(part) for every part in [0, parts), on at most `threads` threads.
template <typename F>
void run(int64_t parts, int threads, F&& body) {
  if (parts <= 0) return;
  if (threads <= 1 || parts == 1) {
    for (int64_t p = 0; p < parts; ++p) body(p);
    return;
  }
  using Body = std::remove_reference_t<F>;
  run_parts(parts, threads,
            [](void* ctx, int64_t p) { (*static_cast<Body*>(ctx))(p); },
            const_cast<void*>(static_cast<const void*>(&body)));
}

// body(i0, i1) over [0, n) cut into `threads` contiguous ranges of equal size (at most n).
template <typename F>
void for_ranges(int64_t n, int threads, F&& body) {
  const int64_t parts = threads < n ? threads : n;
  run(parts, threads, [&](int64_t t) { body(n * t / parts, n * (t + 1) / parts); });
}

}  // namespace ember::parallel
