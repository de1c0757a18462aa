// ember._C pooling: max (with indices), average, adaptive average/max, and their backwards.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>

#include "bindings/common.h"
#include "ember/pool/pool2d.h"

namespace ember::bind {

namespace {

using Pair = std::pair<int64_t, int64_t>;

pool::Pool2dShape make_shape(const char* op, const py::array& x4, Pair in_hw, Pair kernel,
                             Pair stride, Pair padding, Pair dilation, bool ceil_mode) {
  pool::Pool2dShape s{x4.shape(0), x4.shape(1), in_hw.first, in_hw.second, kernel.first,
                      kernel.second, stride.first, stride.second, padding.first,
                      padding.second, dilation.first, dilation.second, ceil_mode, 0, 0};
  s.finalize(op);  // std::invalid_argument -> ValueError naming the op
  return s;
}

void check_input(const char* op, const char* arg, const py::array& x) {
  check_float(op, arg, x);
  check_like(op, arg, x, arg, x, 4);
}

// Adaptive pooling: an empty plane has nothing to pool, and the output size must be a real
// extent. The batch may be empty, and (as torch decides) average pooling's channels too.
void check_adaptive(const char* op, const py::array& x, Pair out_hw, bool channels_may_be_empty) {
  if ((x.shape(1) == 0 && !channels_may_be_empty) || x.shape(2) == 0 || x.shape(3) == 0) {
    throw py::value_error(std::string(op) + ": expected an input with non-zero " +
                          (channels_may_be_empty ? "" : "channels, ") +
                          "height and width (the batch may be empty), got shape " +
                          shape_str(x));
  }
  check_positive_pair(op, "output_size", out_hw, 1);
  if (out_hw.first > checked::kMaxExtent || out_hw.second > checked::kMaxExtent)
    throw py::value_error(std::string(op) + ": argument 'output_size' must be at most 2^40");
  checked_numel(op, {x.shape(0), x.shape(1), out_hw.first, out_hw.second});
}

py::array new_like(const char* op, const py::array& ref, std::vector<py::ssize_t> shape) {
  return new_array(op, ref.dtype(), shape);
}

void check_indices(const char* op, const py::array& idx, const py::array& dy) {
  if (!has_dtype<int64_t>(idx)) {
    throw py::type_error(std::string(op) + ": argument 'indices' must be int64, got " +
                         dtype_str(idx));
  }
  check_c_contiguous(op, "indices", idx);
  check_shape(op, "indices", idx, {dy.shape(0), dy.shape(1), dy.shape(2), dy.shape(3)});
}

}  // namespace

void register_pool(py::module_& m) {
  m.def(
      "max_pool2d_forward",
      [](const py::array& x, Pair kernel, Pair stride, Pair padding, Pair dilation,
         bool ceil_mode) {
        const char* op = "max_pool2d";
        check_input(op, "input", x);
        auto s = make_shape(op, x, {x.shape(2), x.shape(3)}, kernel, stride, padding,
                            dilation, ceil_mode);
        py::array y = new_like(op, x, {s.N, s.C, s.P, s.Q});
        py::array idx = new_array(op, py::dtype::of<int64_t>(), {s.N, s.C, s.P, s.Q});
        dispatch_float(x, [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto yp = static_cast<T*>(y.mutable_data());
          auto ip = static_cast<int64_t*>(idx.mutable_data());
          py::gil_scoped_release nogil;
          pool::max_pool2d_forward<T>(s, xp, yp, ip);
        });
        return py::make_tuple(y, idx);
      },
      py::arg("input"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("dilation"), py::arg("ceil_mode"),
      "Max pooling: (output, indices) with indices flat within each H x W plane.");

  m.def(
      "pool2d_index_backward",
      [](const py::array& dy, const py::array& idx, Pair input_hw) {
        const char* op = "max_pool2d_backward";
        check_input(op, "grad_output", dy);
        check_indices(op, idx, dy);
        check_positive_pair(op, "input_size", input_hw, 1);
        checked_numel(op, {dy.shape(0), dy.shape(1), input_hw.first, input_hw.second});
        const int64_t planes = dy.shape(0) * dy.shape(1);
        const int64_t in_plane = checked_numel(op, {input_hw.first, input_hw.second});
        const int64_t out_plane = dy.shape(2) * dy.shape(3);
        py::array dx = new_like(op, dy, {dy.shape(0), dy.shape(1), input_hw.first, input_hw.second});
        dispatch_float(dy, [&](auto zero) {
          using T = decltype(zero);
          auto gp = static_cast<const T*>(dy.data());
          auto ip = static_cast<const int64_t*>(idx.data());
          auto dp = static_cast<T*>(dx.mutable_data());
          py::gil_scoped_release nogil;
          pool::index_pool_backward<T>(planes, in_plane, out_plane, gp, ip, dp);
        });
        return dx;
      },
      py::arg("grad_output"), py::arg("indices"), py::arg("input_size"),
      "Backward of max / adaptive max pooling: scatter grad_output to the argmax positions.");

  m.def(
      "avg_pool2d_forward",
      [](const py::array& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode,
         bool count_include_pad) {
        const char* op = "avg_pool2d";
        check_input(op, "input", x);
        auto s = make_shape(op, x, {x.shape(2), x.shape(3)}, kernel, stride, padding, {1, 1},
                            ceil_mode);
        py::array y = new_like(op, x, {s.N, s.C, s.P, s.Q});
        dispatch_float(x, [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto yp = static_cast<T*>(y.mutable_data());
          py::gil_scoped_release nogil;
          pool::avg_pool2d_forward<T>(s, count_include_pad, xp, yp);
        });
        return y;
      },
      py::arg("input"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
      py::arg("ceil_mode"), py::arg("count_include_pad"), "Average pooling.");

  m.def(
      "avg_pool2d_backward",
      [](const py::array& dy, Pair input_hw, Pair kernel, Pair stride, Pair padding,
         bool ceil_mode, bool count_include_pad) {
        const char* op = "avg_pool2d_backward";
        check_input(op, "grad_output", dy);
        check_positive_pair(op, "input_size", input_hw, 1);
        auto s = make_shape(op, dy, input_hw, kernel, stride, padding, {1, 1}, ceil_mode);
        check_shape(op, "grad_output", dy, {s.N, s.C, s.P, s.Q});
        py::array dx = new_like(op, dy, {s.N, s.C, s.H, s.W});
        dispatch_float(dy, [&](auto zero) {
          using T = decltype(zero);
          auto gp = static_cast<const T*>(dy.data());
          auto dp = static_cast<T*>(dx.mutable_data());
          py::gil_scoped_release nogil;
          pool::avg_pool2d_backward<T>(s, count_include_pad, gp, dp);
        });
        return dx;
      },
      py::arg("grad_output"), py::arg("input_size"), py::arg("kernel_size"), py::arg("stride"),
      py::arg("padding"), py::arg("ceil_mode"), py::arg("count_include_pad"),
      "Gradient of average pooling with respect to its input.");

  m.def(
      "adaptive_avg_pool2d_forward",
      [](const py::array& x, Pair out_hw) {
        const char* op = "adaptive_avg_pool2d";
        check_input(op, "input", x);
        check_adaptive(op, x, out_hw, true);
        py::array y = new_like(op, x, {x.shape(0), x.shape(1), out_hw.first, out_hw.second});
        dispatch_float(x, [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto yp = static_cast<T*>(y.mutable_data());
          const int64_t planes = x.shape(0) * x.shape(1), H = x.shape(2), W = x.shape(3);
          py::gil_scoped_release nogil;
          pool::adaptive_avg_pool2d_forward<T>(planes, H, W, out_hw.first, out_hw.second, xp, yp);
        });
        return y;
      },
      py::arg("input"), py::arg("output_size"), "Adaptive average pooling to output_size.");

  m.def(
      "adaptive_avg_pool2d_backward",
      [](const py::array& dy, Pair input_hw) {
        const char* op = "adaptive_avg_pool2d_backward";
        check_input(op, "grad_output", dy);
        check_positive_pair(op, "input_size", input_hw, 1);
        checked_numel(op, {dy.shape(0), dy.shape(1), input_hw.first, input_hw.second});
        py::array dx = new_like(op, dy, {dy.shape(0), dy.shape(1), input_hw.first, input_hw.second});
        dispatch_float(dy, [&](auto zero) {
          using T = decltype(zero);
          auto gp = static_cast<const T*>(dy.data());
          auto dp = static_cast<T*>(dx.mutable_data());
          const int64_t planes = dy.shape(0) * dy.shape(1), P = dy.shape(2), Q = dy.shape(3);
          py::gil_scoped_release nogil;
          pool::adaptive_avg_pool2d_backward<T>(planes, input_hw.first, input_hw.second, P, Q,
                                                gp, dp);
        });
        return dx;
      },
      py::arg("grad_output"), py::arg("input_size"),
      "Gradient of adaptive average pooling with respect to its input.");

  m.def(
      "adaptive_max_pool2d_forward",
      [](const py::array& x, Pair out_hw) {
        const char* op = "adaptive_max_pool2d";
        check_input(op, "input", x);
        check_adaptive(op, x, out_hw, false);
        py::array y = new_like(op, x, {x.shape(0), x.shape(1), out_hw.first, out_hw.second});
        py::array idx = new_array(op, py::dtype::of<int64_t>(),
                                  {x.shape(0), x.shape(1), out_hw.first, out_hw.second});
        dispatch_float(x, [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto yp = static_cast<T*>(y.mutable_data());
          auto ip = static_cast<int64_t*>(idx.mutable_data());
          const int64_t planes = x.shape(0) * x.shape(1), H = x.shape(2), W = x.shape(3);
          py::gil_scoped_release nogil;
          pool::adaptive_max_pool2d_forward<T>(planes, H, W, out_hw.first, out_hw.second, xp,
                                               yp, ip);
        });
        return py::make_tuple(y, idx);
      },
      py::arg("input"), py::arg("output_size"),
      "Adaptive max pooling to output_size: (output, indices).");
}

}  // namespace ember::bind
