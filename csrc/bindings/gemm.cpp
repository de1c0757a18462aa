// ember._C.gemm / ember._C.bmm: C := alpha * op(A) @ op(B) + beta * C over NumPy arrays.
// Inputs may be any non-negatively strided views (transposes, slices with a leading
// dimension); outputs must have unit stride along their last dimension.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

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
      throw py::value_error(std::string(op) +
                            ": beta != 0 needs an 'out' array to accumulate into");
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
    throw py::value_error(std::string(op) +
                          ": argument 'out' must have unit stride in its last dimension");
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
  dispatch_float(a, [&](auto tag) {
    run_gemm<decltype(tag)>(a, va, b, vb, c, ldc, alpha, beta, bp, relu);
  });
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
  dispatch_float(a, [&](auto tag) {
    run_bmm<decltype(tag)>(a, va, sa, b, vb, sb, c, sc, ldc, batch, alpha, beta);
  });
  return c;
}

// linear_chain(x, weights, biases, relus): x (m, k0) C-contiguous; weights[l] the layer's
// W^T (k_l, n_l) with unit column stride (rows may be padded), k_0 = x's columns and k_l =
// n_{l-1}; biases[l] None or (n_l,) contiguous; relus[l] a bool. Returns the last layer's
// (m, n_L) output; the intermediate outputs are allocated here and dropped.
py::array linear_chain_py(const py::array& x, const py::list& weights, const py::list& biases,
                          const py::list& relus) {
  const char* op = "linear_chain";
  check_float(op, "x", x);
  check_ndim(op, "x", x, 2);
  check_c_contiguous(op, "x", x);
  const size_t nl = weights.size();
  if (nl == 0) throw py::value_error(std::string(op) + ": argument 'weights' is empty");
  if (biases.size() != nl || relus.size() != nl) {
    throw py::value_error(std::string(op) + ": 'weights', 'biases' and 'relus' must have the "
                          "same length, got " + std::to_string(nl) + ", " +
                          std::to_string(biases.size()) + " and " +
                          std::to_string(relus.size()));
  }
  const int64_t m = x.shape(0);
  int64_t k = x.shape(1);
  // The weights and biases, held here so that no other Python thread can free them while
  // the kernel runs without the GIL.
  std::vector<py::array> keep;
  std::vector<py::object> keep_bias;  // an array or None per layer
  std::vector<int64_t> ldw(nl);
  std::vector<bool> relu(nl);
  for (size_t l = 0; l < nl; ++l) {
    const std::string wname = "weights[" + std::to_string(l) + "]";
    const std::string bname = "biases[" + std::to_string(l) + "]";
    if (!py::isinstance<py::array>(weights[l]))
      throw py::type_error(std::string(op) + ": argument '" + wname + "' must be a NumPy array");
    py::array w = weights[l].cast<py::array>();
    check_same_dtype(op, wname.c_str(), w, "x", x);
    check_ndim(op, wname.c_str(), w, 2);
    if (w.shape(0) != k) {
      throw py::value_error(std::string(op) + ": argument '" + wname + "' must have " +
                            std::to_string(k) + " rows (the previous layer's width), got shape " +
                            shape_str(w));
    }
    if (w.shape(1) > 1 && w.strides(1) != w.itemsize()) {
      throw py::value_error(std::string(op) + ": argument '" + wname +
                            "' must have unit stride in its last dimension");
    }
    ldw[l] = w.shape(0) > 1 ? elem_stride(op, wname.c_str(), w, 0) : w.shape(1);
    if (ldw[l] < w.shape(1)) {
      throw py::value_error(std::string(op) + ": argument '" + wname + "' has rows " +
                            std::to_string(ldw[l]) + " elements apart, fewer than its " +
                            std::to_string(w.shape(1)) + " columns");
    }
    keep.push_back(w);
    if (!biases[l].is_none()) {
      if (!py::isinstance<py::array>(biases[l]))
        throw py::type_error(std::string(op) + ": argument '" + bname +
                             "' must be a NumPy array or None");
      py::array b = biases[l].cast<py::array>();
      check_like(op, bname.c_str(), b, "x", x, 1);
      check_shape(op, bname.c_str(), b, {static_cast<int64_t>(w.shape(1))});
      keep_bias.push_back(b);
    } else {
      keep_bias.push_back(py::none());
    }
    if (!py::isinstance<py::bool_>(relus[l]))
      throw py::type_error(std::string(op) + ": argument 'relus' must hold bools");
    relu[l] = relus[l].cast<bool>();
    k = w.shape(1);
  }
  return dispatch_float(x, [&](auto tag) -> py::array {
    using T = decltype(tag);
    std::vector<gemm::ChainLayer<T>> layers(nl);
    std::vector<py::array> outs;
    for (size_t l = 0; l < nl; ++l) {
      const py::array& w = keep[l];
      outs.push_back(py::array(x.dtype(), {m, static_cast<int64_t>(w.shape(1))}));
      gemm::ChainLayer<T>& L = layers[l];
      L.wt = static_cast<const T*>(w.data());
      L.ldw = ldw[l];
      L.k = w.shape(0);
      L.n = w.shape(1);
      L.bias = ptr_or_null<T>(keep_bias[l]);
      L.relu = relu[l];
      L.out = static_cast<T*>(outs.back().mutable_data());
    }
    const T* px = static_cast<const T*>(x.data());
    {
      py::gil_scoped_release nogil;
      gemm::linear_chain<T>(m, px, x.shape(1), layers.data(), static_cast<int64_t>(nl));
    }
    return outs.back();
  });
}

}  // namespace

void register_gemm(py::module_& m) {
  m.def("gemm", &gemm_py, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
        py::arg("beta") = 0.0, py::arg("bias") = py::none(), py::arg("relu") = false,
        "out := alpha * op(a) @ op(b) + beta * out for 2-D float32/float64 arrays, then "
        "+ bias (one value per column) and ReLU if given (applied to each register tile "
        "as it is finished); returns out.");
  m.def("linear_chain", &linear_chain_py, py::arg("x"), py::arg("weights"), py::arg("biases"),
        py::arg("relus"),
        "A chain of linear layers y_l = y_{l-1} @ weights[l] + biases[l] (ReLU where relus[l]), "
        "y_0 = x, weights[l] given as W^T (in, out); the threads split x's rows and run every "
        "layer on their own rows in one parallel region. Returns the last layer's output.");
  m.def("bmm", &bmm_py, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("alpha") = 1.0,
        py::arg("beta") = 0.0,
        "Batched gemm over the first dimension of 3-D arrays; returns out.");
}

}  // namespace ember::bind
