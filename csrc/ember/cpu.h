// CPU features, ISA selection and thread control shared by every kernel family.
//
// The ISA path is chosen once, on first use: AVX2+FMA when the CPU and OS support it and the
// build contains the AVX2 translation units, else the portable C++ path. Setting the
// environment variable EMBER_ISA=generic before import forces the portable path;
// set_isa() switches at run time (used by tests to compare the two paths).
#pragma once

#include <cstdint>
#include <string>

namespace ember {

enum class Isa { Generic = 0, Avx2 = 1 };

// True when this CPU (and OS) can run AVX2+FMA code.
bool cpu_supports_avx2_fma();
// True when the AVX2 translation units were compiled into this build.
bool built_with_avx2();
// The ISA path kernels dispatch to now.
Isa active_isa();
// Select an ISA path; throws std::invalid_argument if it cannot run here.
void set_isa(Isa isa);
const char* isa_name(Isa isa);

// Threads used by parallel kernels (OpenMP). Without OpenMP these are fixed at 1.
int get_num_threads();
void set_num_threads(int n);
bool have_openmp();
const char* compiler_name();

}  // namespace ember
