// ember._C: one register_<area>() per binding file, called from a single module definition.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace ember::bind {
void register_system(py::module_& m);
void register_gemm(py::module_& m);
void register_conv(py::module_& m);
void register_pool(py::module_& m);
void register_norm(py::module_& m);
void register_optim(py::module_& m);
void register_eltwise(py::module_& m);
void register_loss(py::module_& m);
}  // namespace ember::bind

PYBIND11_MODULE(_C, m) {
  m.doc() = "ember's C++ kernels (GEMM, convolution, pooling, normalisation, ...)";
  ember::bind::register_system(m);
  ember::bind::register_gemm(m);
  ember::bind::register_conv(m);
  ember::bind::register_pool(m);
  ember::bind::register_norm(m);
  ember::bind::register_optim(m);
  ember::bind::register_eltwise(m);
  ember::bind::register_loss(m);
}
