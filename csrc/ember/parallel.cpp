// The thread policy's numbers and ember's thread pool (parallel.h).
#include "ember/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <sched.h>
#if defined(__linux__)
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "ember/cpu.h"

namespace ember::parallel {

int threads_for_elements(int64_t elements, int64_t max_parts) {
  const int nt = get_num_threads();
  if (nt <= 1 || elements < kMinParallelElements || max_parts < 2) return 1;
  return static_cast<int>(std::min<int64_t>(nt, max_parts));
}

int threads_for_madds(double madds, double serial_below) {
  const int nt = get_num_threads();
  if (nt <= 1 || madds < serial_below) return 1;
  const int64_t by_work = static_cast<int64_t>(madds / kMaddsPerThread);
  return static_cast<int>(std::max<int64_t>(2, std::min<int64_t>(nt, by_work)));
}

int threads_for_parts(int64_t parts) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), parts)));
}

namespace {

using Clock = std::chrono::steady_clock;

// How long an idle helper waits awake for the next job before it sleeps: long enough to
// stay awake across the Python between a training step's kernels.
constexpr auto kSpin = std::chrono::microseconds(2000);
// A wait round that took longer than this means the helper's core went to another thread
// (another library's spinning worker, another process). A helper that shares its core
// sleeps at once: waking a sleeper preempts the other thread, while a runnable spinner
// waits for the scheduler's next time slice.
constexpr auto kDescheduled = std::chrono::microseconds(100);
// How long a helper stays in its shared mode after it found its core shared: longer than
// other libraries' workers stay awake after a call.
constexpr auto kShared = std::chrono::milliseconds(250);
// How long a helper in shared mode waits awake before it sleeps: enough to bridge the
// Python between the kernels of one training step, short enough to leave the core to the
// other library's next call.
constexpr auto kSharedSpin = std::chrono::microseconds(200);
// The time slice a helper asks for (request_short_slice): the shortest Linux grants.
constexpr auto kSlice = std::chrono::nanoseconds(100000);

// Asks the scheduler for a short time slice for the calling thread. Linux's EEVDF scheduler
// (6.12 on) lets a waking thread with a shorter slice than the running one preempt it, so a
// helper woken for a job takes its core from a thread that spins there (another library's
// idle worker) at once instead of after that thread's slice. Kernels without custom slices
// ignore the request or refuse it; either way nothing else changes.
void request_short_slice() {
#if defined(__linux__) && defined(SYS_sched_setattr)
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } attr{};
  attr.size = sizeof(attr);
  attr.policy = SCHED_OTHER;
  attr.runtime = kSlice.count();
  (void)syscall(SYS_sched_setattr, 0, &attr, 0u);
#endif
}

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

struct Job {
  void (*fn)(void*, int64_t);
  void* ctx;
  int64_t parts;
  int helpers;  // pool threads allowed to take parts (helper index < helpers)
  std::atomic<int64_t> next{0}, done{0};
  std::mutex error_mu;
  std::exception_ptr error;

  // Runs parts until none is left.
  void work() {
    for (;;) {
      const int64_t p = next.fetch_add(1, std::memory_order_relaxed);
      if (p >= parts) return;
      try {
        fn(ctx, p);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
      done.fetch_add(1, std::memory_order_release);
    }
  }
};

class Pool {
 public:
  void run(Job& job, int threads) {
    grow(threads - 1);
    job.helpers = std::min<int>(threads - 1, static_cast<int>(helpers_.size()));
    current_.store(&job, std::memory_order_seq_cst);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
    job.work();
    // Parts a helper has taken are running: wait for those, not for helpers to arrive.
    while (job.done.load(std::memory_order_acquire) < job.parts) std::this_thread::yield();
    // No helper may still be looking at the job when it goes out of scope.
    current_.store(nullptr, std::memory_order_seq_cst);
    while (looking_.load(std::memory_order_seq_cst) != 0) relax();
  }

  // One job at a time: a caller that finds the pool taken runs its parts itself.
  bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
  void release() { busy_.store(false, std::memory_order_release); }

 private:
  void grow(int want) {
    while (static_cast<int>(helpers_.size()) < want) {
      const int index = static_cast<int>(helpers_.size());
      try {
        std::thread t([this, index] {
#if defined(__linux__)
          pthread_setname_np(pthread_self(), "ember-pool");  // as top and gdb show it
#endif
          request_short_slice();
          loop(index);
        });
        t.detach();  // the pool lives as long as the process
      } catch (const std::system_error&) {
        return;  // no more threads to be had: the parts run on fewer
      }
      helpers_.push_back(index);
    }
  }

  void loop(int index) {
    uint64_t seen = epoch_.load(std::memory_order_acquire);
    Clock::time_point shared_until{};  // shared mode (wait_for_work)
    for (;;) {
      wait_for_work(seen, shared_until);
      seen = epoch_.load(std::memory_order_acquire);
      looking_.fetch_add(1, std::memory_order_seq_cst);
      Job* job = current_.load(std::memory_order_seq_cst);
      if (job != nullptr && index < job->helpers) {
        job->work();
      }
      looking_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  // Waits for the epoch to move on. Awake (pausing) for up to kSpin, then asleep. A helper
  // whose core is shared with another busy thread (a round of its wait took longer than
  // kDescheduled) is in shared mode for kShared and then waits awake only for kSharedSpin:
  // a sleeper woken for a job preempts the other thread at once, while a runnable spinner
  // waits for the scheduler's next time slice. It never calls sched_yield, for the same
  // reason.
  void wait_for_work(uint64_t seen, Clock::time_point& shared_until) {
    const auto start = Clock::now();
    auto last = start;
    auto spin = start < shared_until ? kSharedSpin : kSpin;
    bool awake = true;
    while (awake && epoch_.load(std::memory_order_acquire) == seen) {
      for (int i = 0; i < 16; ++i) relax();
      const auto now = Clock::now();
      if (now - last > kDescheduled) {
        shared_until = now + kShared;
        spin = kSharedSpin;
      }
      awake = now - start <= spin && now - last <= kDescheduled;
      last = now;
    }
    if (awake) return;
    std::unique_lock<std::mutex> lock(mu_);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    cv_.wait(lock, [&] { return epoch_.load(std::memory_order_seq_cst) != seen; });
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  }

  std::vector<int> helpers_;  // grown only by the thread holding busy_
  std::atomic<Job*> current_{nullptr};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> sleepers_{0}, looking_{0};
  std::atomic<bool> busy_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: its detached helpers outlive main()
  return *p;
}

}  // namespace

void run_parts(int64_t parts, int threads, void (*fn)(void*, int64_t), void* ctx) {
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.parts = parts;
  job.helpers = 0;
  Pool& p = pool();
  if (threads > 1 && parts > 1 && p.try_acquire()) {
    try {
      p.run(job, static_cast<int>(std::min<int64_t>(threads, parts)));
    } catch (...) {
      p.release();
      throw;
    }
    p.release();
  } else {
    job.work();  // the pool is busy (a nested call, or another thread's): run here
  }
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace ember::parallel
