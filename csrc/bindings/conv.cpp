// ember._C.conv2d_forward / conv2d_backward_input / conv2d_backward_weight.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "bindings/common.h"
#include "ember/conv/conv2d.h"
#include "ember/conv/select.h"

namespace ember::bind {

namespace {

using Pair = std::pair<int64_t, int64_t>;

conv::Conv2dShape make_shape(const char* op, int64_t N, int64_t C, int64_t H, int64_t W,
                             int64_t K, int64_t Cg_w, int64_t R, int64_t S, Pair stride,
                             Pair padding, Pair dilation, int64_t groups) {
  check_positive_pair(op, "stride", stride, 1);
  check_positive_pair(op, "dilation", dilation, 1);
  check_positive_pair(op, "padding", padding, 0);
  if (groups < 1)
    throw py::value_error(std::string(op) + ": groups must be >= 1, got " +
                          std::to_string(groups));
  if (C % groups != 0 || K % groups != 0) {
    throw py::value_error(std::string(op) + ": in_channels " + std::to_string(C) +
                          " and out_channels " + std::to_string(K) +
                          " must be divisible by groups " + std::to_string(groups));
  }
  if (Cg_w * groups != C) {
    throw py::value_error(std::string(op) + ": input has " + std::to_string(C) +
                          " channels but weight expects " + std::to_string(Cg_w * groups) +
                          " (weight in_channels/groups = " + std::to_string(Cg_w) +
                          ", groups = " + std::to_string(groups) + ")");
  }
  conv::Conv2dShape s{N, C, H, W, K, R, S, stride.first, stride.second, padding.first,
                      padding.second, dilation.first, dilation.second, groups, 0, 0};
  try {
    s.finalize();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(op) + ": " + e.what() + " (input " +
                          std::to_string(H) + "x" + std::to_string(W) + ", kernel " +
                          std::to_string(R) + "x" + std::to_string(S) + ", padding (" +
                          std::to_string(padding.first) + ", " + std::to_string(padding.second) +
                          "), dilation (" + std::to_string(dilation.first) + ", " +
                          std::to_string(dilation.second) + "))");
  }
  checked_numel(op, {N, K, s.P, s.Q});
  checked_numel(op, {s.crs(), s.pq()});
  return s;
}

py::array conv2d_forward_py(const py::array& x, const py::array& w, const py::object& b,
                            Pair stride, Pair padding, Pair dilation, int64_t groups,
                            const py::object& residual, bool relu) {
  const char* op = "conv2d";
  check_float(op, "input", x);
  check_like(op, "input", x, "input", x, 4);
  check_like(op, "weight", w, "input", x, 4);
  const int64_t K = w.shape(0);
  if (!b.is_none()) {
    py::array ba = b.cast<py::array>();
    check_like(op, "bias", ba, "input", x, 1);
    check_shape(op, "bias", ba, {K});
  }
  auto s = make_shape(op, x.shape(0), x.shape(1), x.shape(2), x.shape(3), K, w.shape(1),
                      w.shape(2), w.shape(3), stride, padding, dilation, groups);
  py::array res;  // the residual added before the ReLU: exactly the output's shape
  if (!residual.is_none()) {
    if (!py::isinstance<py::array>(residual))
      throw py::type_error(std::string(op) + ": argument 'residual' must be a NumPy array or None");
    res = residual.cast<py::array>();
    check_like(op, "residual", res, "input", x, 4);
    check_shape(op, "residual", res, {s.N, s.K, s.P, s.Q});
  }
  py::array y = new_array(op, x.dtype(), {s.N, s.K, s.P, s.Q});
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    conv::Epilogue<T> epi;
    epi.residual = residual.is_none() ? nullptr : static_cast<const T*>(res.data());
    epi.relu = relu;
    auto xp = static_cast<const T*>(x.data());
    auto wp = static_cast<const T*>(w.data());
    auto bp = ptr_or_null<T>(b);
    auto yp = static_cast<T*>(y.mutable_data());
    py::gil_scoped_release nogil;
    conv::conv2d_forward<T>(s, xp, wp, bp, yp, epi);
  });
  return y;
}

py::array conv2d_backward_input_py(const py::array& dy, const py::array& w, Pair input_hw,
                                   Pair stride, Pair padding, Pair dilation, int64_t groups) {
  const char* op = "conv2d_backward_input";
  check_float(op, "grad_output", dy);
  check_like(op, "grad_output", dy, "grad_output", dy, 4);
  check_like(op, "weight", w, "grad_output", dy, 4);
  check_positive_pair(op, "input_size", input_hw, 1);
  const int64_t C = w.shape(1) * groups;
  auto s = make_shape(op, dy.shape(0), C, input_hw.first, input_hw.second, w.shape(0),
                      w.shape(1), w.shape(2), w.shape(3), stride, padding, dilation, groups);
  check_shape(op, "grad_output", dy, {s.N, s.K, s.P, s.Q});
  py::array dx = new_array(op, dy.dtype(), {s.N, s.C, s.H, s.W});
  dispatch_float(dy, [&](auto tag) {
    using T = decltype(tag);
    auto gp = static_cast<const T*>(dy.data());
    auto wp = static_cast<const T*>(w.data());
    auto dp = static_cast<T*>(dx.mutable_data());
    py::gil_scoped_release nogil;
    conv::conv2d_backward_input<T>(s, gp, wp, dp);
  });
  return dx;
}

