// ember._C losses: fused cross-entropy (log-softmax + NLL) forward and backward over the class
// dimension of C-contiguous (N, C, ...) logits with class-index targets.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bindings/common.h"
#include "ember/loss/cross_entropy.h"

namespace ember::bind {

namespace {

struct CeShape {
  int64_t N, C, S;
};

// Checks logits, targets (int64, one per position, each in [0, C) or ignore_index) and
// weight (None or (C,) of the logits' dtype).
CeShape check_ce(const char* op, const py::array& x, const py::array& target,
                 const py::object& weight, int64_t ignore_index, double eps) {
  check_float(op, "input", x);
  check_c_contiguous(op, "input", x);
  if (x.ndim() < 2) {
    throw py::value_error(std::string(op) + ": argument 'input' must be at least 2-D (N, C, "
                          "...), got shape " + shape_str(x));
  }
  CeShape s{x.shape(0), x.shape(1), 1};
  for (py::ssize_t d = 2; d < x.ndim(); ++d) s.S *= x.shape(d);
  if (!target.dtype().is(py::dtype::of<int64_t>())) {
    throw py::type_error(std::string(op) + ": argument 'target' must be int64, got " +
                         dtype_str(target));
  }
  check_c_contiguous(op, "target", target);
  if (target.size() != s.N * s.S) {
    throw py::value_error(std::string(op) + ": argument 'target' must have " +
                          std::to_string(s.N * s.S) + " elements (one per position), got " +
                          std::to_string(target.size()));
  }
  const auto* t = static_cast<const int64_t*>(target.data());
  for (int64_t i = 0; i < s.N * s.S; ++i) {
    if (t[i] != ignore_index && (t[i] < 0 || t[i] >= s.C)) {
      throw py::index_error(std::string(op) + ": target " + std::to_string(t[i]) +
                            " is out of bounds for " + std::to_string(s.C) + " classes");
    }
  }
  if (!weight.is_none()) {
    py::array w = weight.cast<py::array>();
    check_like(op, "weight", w, "input", x, 1);
    check_shape(op, "weight", w, {s.C});
  }
  if (!(eps >= 0.0 && eps <= 1.0)) {
    throw py::value_error(std::string(op) + ": argument 'label_smoothing' must be in [0, 1], "
                          "got " + std::to_string(eps));
  }
  return s;
}

template <typename T>
const T* weight_ptr(const py::object& w) {
  return w.is_none() ? nullptr : static_cast<const T*>(w.cast<py::array>().data());
}

py::array positions_like(const py::array& x, int64_t n) {
  return py::array(x.dtype(), std::vector<py::ssize_t>{static_cast<py::ssize_t>(n)});
}

}  // namespace

void register_loss(py::module_& m) {
  m.def(
      "cross_entropy_forward",
      [](const py::array& x, const py::array& target, const py::object& weight,
         int64_t ignore_index, double eps) {
        const char* op = "cross_entropy";
        const CeShape s = check_ce(op, x, target, weight, ignore_index, eps);
        py::array loss = positions_like(x, s.N * s.S), lse = positions_like(x, s.N * s.S);
        const auto* t = static_cast<const int64_t*>(target.data());
        const double denom = dispatch_float(x, [&](auto tag) {
          using T = decltype(tag);
          auto xp = static_cast<const T*>(x.data());
          auto wp = weight_ptr<T>(weight);
          auto lp = static_cast<T*>(loss.mutable_data());
          auto ep = static_cast<T*>(lse.mutable_data());
          py::gil_scoped_release nogil;
          return loss::cross_entropy_forward<T>(s.N, s.C, s.S, xp, t, wp, ignore_index, eps, lp,
                                                ep);
        });
        return py::make_tuple(loss, lse, denom);
      },
      py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("ignore_index"),
      py::arg("label_smoothing"),
      "(per-position losses, per-position logsumexp, sum of target weights) of cross-entropy "
      "with class-index targets over C-contiguous (N, C, ...) logits.");
  m.def(
      "cross_entropy_backward",
      [](const py::array& x, const py::array& target, const py::object& weight,
         int64_t ignore_index, double eps, const py::array& lse, const py::array& g) {
        const char* op = "cross_entropy_backward";
        const CeShape s = check_ce(op, x, target, weight, ignore_index, eps);
        check_like(op, "lse", lse, "input", x, 1);
        check_shape(op, "lse", lse, {s.N * s.S});
        if (!g.dtype().is(py::dtype::of<double>())) {
          throw py::type_error(std::string(op) + ": argument 'grad' must be float64, got " +
                               dtype_str(g));
        }
        check_c_contiguous(op, "grad", g);
        if (g.size() != 1 && g.size() != s.N * s.S) {
          throw py::value_error(std::string(op) + ": argument 'grad' must have 1 or " +
                                std::to_string(s.N * s.S) + " elements, got " +
                                std::to_string(g.size()));
        }
        std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
        py::array dx(x.dtype(), shape);
        const auto* t = static_cast<const int64_t*>(target.data());
        const auto* gp = static_cast<const double*>(g.data());
        const int64_t gs = g.size() == 1 ? 0 : 1;
        dispatch_float(x, [&](auto tag) {
          using T = decltype(tag);
          auto xp = static_cast<const T*>(x.data());
          auto wp = weight_ptr<T>(weight);
          auto ep = static_cast<const T*>(lse.data());
          auto dp = static_cast<T*>(dx.mutable_data());
          py::gil_scoped_release nogil;
          loss::cross_entropy_backward<T>(s.N, s.C, s.S, xp, t, wp, ignore_index, eps, ep, gp,
                                          gs, dp);
        });
        return dx;
      },
      py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("ignore_index"),
      py::arg("label_smoothing"), py::arg("lse"), py::arg("grad"),
      "Gradient of cross_entropy_forward's per-position losses times grad (float64, one value "
      "or one per position) with respect to the logits.");
}

}  // namespace ember::bind
