// The GEMM's per-ISA table (isa.h): the five-loop driver around that tier's microkernel.
#pragma once

#include <cstdint>

#include "ember/gemm/gemm.h"
#include "ember/isa.h"

namespace ember::gemm {

template <typename T>
struct Kernels {
  // C := alpha * A @ B + beta * C on `nthreads` threads (driver.h), then `fin`.
  void (*run)(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
              const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc, int nthreads,
              const Finish<T>& fin);
};

}  // namespace ember::gemm

EMBER_ISA_DECLARE(namespace gemm {
  const ::ember::gemm::Kernels<float>& kernels(float);
  const ::ember::gemm::Kernels<double>& kernels(double);
})
