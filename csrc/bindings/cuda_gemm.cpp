// ember._C_cuda.gemm: the CUDA GEMM (csrc/ember/gemm/gemm.cu) on raw device pointers.
// Python passes CuPy arrays' pointers, shapes and strides (ember/cuda/kernels.py); every
// size, stride and pointer is checked here before the launch, which runs without the GIL.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include <cuda_runtime.h>

#include "ember/checked.h"
#include "ember/gemm/gemm_cuda.h"

namespace py = pybind11;

namespace ember::bind {
namespace {

void check_operand(const char* arg, uintptr_t ptr, int64_t rows, int64_t cols, int64_t ld,
                   int64_t stride, int64_t batch) {
  const std::string what = std::string("gemm: argument '") + arg + "'";
  if (ld < (cols > 0 ? cols : 1)) {
    throw std::invalid_argument(what + ": row stride " + std::to_string(ld) +
                                " is smaller than its " + std::to_string(cols) + " columns");
  }
  if (stride < 0) throw std::invalid_argument(what + ": negative batch stride");
  if (rows > 0 && cols > 0 && batch > 0 && ptr == 0) {
    throw std::invalid_argument(what + ": null device pointer for a non-empty matrix");
  }
  // The last element addressed must be indexable (the kernel uses 64-bit offsets).
  checked::add(checked::mul(batch > 0 ? batch - 1 : 0, stride, what),
               checked::mul(rows > 0 ? rows - 1 : 0, ld, what), what);
}

template <typename T>
void run(const cuda::GemmArgs& g, double alpha, uintptr_t a, uintptr_t b, double beta,
         uintptr_t c, uintptr_t stream) {
  int err;
  {
    py::gil_scoped_release release;
    err = cuda::gemm<T>(g, static_cast<T>(alpha), reinterpret_cast<const T*>(a),
                        reinterpret_cast<const T*>(b), static_cast<T>(beta),
                        reinterpret_cast<T*>(c), reinterpret_cast<void*>(stream));
  }
  if (err != 0) {
    throw std::runtime_error(std::string("gemm: CUDA launch failed: ") +
                             cudaGetErrorString(static_cast<cudaError_t>(err)));
  }
}

}  // namespace

void register_cuda_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](const std::string& dtype, bool trans_a, bool trans_b, int64_t m_, int64_t n,
         int64_t k, double alpha, uintptr_t a, int64_t lda, int64_t stride_a, uintptr_t b,
         int64_t ldb, int64_t stride_b, double beta, uintptr_t c, int64_t ldc,
         int64_t stride_c, int64_t batch, uintptr_t stream) {
        checked::extent(m_, 0, "gemm: argument 'm'");
        checked::extent(n, 0, "gemm: argument 'n'");
        checked::extent(k, 0, "gemm: argument 'k'");
        checked::extent(batch, 0, "gemm: argument 'batch'");
        if ((m_ + 31) / 32 > 65535) {
          throw std::invalid_argument("gemm: argument 'm' must be at most 2097120 rows, got " +
                                      std::to_string(m_));
        }
        const cuda::GemmArgs g{trans_a,  trans_b,  m_,       n,        k,     lda, ldb,
                               ldc,      stride_a, stride_b, stride_c, batch};
        // Stored shapes: A is m x k (k x m when transposed), B k x n (n x k), C m x n.
        check_operand("a", a, trans_a ? k : m_, trans_a ? m_ : k, lda, stride_a, batch);
        check_operand("b", b, trans_b ? n : k, trans_b ? k : n, ldb, stride_b, batch);
        check_operand("c", c, m_, n, ldc, stride_c, batch);
        if (dtype == "float32") {
          run<float>(g, alpha, a, b, beta, c, stream);
        } else if (dtype == "float64") {
          run<double>(g, alpha, a, b, beta, c, stream);
        } else {
          throw py::type_error("gemm: argument 'dtype' must be 'float32' or 'float64', got '" +
                               dtype + "'");
        }
      },
      py::arg("dtype"), py::arg("trans_a"), py::arg("trans_b"), py::arg("m"), py::arg("n"),
      py::arg("k"), py::arg("alpha"), py::arg("a"), py::arg("lda"), py::arg("stride_a"),
      py::arg("b"), py::arg("ldb"), py::arg("stride_b"), py::arg("beta"), py::arg("c"),
      py::arg("ldc"), py::arg("stride_c"), py::arg("batch"), py::arg("stream"),
      "C[i] = alpha * op(A[i]) @ op(B[i]) + beta * C[i] on device pointers (row-major, "
      "strides in elements), queued on `stream`.");
}

}  // namespace ember::bind

PYBIND11_MODULE(_C_cuda, m) {
  m.doc() = "ember's CUDA kernels (GEMM, ...) on device pointers";
  ember::bind::register_cuda_gemm(m);
}
