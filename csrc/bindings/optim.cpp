// ember._C.optim_sgd / optim_adam / optim_rmsprop / optim_adagrad / optim_adadelta: one fused
// update of a parameter group. Every list is checked (lengths, dtypes, shapes, contiguity,
// writeability, no state array aliasing a parameter) before any element is touched.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <initializer_list>
#include <utility>
#include <vector>

#include "bindings/common.h"
#include "ember/optim/optim.h"

namespace ember::bind {

namespace {

// A group's arrays, validated: params (writeable) and grads of the same dtype and shape.
struct Lists {
  std::vector<py::array> params, grads;
  std::vector<int64_t> sizes;
  bool f32 = true;
};

std::string item(const char* list, size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

Lists check_group(const char* op, const py::list& params, const py::list& grads) {
  Lists L;
  if (params.size() != grads.size())
    throw py::value_error(std::string(op) + ": got " + std::to_string(params.size()) +
                          " params but " + std::to_string(grads.size()) + " grads");
  for (size_t i = 0; i < params.size(); ++i) {
    if (!py::isinstance<py::array>(params[i]) || !py::isinstance<py::array>(grads[i]))
      throw py::type_error(std::string(op) + ": params and grads must be numpy arrays");
    py::array p = params[i].cast<py::array>(), g = grads[i].cast<py::array>();
    const std::string pn = item("params", i), gn = item("grads", i);
    check_float(op, pn.c_str(), p);
    if (i > 0) check_same_dtype(op, pn.c_str(), p, "params[0]", L.params[0]);
    check_same_dtype(op, gn.c_str(), g, pn.c_str(), p);
    check_c_contiguous(op, pn.c_str(), p);
    check_c_contiguous(op, gn.c_str(), g);
    check_writeable(op, pn.c_str(), p);
    if (shape_str(g) != shape_str(p))
      throw py::value_error(std::string(op) + ": " + gn + " has shape " + shape_str(g) +
                            " but " + pn + " has shape " + shape_str(p));
    L.params.push_back(p);
    L.grads.push_back(g);
    L.sizes.push_back(static_cast<int64_t>(p.size()));
  }
  L.f32 = L.params.empty() || has_dtype<float>(L.params[0]);
  return L;
}

// A state list: one writeable array per parameter, same dtype and size, not aliasing a param.
// `optional`: the whole list may be None (the option is off).
std::vector<py::array> check_state(const char* op, const char* name, const py::object& obj,
                                   const Lists& L, bool optional) {
  std::vector<py::array> out;
  if (obj.is_none()) {
    if (!optional) throw py::value_error(std::string(op) + ": state '" + name + "' is required");
    return out;
  }
  py::list lst = obj.cast<py::list>();
  if (lst.size() != L.params.size())
    throw py::value_error(std::string(op) + ": state '" + name + "' has " +
                          std::to_string(lst.size()) + " arrays for " +
                          std::to_string(L.params.size()) + " params");
  for (size_t i = 0; i < lst.size(); ++i) {
    const std::string an = std::string(name) + "[" + std::to_string(i) + "]";
    const std::string pn = item("params", i);
    if (!py::isinstance<py::array>(lst[i]))
      throw py::type_error(std::string(op) + ": state " + an +
                           " must be a numpy array (it is updated in place)");
    py::array a = lst[i].cast<py::array>();
    check_same_dtype(op, an.c_str(), a, pn.c_str(), L.params[i]);
    check_c_contiguous(op, an.c_str(), a);
    check_writeable(op, an.c_str(), a);
    if (shape_str(a) != shape_str(L.params[i]))
      throw py::value_error(std::string(op) + ": state " + an + " has shape " + shape_str(a) +
                            " but " + pn + " has shape " + shape_str(L.params[i]));
    out.push_back(a);
  }
  return out;
}

// Every array written by the step (params and state) must be disjoint from the others: a
// parameter listed twice would be updated twice (and race across threads), a state array
// aliasing a parameter would corrupt both. Sorted byte spans, neighbours compared.
void check_disjoint(const char* op, const Lists& L,
                    std::initializer_list<const std::vector<py::array>*> states) {
  std::vector<std::pair<std::pair<uintptr_t, uintptr_t>, std::string>> spans;
  for (size_t i = 0; i < L.params.size(); ++i)
    if (L.params[i].size()) spans.push_back({byte_span(L.params[i]), item("params", i)});
  int k = 0;
  for (const auto* st : states) {
    for (size_t i = 0; i < st->size(); ++i)
      if ((*st)[i].size())
        spans.push_back({byte_span((*st)[i]), "state " + std::to_string(k) + "[" +
                                                  std::to_string(i) + "]"});
    ++k;
  }
  std::sort(spans.begin(), spans.end());
  for (size_t j = 1; j < spans.size(); ++j)
    if (spans[j].first.first < spans[j - 1].first.second)
      throw py::value_error(std::string(op) + ": " + spans[j - 1].second + " and " +
                            spans[j].second + " share memory (a parameter listed twice?)");
}

std::vector<double> check_steps(const char* op, const std::vector<double>& steps,
                                const Lists& L) {
  if (steps.size() != L.params.size())
    throw py::value_error(std::string(op) + ": got " + std::to_string(steps.size()) +
                          " step counts for " + std::to_string(L.params.size()) + " params");
  for (double s : steps)
    if (!(s >= 1.0)) throw py::value_error(std::string(op) + ": step counts must be >= 1");
  return steps;
}

void check_nonneg(const char* op, const char* name, double v) {
  if (!(v >= 0.0)) throw py::value_error(std::string(op) + ": " + name + " must be >= 0, got " +
                                         std::to_string(v));
}

template <typename T>
std::vector<T*> ptrs(const std::vector<py::array>& v) {
  std::vector<T*> out;
  for (const auto& a : v) out.push_back(static_cast<T*>(const_cast<void*>(a.data())));
  return out;
}

template <typename T>
T* const* data_or_null(const std::vector<T*>& v) {
  return v.empty() ? nullptr : v.data();
}

// Runs fn(group, as_ptrs) with the arrays as T pointers, the GIL released.
template <typename F>
void with_group(const Lists& L, F&& fn) {
  auto go = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T*> p = ptrs<T>(L.params);
    std::vector<T*> g = ptrs<T>(L.grads);
    std::vector<const T*> gc(g.begin(), g.end());
    optim::Group<T> grp{static_cast<int64_t>(L.sizes.size()), L.sizes.data(), p.data(),
                        gc.data()};
    auto as_ptrs = [](const std::vector<py::array>& v) { return ptrs<T>(v); };
    fn(grp, as_ptrs, zero);
  };
  if (L.f32) go(float{}); else go(double{});
}

}  // namespace

void register_optim(py::module_& m) {
  m.def(
      "optim_sgd",
      [](const py::list& params, const py::list& grads, const py::object& bufs,
         const std::vector<bool>& first, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize) {
        const char* op = "SGD.step";
        Lists L = check_group(op, params, grads);
        auto B = check_state(op, "momentum_buffer", bufs, L, momentum == 0.0);
        check_disjoint(op, L, {&B});
        if (momentum != 0.0 && first.size() != L.params.size())
          throw py::value_error("SGD.step: 'first' must have one flag per param");
        check_nonneg(op, "lr", lr);
        std::vector<uint8_t> f(first.begin(), first.end());
        with_group(L, [&](auto& grp, auto as_ptrs, auto zero) {
          using T = decltype(zero);
          auto b = as_ptrs(B);
          optim::SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize};
          py::gil_scoped_release nogil;
          optim::sgd_step<T>(grp, data_or_null(b), f.data(), o);
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("first"),
      py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"),
      py::arg("nesterov"), py::arg("maximize"), "Fused SGD step over a parameter group.");

  m.def(
      "optim_adam",
      [](const py::list& params, const py::list& grads, const py::list& exp_avg,
         const py::list& exp_avg_sq, const py::object& max_exp_avg_sq,
         const std::vector<double>& steps, double lr, double beta1, double beta2, double eps,
         double weight_decay, bool amsgrad, bool decoupled, bool maximize) {
        const char* op = decoupled ? "AdamW.step" : "Adam.step";
        Lists L = check_group(op, params, grads);
        auto M = check_state(op, "exp_avg", exp_avg, L, false);
        auto V = check_state(op, "exp_avg_sq", exp_avg_sq, L, false);
        auto VM = check_state(op, "max_exp_avg_sq", max_exp_avg_sq, L, !amsgrad);
        auto S = check_steps(op, steps, L);
        check_disjoint(op, L, {&M, &V, &VM});
        check_nonneg(op, "lr", lr);
        with_group(L, [&](auto& grp, auto as_ptrs, auto zero) {
          using T = decltype(zero);
          auto m_ = as_ptrs(M);
          auto v_ = as_ptrs(V);
          auto vm = as_ptrs(VM);
          optim::AdamOptions o{lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled,
                               maximize};
          py::gil_scoped_release nogil;
          optim::adam_step<T>(grp, m_.data(), v_.data(), data_or_null(vm), S.data(), o);
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
      py::arg("max_exp_avg_sq"), py::arg("steps"), py::arg("lr"), py::arg("beta1"),
      py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("amsgrad"),
      py::arg("decoupled"), py::arg("maximize"), "Fused Adam / AdamW step.");

  m.def(
      "optim_rmsprop",
      [](const py::list& params, const py::list& grads, const py::list& square_avg,
         const py::object& grad_avg, const py::object& momentum_buffer, double lr,
         double alpha, double eps, double weight_decay, double momentum, bool centered,
         bool maximize) {
        const char* op = "RMSprop.step";
        Lists L = check_group(op, params, grads);
        auto S = check_state(op, "square_avg", square_avg, L, false);
        auto A = check_state(op, "grad_avg", grad_avg, L, !centered);
        auto B = check_state(op, "momentum_buffer", momentum_buffer, L, !(momentum > 0));
        check_disjoint(op, L, {&S, &A, &B});
        check_nonneg(op, "lr", lr);
        with_group(L, [&](auto& grp, auto as_ptrs, auto zero) {
          using T = decltype(zero);
          auto s = as_ptrs(S);
          auto a = as_ptrs(A);
          auto b = as_ptrs(B);
          optim::RmspropOptions o{lr, alpha, eps, weight_decay, momentum, centered, maximize};
          py::gil_scoped_release nogil;
          optim::rmsprop_step<T>(grp, s.data(), data_or_null(a), data_or_null(b), o);
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avg"), py::arg("grad_avg"),
      py::arg("momentum_buffer"), py::arg("lr"), py::arg("alpha"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"), py::arg("maximize"),
      "Fused RMSprop step.");

  m.def(
      "optim_adagrad",
      [](const py::list& params, const py::list& grads, const py::list& sum,
         const std::vector<double>& steps, double lr, double lr_decay, double weight_decay,
         double eps, bool maximize) {
        const char* op = "Adagrad.step";
        Lists L = check_group(op, params, grads);
        auto S = check_state(op, "sum", sum, L, false);
        auto T_ = check_steps(op, steps, L);
        check_disjoint(op, L, {&S});
        check_nonneg(op, "lr", lr);
        with_group(L, [&](auto& grp, auto as_ptrs, auto zero) {
          using T = decltype(zero);
          auto s = as_ptrs(S);
          optim::AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize};
          py::gil_scoped_release nogil;
          optim::adagrad_step<T>(grp, s.data(), T_.data(), o);
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("sum"), py::arg("steps"), py::arg("lr"),
      py::arg("lr_decay"), py::arg("weight_decay"), py::arg("eps"), py::arg("maximize"),
      "Fused Adagrad step.");

  m.def(
      "optim_adadelta",
      [](const py::list& params, const py::list& grads, const py::list& square_avg,
         const py::list& acc_delta, double lr, double rho, double eps, double weight_decay,
         bool maximize) {
        const char* op = "Adadelta.step";
        Lists L = check_group(op, params, grads);
        auto S = check_state(op, "square_avg", square_avg, L, false);
        auto U = check_state(op, "acc_delta", acc_delta, L, false);
        check_disjoint(op, L, {&S, &U});
        check_nonneg(op, "lr", lr);
        with_group(L, [&](auto& grp, auto as_ptrs, auto zero) {
          using T = decltype(zero);
          auto s = as_ptrs(S);
          auto u = as_ptrs(U);
          optim::AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
          py::gil_scoped_release nogil;
          optim::adadelta_step<T>(grp, s.data(), u.data(), o);
        });
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avg"), py::arg("acc_delta"),
      py::arg("lr"), py::arg("rho"), py::arg("eps"), py::arg("weight_decay"),
      py::arg("maximize"), "Fused Adadelta step.");
}

}  // namespace ember::bind
