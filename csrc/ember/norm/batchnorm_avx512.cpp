// Batch-norm kernels compiled for AVX512 (see batchnorm_impl.inc); called only after
// run-time CPU detection selects this ISA.
#include <algorithm>
#include <cmath>

#include "ember/cpu.h"
#include "ember/norm/batchnorm.h"

namespace ember::norm::avx512 {
#include "ember/norm/batchnorm_impl.inc"
}  // namespace ember::norm::avx512
