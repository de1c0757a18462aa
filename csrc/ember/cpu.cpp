#include "ember/cpu.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include <thread>

#ifdef __linux__
#include <sched.h>
#endif

#ifndef EMBER_COMPILER
#define EMBER_COMPILER "unknown"
#endif

namespace ember {

bool cpu_supports_avx2_fma() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  // __builtin_cpu_supports also checks that the OS saves the YMM state (OSXSAVE/XGETBV).
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool built_with_avx2() {
#ifdef EMBER_HAVE_AVX2_BUILD
  return true;
#else
  return false;
#endif
}

bool cpu_supports_avx512() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  // libgcc sets the avx512 features only when XGETBV shows the OS saves the ZMM state.
  __builtin_cpu_init();
  return cpu_supports_avx2_fma() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

bool built_with_avx512() {
#ifdef EMBER_HAVE_AVX512_BUILD
  return true;
#else
  return false;
#endif
}

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
    case Isa::Avx2: return built_with_avx2() && cpu_supports_avx2_fma();
    case Isa::Avx512: return built_with_avx512() && cpu_supports_avx512();
  }
  return false;
}

namespace {

bool env_is(const char* env, const char* lower) {
  for (; *env && *lower; ++env, ++lower) {
    if (std::tolower(static_cast<unsigned char>(*env)) != *lower) return false;
  }
  return *env == 0 && *lower == 0;
}

Isa detect_isa() {
  Isa cap = Isa::Avx512;
  if (const char* env = std::getenv("EMBER_ISA")) {
    if (env_is(env, "generic")) cap = Isa::Generic;
    else if (env_is(env, "avx2")) cap = Isa::Avx2;
  }
  for (int t = static_cast<int>(cap); t > 0; --t) {
    if (isa_available(static_cast<Isa>(t))) return static_cast<Isa>(t);
  }
  return Isa::Generic;
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{static_cast<int>(detect_isa())};
  return slot;
}

}  // namespace

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  if (!isa_available(isa)) {
    throw std::invalid_argument(std::string("set_isa: the ") + isa_name(isa) +
                                " path is not available (the CPU lacks it or the build has no "
                                "code for it)");
  }
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

namespace {
// The CPUs this process may run on (its affinity mask on Linux, as taskset and cgroups set it).
int usable_cpus() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

// The default thread count: OMP_NUM_THREADS when it is a positive number (the variable users
// know for this), else the usable CPUs; capped at kMaxThreads.
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);  // "4" or the first of a list "4,2"
    if (end != env && v > 0) return static_cast<int>(std::min<long>(v, kMaxThreads));
  }
  return std::min(usable_cpus(), kMaxThreads);
}

// One process-wide thread count, read by every parallel call, so that it holds for kernels
// called from any Python thread.
std::atomic<int>& thread_slot() {
  static std::atomic<int> slot{default_threads()};
  return slot;
}
}  // namespace

int get_num_threads() { return thread_slot().load(std::memory_order_relaxed); }

void set_num_threads(int64_t n) {
  if (n < 1 || n > kMaxThreads) {
    throw std::invalid_argument("set_num_threads: argument 'n' must be in [1, " +
                                std::to_string(kMaxThreads) + "], got " + std::to_string(n));
  }
  thread_slot().store(static_cast<int>(n), std::memory_order_relaxed);
}

const char* compiler_name() { return EMBER_COMPILER; }

}  // namespace ember
