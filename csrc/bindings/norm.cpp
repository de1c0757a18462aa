// ember._C batch normalisation: statistics, affine apply, closed-form backward.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "bindings/common.h"
#include "ember/norm/batchnorm.h"

namespace ember::bind {

namespace {

void check_channel_vec(const char* op, const char* arg, const py::object& v, const py::array& x) {
  if (v.is_none()) return;
  if (!py::isinstance<py::array>(v)) {
    throw py::type_error(std::string(op) + ": argument '" + arg + "' must be an array or None");
  }
  py::array a = v.cast<py::array>();
  check_like(op, arg, a, "input", x, 1);
  check_shape(op, arg, a, {x.shape(1)});
}

template <typename T>
T* mut_or_null(py::object& o) {
  return o.is_none() ? nullptr : static_cast<T*>(o.cast<py::array>().mutable_data());
}

}  // namespace

void register_norm(py::module_& m) {
  m.def(
      "batch_norm_stats",
      [](const py::array& x) {
        const char* op = "batch_norm";
        check_float(op, "input", x);
        check_like(op, "input", x, "input", x, 3);
        const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
        if (N * L == 0) throw py::value_error("batch_norm: no values per channel (empty batch)");
        py::array mean(x.dtype(), std::vector<py::ssize_t>{C});
        py::array var(x.dtype(), std::vector<py::ssize_t>{C});
        dispatch_float(x, [&](auto tag) {
          using T = decltype(tag);
          auto xp = static_cast<const T*>(x.data());
          auto mp = static_cast<T*>(mean.mutable_data());
          auto vp = static_cast<T*>(var.mutable_data());
          py::gil_scoped_release nogil;
          norm::batch_norm_stats<T>(N, C, L, xp, mp, vp);
        });
        return py::make_tuple(mean, var);
      },
      py::arg("input"),
      "Per-channel mean and biased variance of a C-contiguous (N, C, L) array, one pass.");

  m.def(
      "batch_norm_forward_train",
      [](const py::array& x, const py::object& gamma, const py::object& beta, double eps) {
        const char* op = "batch_norm";
        check_float(op, "input", x);
        check_like(op, "input", x, "input", x, 3);
        check_channel_vec(op, "weight", gamma, x);
        check_channel_vec(op, "bias", beta, x);
        if (!(eps >= 0.0) || !std::isfinite(eps))
          throw py::value_error("batch_norm: eps must be a finite non-negative number, got " +
                                std::to_string(eps));
        const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
        if (N * L == 0) throw py::value_error("batch_norm: no values per channel (empty batch)");
        py::array y(x.dtype(), std::vector<py::ssize_t>{N, C, L});
        py::array mean(x.dtype(), std::vector<py::ssize_t>{C});
        py::array var(x.dtype(), std::vector<py::ssize_t>{C});
        py::array invstd(x.dtype(), std::vector<py::ssize_t>{C});
        auto run = [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto gp = ptr_or_null<T>(gamma);
          auto bp = ptr_or_null<T>(beta);
          auto yp = static_cast<T*>(y.mutable_data());
          auto mp = static_cast<T*>(mean.mutable_data());
          auto vp = static_cast<T*>(var.mutable_data());
          auto ip = static_cast<T*>(invstd.mutable_data());
          py::gil_scoped_release nogil;
          norm::batch_norm_forward_train<T>(N, C, L, xp, gp, bp, eps, yp, mp, vp, ip);
        };
        dispatch_float(x, run);
        return py::make_tuple(y, mean, var, invstd);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("eps"),
      "Training batch norm of a (N, C, L) array in one call: (y, mean, biased var, invstd).");

  m.def(
      "batch_norm_apply",
      [](const py::array& x, const py::array& mean, const py::array& invstd,
         const py::object& gamma, const py::object& beta) {
        const char* op = "batch_norm";
        check_float(op, "input", x);
        check_like(op, "input", x, "input", x, 3);
        for (auto [name, a] : {std::pair<const char*, const py::array*>{"mean", &mean},
                               {"invstd", &invstd}}) {
          check_like(op, name, *a, "input", x, 1);
          check_shape(op, name, *a, {x.shape(1)});
        }
        check_channel_vec(op, "weight", gamma, x);
        check_channel_vec(op, "bias", beta, x);
        py::array y(x.dtype(), std::vector<py::ssize_t>{x.shape(0), x.shape(1), x.shape(2)});
        const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
        auto run = [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto mp = static_cast<const T*>(mean.data());
          auto ip = static_cast<const T*>(invstd.data());
          auto gp = ptr_or_null<T>(gamma);
          auto bp = ptr_or_null<T>(beta);
          auto yp = static_cast<T*>(y.mutable_data());
          py::gil_scoped_release nogil;
          norm::batch_norm_apply<T>(N, C, L, xp, mp, ip, gp, bp, yp);
        };
        dispatch_float(x, run);
        return y;
      },
      py::arg("input"), py::arg("mean"), py::arg("invstd"), py::arg("weight"), py::arg("bias"),
      "y = (x - mean) * invstd * weight + bias per channel of a (N, C, L) array.");

  m.def(
      "batch_norm_backward",
      [](const py::array& x, const py::array& dy, const py::array& mean, const py::array& invstd,
         const py::object& gamma, bool training, bool need_input, bool need_weight,
         bool need_bias) {
        const char* op = "batch_norm_backward";
        check_float(op, "input", x);
        check_like(op, "input", x, "input", x, 3);
        check_like(op, "grad_output", dy, "input", x, 3);
        check_shape(op, "grad_output", dy, {x.shape(0), x.shape(1), x.shape(2)});
        for (auto [name, a] : {std::pair<const char*, const py::array*>{"mean", &mean},
                               {"invstd", &invstd}}) {
          check_like(op, name, *a, "input", x, 1);
          check_shape(op, name, *a, {x.shape(1)});
        }
        check_channel_vec(op, "weight", gamma, x);
        const int64_t N = x.shape(0), C = x.shape(1), L = x.shape(2);
        py::object dx = py::none(), dg = py::none(), db = py::none();
        if (need_input) dx = py::array(x.dtype(), std::vector<py::ssize_t>{N, C, L});
        if (need_weight) dg = py::array(x.dtype(), std::vector<py::ssize_t>{C});
        if (need_bias) db = py::array(x.dtype(), std::vector<py::ssize_t>{C});
        auto run = [&](auto zero) {
          using T = decltype(zero);
          auto xp = static_cast<const T*>(x.data());
          auto gp = static_cast<const T*>(dy.data());
          auto mp = static_cast<const T*>(mean.data());
          auto ip = static_cast<const T*>(invstd.data());
          auto wp = ptr_or_null<T>(gamma);
          T* dxp = mut_or_null<T>(dx);
          T* dgp = mut_or_null<T>(dg);
          T* dbp = mut_or_null<T>(db);
          py::gil_scoped_release nogil;
          norm::batch_norm_backward<T>(N, C, L, xp, gp, mp, ip, wp, training, dxp, dgp, dbp);
        };
        dispatch_float(x, run);
        return py::make_tuple(dx, dg, db);
      },
      py::arg("input"), py::arg("grad_output"), py::arg("mean"), py::arg("invstd"),
      py::arg("weight"), py::arg("training"), py::arg("need_input") = true,
      py::arg("need_weight") = true, py::arg("need_bias") = true,
      "Closed-form batch-norm backward: (grad_input, grad_weight, grad_bias), None if unneeded.");
}

}  // namespace ember::bind
