#include "ember/cpu.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
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

namespace {

Isa detect_isa() {
  const char* env = std::getenv("EMBER_ISA");
  if (env != nullptr && (std::strcmp(env, "generic") == 0 || std::strcmp(env, "GENERIC") == 0)) {
    return Isa::Generic;
  }
  if (built_with_avx2() && cpu_supports_avx2_fma()) return Isa::Avx2;
  return Isa::Generic;
}

std::atomic<int>& isa_slot() {
  static std::atomic<int> slot{static_cast<int>(detect_isa())};
  return slot;
}

}  // namespace

Isa active_isa() { return static_cast<Isa>(isa_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  if (isa == Isa::Avx2 && !(built_with_avx2() && cpu_supports_avx2_fma())) {
    throw std::invalid_argument(
        "set_isa: the avx2 path is not available (CPU lacks AVX2/FMA or the build has no AVX2 code)");
  }
  isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) { return isa == Isa::Avx2 ? "avx2" : "generic"; }

namespace {
// One process-wide thread count, read by every parallel region through a num_threads clause,
// so that it holds for kernels called from any Python thread (omp_set_num_threads is
// per-calling-thread). Starts from OpenMP's default, which honours OMP_NUM_THREADS.
std::atomic<int>& thread_slot() {
#ifdef EMBER_HAVE_OPENMP
  static std::atomic<int> slot{omp_get_max_threads()};
#else
  static std::atomic<int> slot{1};
#endif
  return slot;
}
}  // namespace

int get_num_threads() { return thread_slot().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: expected n >= 1, got " + std::to_string(n));
#ifdef EMBER_HAVE_OPENMP
  thread_slot().store(n, std::memory_order_relaxed);
#endif
}

bool have_openmp() {
#ifdef EMBER_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

const char* compiler_name() { return EMBER_COMPILER; }

}  // namespace ember
