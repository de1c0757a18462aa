// ember._C.gemm / ember._C.bmm: C := alpha * op(A) @ op(B) + beta * C over NumPy arrays.
// Inputs may be any non-negatively strided views (transposes, slices with a leading
// dimension); outputs must have unit stride along their last dimension.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/common.h"
#include "ember/cpu.h"
#include "ember/gemm/gemm.h"

namespace ember::bind {

namespace {

struct MatView {
  int64_t rows, cols, rs, cs;  // of op(X), strides in elements
};

// op(X) of the last two dims of `x` (ndim 2 or 3).
MatView mat_view(const char* op, const char* arg, const py::array& x, bool trans) {
  const py::ssize_t d = x.ndim() - 2;
  MatView v{x.shape(d), x.shape(d + 1), elem_stride(op, arg, x, d), elem_stride(op, arg, x, d + 1)};
  if (trans) {
    std::swap(v.rows, v.cols);
    std::swap(v.rs, v.cs);
  }
  return v;
}

std::string op_shape(const MatView& v) {
  return "(" + std::to_string(v.rows) + ", " + std::to_string(v.cols) + ")";
}

py::array make_or_check_out(const char* op, py::object out, const py::array& a,
                            const std::vector<py::ssize_t>& shape, double beta) {
  if (out.is_none()) {
    if (beta != 0.0) {
      throw py::value_error(std::string(op) + ": beta != 0 needs an 'out' array to accumulate into");
    }
    return py::array(a.dtype(), shape);
  }
  if (!py::isinstance<py::array>(out)) {
    throw py::type_error(std::string(op) + ": argument 'out' must be a numpy.ndarray, got " +
                         py::str(py::type::of(out)).cast<std::string>());
  }
  py::array c = out.cast<py::array>();
  check_same_dtype(op, "out", c, "a", a);
  check_writeable(op, "out", c);
  check_ndim(op, "out", c, static_cast<py::ssize_t>(shape.size()));
  for (size_t i = 0; i < shape.size(); ++i) {
    if (c.shape(i) != shape[i]) {
      std::string want = "(";
      for (size_t j = 0; j < shape.size(); ++j) want += (j ? ", " : "") + std::to_string(shape[j]);
      throw py::value_error(std::string(op) + ": argument 'out' must have shape " + want +
                            "), got " + shape_str(c));
    }
  }
  const py::ssize_t last = c.ndim() - 1;
  if (c.shape(last) > 1 && c.strides(last) != c.itemsize()) {
    throw py::value_error(std::string(op) + ": argument 'out' must have unit stride in its last dimension");
  }
  for (py::ssize_t dim = 0; dim < c.ndim(); ++dim) elem_stride(op, "out", c, dim);
  return c;
}

template <typename T>
void run_gemm(const py::array& a, const MatView& va, const py::array& b, const MatView& vb,
              py::array& c, int64_t ldc, double alpha, double beta, const py::array* bias,
              bool relu) {
  const T* pa = static_cast<const T*>(a.data());
  const T* pb = static_cast<const T*>(b.data());
  T* pc = static_cast<T*>(c.mutable_data());
  gemm::Finish<T> fin;
  fin.bias = bias != nullptr ? static_cast<const T*>(bias->data()) : nullptr;
  fin.relu = relu;
  py::gil_scoped_release nogil;
  gemm::gemm_strided_threads<T>(va.rows, vb.cols, va.cols, static_cast<T>(alpha), pa, va.rs,
                                va.cs, pb, vb.rs, vb.cs, static_cast<T>(beta), pc, ldc,
                                get_num_threads(), fin);
}

template <typename T>
void run_bmm(const py::array& a, const MatView& va, int64_t sa, const py::array& b,
             const MatView& vb, int64_t sb, py::array& c, int64_t sc, int64_t ldc,
             int64_t batch, double alpha, double beta) {
  const T* pa = static_cast<const T*>(a.data());
  const T* pb = static_cast<const T*>(b.data());
  T* pc = static_cast<T*>(c.mutable_data());
  py::gil_scoped_release nogil;
  gemm::gemm_batched<T>(batch, va.rows, vb.cols, va.cols, static_cast<T>(alpha), pa, sa, va.rs,
                        va.cs, pb, sb, vb.rs, vb.cs, static_cast<T>(beta), pc, sc, ldc);
}

py::array gemm_py(const py::array& a, const py::array& b, py::object out,
                  bool trans_a, bool trans_b, double alpha, double beta,
                  const py::object& bias, bool relu) {
  const char* op = "gemm";
  check_float(op, "a", a);
  check_same_dtype(op, "b", b, "a", a);
  check_ndim(op, "a", a, 2);
  check_ndim(op, "b", b, 2);
  const MatView va = mat_view(op, "a", a, trans_a), vb = mat_view(op, "b", b, trans_b);
  if (va.cols != vb.rows) {
    throw py::value_error(std::string(op) + ": inner dimensions differ: op(a) is " +
                          op_shape(va) + " and op(b) is " + op_shape(vb));
  }
  py::array c = make_or_check_out(op, out, a, {va.rows, vb.cols}, beta);
  if (!out.is_none()) {
    check_no_overlap(op, "out", c, "a", a);
    check_no_overlap(op, "out", c, "b", b);
  }
  py::array bias_arr;  // added to every row of the product (a linear layer's bias)
  if (!bias.is_none()) {
    if (!py::isinstance<py::array>(bias))
      throw py::type_error(std::string(op) + ": argument 'bias' must be a NumPy array or None");
    bias_arr = bias.cast<py::array>();
    check_like(op, "bias", bias_arr, "a", a, 1);
    check_shape(op, "bias", bias_arr, {vb.cols});
    check_no_overlap(op, "out", c, "bias", bias_arr);
  }
  const py::array* bp = bias.is_none() ? nullptr : &bias_arr;
  const int64_t ldc = c.shape(0) > 1 ? c.strides(0) / c.itemsize() : vb.cols;
  if (has_dtype<float>(a)) {
    run_gemm<float>(a, va, b, vb, c, ldc, alpha, beta, bp, relu);
  } else {
    run_gemm<double>(a, va, b, vb, c, ldc, alpha, beta, bp, relu);
  }
  return c;
}

py::array bmm_py(const py::array& a, const py::array& b, py::object out,
                 bool trans_a, bool trans_b, double alpha, double beta) {
  const char* op = "bmm";
  check_float(op, "a", a);
  check_same_dtype(op, "b", b, "a", a);
  check_ndim(op, "a", a, 3);
  check_ndim(op, "b", b, 3);
  if (a.shape(0) != b.shape(0)) {
    throw py::value_error(std::string(op) + ": batch sizes differ: a has shape " + shape_str(a) +
                          " and b has shape " + shape_str(b));
  }
  const MatView va = mat_view(op, "a", a, trans_a), vb = mat_view(op, "b", b, trans_b);
  if (va.cols != vb.rows) {
    throw py::value_error(std::string(op) + ": inner dimensions differ: op(a) is " +
                          op_shape(va) + " and op(b) is " + op_shape(vb));
  }
  const int64_t batch = a.shape(0);
  py::array c = make_or_check_out(op, out, a, {batch, va.rows, vb.cols}, beta);
  if (!out.is_none()) {
    check_no_overlap(op, "out", c, "a", a);
    check_no_overlap(op, "out", c, "b", b);
  }
  const int64_t sa = elem_stride(op, "a", a, 0), sb = elem_stride(op, "b", b, 0);
  const int64_t sc = c.shape(0) > 1 ? c.strides(0) / c.itemsize() : 0;
  const int64_t ldc = c.shape(1) > 1 ? c.strides(1) / c.itemsize() : vb.cols;
  if (has_dtype<float>(a)) {
    run_bmm<float>(a, va, sa, b, vb, sb, c, sc, ldc, batch, alpha, beta);
  } else {
    run_bmm<double>(a, va, sa, b, vb, sb, c, sc, ldc, batch, alpha, beta);
  }
  return c;
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def("gemm", &gemm_py, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
        py::arg("beta") = 0.0, py::arg("bias") = py::none(), py::arg("relu") = false,
        "out := alpha * op(a) @ op(b) + beta * out for 2-D float32/float64 arrays, then "
        "+ bias (one value per column) and ReLU if given (applied to each register tile "
        "as it is finished); returns out.");
  m.def("bmm", &bmm_py, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
        py::arg("beta") = 0.0,
        "Batched gemm over the first dimension of 3-D arrays; returns out.");
}

}  // namespace ember::bind
