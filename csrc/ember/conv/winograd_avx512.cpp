// Winograd F(2x2, 3x3) transforms compiled for AVX512 (see winograd_impl.inc); called only
// after run-time CPU detection selects this ISA.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ember/conv/winograd.h"
#include "ember/cpu.h"
#include "ember/gemm/gemm.h"
#include "ember/scratch.h"

#ifdef EMBER_HAVE_OPENMP
#include <omp.h>
#endif

namespace ember::conv::winograd::avx512 {
namespace {
using namespace ember::conv::winograd;
#include "ember/conv/winograd_impl.inc"
}  // namespace

void run(const Geometry& geo, const float* x, const float* U, const float* b, float* y,
         const Epilogue<float>& epi) {
  run_impl(geo, x, U, b, y, epi);
}

}  // namespace ember::conv::winograd::avx512
