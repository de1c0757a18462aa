// ember._C elementwise kernels: ReLU forward/backward and add on C-contiguous float arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bindings/common.h"
#include "ember/eltwise/eltwise.h"

namespace ember::bind {

namespace {

py::array empty_like_array(const py::array& a) {
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  return py::array(a.dtype(), shape);
}

void check_same_shape(const char* op, const char* arg, const py::array& a, const char* ref_arg,
                      const py::array& ref) {
  bool same = a.ndim() == ref.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == ref.shape(i);
  if (!same) {
    throw py::value_error(std::string(op) + ": argument '" + arg + "' has shape " +
                          shape_str(a) + " but '" + ref_arg + "' has shape " + shape_str(ref) +
                          "; they must match");
  }
}

// An input of the first input's dtype, contiguity and shape.
void check_operand(const char* op, const char* arg, const py::array& a, const char* ref_arg,
                   const py::array& ref) {
  check_same_dtype(op, arg, a, ref_arg, ref);
  check_c_contiguous(op, arg, a);
  check_same_shape(op, arg, a, ref_arg, ref);
}

// Runs kernel(n, const T* in0, const T* in1..., T* out) on the arrays' data with the GIL
// released, T being float or double as `ins[0]` (already checked to be one of them).
template <typename Kernel, typename... In>
void run_float(Kernel&& kernel, py::array& out, const py::array& in0, const In&... ins) {
  const int64_t n = in0.size();
  dispatch_float(in0, [&](auto tag) {
    using T = decltype(tag);
    auto o = static_cast<T*>(out.mutable_data());
    py::gil_scoped_release nogil;
    kernel(n, static_cast<const T*>(in0.data()), static_cast<const T*>(ins.data())..., o);
  });
}

}  // namespace

void register_eltwise(py::module_& m) {
  m.def(
      "add",
      [](const py::array& a, const py::array& b, py::object out) {
        const char* op = "add";
        check_float(op, "input", a);
        check_c_contiguous(op, "input", a);
        check_operand(op, "other", b, "input", a);
        py::array o;
        if (out.is_none()) {
          o = empty_like_array(a);
        } else {
          if (!py::isinstance<py::array>(out))
            throw py::type_error("add: argument 'out' must be an array or None");
          o = out.cast<py::array>();
          check_operand(op, "out", o, "input", a);
          check_writeable(op, "out", o);
          // out may be a or b exactly (in-place accumulation), never a partial overlap
          if ((overlaps(o, a) && o.data() != a.data()) || (overlaps(o, b) && o.data() != b.data()))
            throw py::value_error("add: argument 'out' partially overlaps an input");
        }
        run_float([](auto n, auto x, auto y, auto z) { eltwise::add(n, x, y, z); }, o, a, b);
        return o;
      },
      py::arg("input"), py::arg("other"), py::arg("out") = py::none(),
      "input + other for C-contiguous float arrays of one shape and dtype, threaded; 'out' "
      "may be input or other (in place).");
  // An activation's forward: f(n, x, y); `op` names it in errors.
  auto def_forward = [&m](const char* name, const char* op, auto kernel, const char* doc) {
    m.def(
        name,
        [op, kernel](const py::array& x) {
          check_float(op, "input", x);
          check_c_contiguous(op, "input", x);
          py::array y = empty_like_array(x);
          run_float(kernel, y, x);
          return y;
        },
        py::arg("input"), doc);
  };
  def_forward("relu_forward", "relu",
              [](auto n, auto a, auto b) { eltwise::relu_forward(n, a, b); },
              "max(input, 0) of a C-contiguous float array (NaN passes), threaded.");
  def_forward("tanh_forward", "tanh",
              [](auto n, auto a, auto b) { eltwise::tanh_forward(n, a, b); },
              "tanh of a C-contiguous float array, threaded; float32 by a vectorised "
              "polynomial within a few ulps of the exact value, float64 by std::tanh.");
  // Backward of an activation from its output y: f(n, g, y, dx).
  auto def_backward = [&m](const char* name, auto kernel, const char* doc) {
    m.def(
        name,
        [name, kernel](const py::array& g, const py::array& y) {
          check_float(name, "grad_output", g);
          check_c_contiguous(name, "grad_output", g);
          check_operand(name, "output", y, "grad_output", g);
          py::array dx = empty_like_array(g);
          run_float(kernel, dx, g, y);
          return dx;
        },
        py::arg("grad_output"), py::arg("output"), doc);
  };
  def_backward("relu_backward",
               [](auto n, auto a, auto b, auto c) { eltwise::relu_backward(n, a, b, c); },
               "grad_output where ReLU's output is > 0, else 0 (C-contiguous float arrays of "
               "one shape), threaded.");
  def_backward("tanh_backward",
               [](auto n, auto a, auto b, auto c) { eltwise::tanh_backward(n, a, b, c); },
               "grad_output * (1 - output^2), output being tanh's (C-contiguous float arrays "
               "of one shape), threaded.");
  def_backward("sigmoid_backward",
               [](auto n, auto a, auto b, auto c) { eltwise::sigmoid_backward(n, a, b, c); },
               "grad_output * output * (1 - output), output being the sigmoid's (C-contiguous "
               "float arrays of one shape), threaded.");
}

}  // namespace ember::bind
