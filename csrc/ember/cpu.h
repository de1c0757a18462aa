// CPU features, ISA selection and thread control shared by every kernel family.
//
// The ISA path is chosen once, on first use: the widest of AVX-512 (F+VL+DQ+BW), AVX2+FMA and
// portable C++ that both the CPU (and OS) support and the build contains. Setting the
// environment variable EMBER_ISA=generic|avx2|avx512 before import caps the choice at that
// tier (EMBER_ISA=generic forces the portable path); set_isa() switches at run time (tests
// use it to compare the paths). Tiers are ordered: kernels written for AVX2 also run when
// the active tier is AVX-512 (`active_isa() >= Isa::Avx2`).
#pragma once

#include <cstdint>
#include <string>

namespace ember {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

// True when this CPU (and OS) can run AVX2+FMA code.
bool cpu_supports_avx2_fma();
// True when the AVX2 translation units were compiled into this build.
bool built_with_avx2();
// True when this CPU (and OS) can run AVX-512 F/VL/DQ/BW code (the ZMM state is enabled).
bool cpu_supports_avx512();
// True when the AVX-512 translation units were compiled into this build.
bool built_with_avx512();
// True when `isa` can run here (CPU support and compiled in).
bool isa_available(Isa isa);
// The ISA path kernels dispatch to now.
Isa active_isa();
// Select an ISA path; throws std::invalid_argument if it cannot run here.
void set_isa(Isa isa);
const char* isa_name(Isa isa);

// Threads used by parallel kernels (ember's pool, parallel.h): by default OMP_NUM_THREADS or
// the CPUs the process may use. At most kMaxThreads: a thread per element of an absurd
// count would exhaust the process.
constexpr int kMaxThreads = 1024;
int get_num_threads();
// Throws std::invalid_argument unless 1 <= n <= kMaxThreads.
void set_num_threads(int64_t n);
const char* compiler_name();

}  // namespace ember