py::tuple conv2d_backward_weight_py(const py::array& x, const py::array& dy, Pair kernel,
                                    Pair stride, Pair padding, Pair dilation, int64_t groups,
                                    bool bias) {
  const char* op = "conv2d_backward_weight";
  check_float(op, "input", x);
  check_like(op, "input", x, "input", x, 4);
  check_like(op, "grad_output", dy, "input", x, 4);
  check_positive_pair(op, "kernel_size", kernel, 1);
  if (groups < 1 || x.shape(1) % groups != 0) {
    throw py::value_error(std::string(op) + ": input channels " + std::to_string(x.shape(1)) +
                          " must be divisible by groups " + std::to_string(groups));
  }
  const int64_t K = dy.shape(1);
  auto s = make_shape(op, x.shape(0), x.shape(1), x.shape(2), x.shape(3), K,
                      x.shape(1) / groups, kernel.first, kernel.second, stride, padding,
                      dilation, groups);
  check_shape(op, "grad_output", dy, {s.N, s.K, s.P, s.Q});
  py::array dw = new_array(op, x.dtype(), {s.K, s.Cg(), s.R, s.S});
  py::object db = py::none();
  if (bias) db = py::array(x.dtype(), std::vector<py::ssize_t>{s.K});
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    auto xp = static_cast<const T*>(x.data());
    auto gp = static_cast<const T*>(dy.data());
    auto wp = static_cast<T*>(dw.mutable_data());
    T* bp = bias ? static_cast<T*>(db.cast<py::array>().mutable_data()) : nullptr;
    py::gil_scoped_release nogil;
    conv::conv2d_backward_weight<T>(s, xp, gp, wp, bp);
  });
  return py::make_tuple(dw, db);
}

}  // namespace

void register_conv(py::module_& m) {
  m.def("conv2d_forward", &conv2d_forward_py, py::arg("input"), py::arg("weight"),
        py::arg("bias"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("groups"), py::arg("residual") = py::none(), py::arg("relu") = false,
        "2-D convolution (zero padding), NCHW input, OIHW weight, C-contiguous arrays; "
        "optionally fused with `+ residual` (an array of the output's shape) and a ReLU, "
        "applied in that order.");
  m.def("conv2d_backward_input", &conv2d_backward_input_py, py::arg("grad_output"),
        py::arg("weight"), py::arg("input_size"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"),
        "Gradient of conv2d with respect to its input (H, W given by input_size).");
  m.def("conv2d_backward_weight", &conv2d_backward_weight_py, py::arg("input"),
        py::arg("grad_output"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("bias"),
        "Gradients of conv2d with respect to weight and (if bias) bias: (dw, db or None).");
  m.def(
      "set_conv_algo",
      [](const std::string& name) {
        conv::ConvAlgo algo;
        if (!conv::conv_algo_from_name(name.c_str(), algo)) {
          throw py::value_error(
              "set_conv_algo: argument 'name' must be 'auto', 'im2col', 'winograd', 'frame', "
              "'direct' or 'pixel', got '" + name + "'");
        }
        conv::set_conv_algo(algo);
      },
      py::arg("name"),
      "'auto': per layer and pass the algorithm the rules of csrc/ember/conv/select.cpp "
      "choose; 'im2col', 'winograd', 'frame', 'direct' or 'pixel' force that path wherever "
      "its geometry allows, else im2col. Process-wide; the forcing names are for tests and "
      "benchmarks.");
  m.def("get_conv_algo", [] { return std::string(conv::conv_algo_name(conv::get_conv_algo())); },
        "The convolution algorithm setting.");
  m.def(
      "conv2d_algorithm",
      [](const std::string& direction, std::vector<int64_t> input_shape,
         std::vector<int64_t> weight_shape, Pair stride, Pair padding, Pair dilation,
         int64_t groups, const std::string& dtype) {
        const char* op = "conv2d_algorithm";
        conv::Pass p;
        if (direction == "forward") {
          p = conv::Pass::Forward;
        } else if (direction == "backward_input") {
          p = conv::Pass::BackwardInput;
        } else if (direction == "backward_weight") {
          p = conv::Pass::BackwardWeight;
        } else {
          throw py::value_error(std::string(op) + ": argument 'direction' must be 'forward', "
                                "'backward_input' or 'backward_weight', got '" + direction +
                                "'");
        }
        if (input_shape.size() != 4 || weight_shape.size() != 4)
          throw py::value_error(std::string(op) + ": 'input_shape' and 'weight_shape' must "
                                "have 4 sizes each (N, C, H, W) and (K, C/groups, R, S)");
        if (dtype != "float32" && dtype != "float64")
          throw py::value_error(std::string(op) + ": argument 'dtype' must be 'float32' or "
                                "'float64', got '" + dtype + "'");
        const auto s = make_shape(op, input_shape[0], input_shape[1], input_shape[2],
                                  input_shape[3], weight_shape[0], weight_shape[1],
                                  weight_shape[2], weight_shape[3], stride, padding, dilation,
                                  groups);
        const conv::ConvAlgo a = dtype == "float32" ? conv::choose_algo<float>(p, s)
                                                    : conv::choose_algo<double>(p, s);
        return std::string(conv::conv_algo_name(a));
      },
      py::arg("direction"), py::arg("input_shape"), py::arg("weight_shape"), py::arg("stride"),
      py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("dtype") = "float32",
      "The algorithm ('im2col', 'winograd', 'frame', 'direct' or 'pixel') that runs the pass "
      "`direction` ('forward', 'backward_input', 'backward_weight') of this layer under the "
      "current setting, with the current thread count and ISA.");
}

}  // namespace ember::bind
