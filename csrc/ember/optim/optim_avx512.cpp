// Fused optimizer kernels compiled for AVX512 (see optim_impl.inc); called only after
// run-time CPU detection selects this ISA.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "ember/cpu.h"
#include "ember/optim/optim.h"

namespace ember::optim::avx512 {
#include "ember/optim/optim_impl.inc"
}  // namespace ember::optim::avx512
