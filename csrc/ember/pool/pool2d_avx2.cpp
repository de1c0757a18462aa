// Pooling kernels compiled for AVX2 (see pool2d_impl.inc); called only after run-time
// CPU detection selects this ISA.
#include <algorithm>
#include <limits>

#include "ember/cpu.h"
#include "ember/pool/pool2d.h"

namespace ember::pool::avx2 {
#include "ember/pool/pool2d_impl.inc"
}  // namespace ember::pool::avx2
