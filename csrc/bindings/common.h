// Argument checking shared by every binding: each failure raises a Python exception whose
// message names the op, the argument, what was expected and what came.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "ember/checked.h"

namespace ember::bind {

namespace py = pybind11;

inline std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  if (a.ndim() == 1) s << ",";
  s << ")";
  return s.str();
}

inline std::string dtype_str(const py::array& a) {
  return py::str(a.dtype()).cast<std::string>();
}

template <typename T>
inline bool has_dtype(const py::array& a) {
  return a.dtype().is(py::dtype::of<T>());
}

// Raises TypeError unless `a` is float32 or float64.
inline void check_float(const char* op, const char* arg, const py::array& a) {
  if (!has_dtype<float>(a) && !has_dtype<double>(a)) {
    throw py::type_error(std::string(op) + ": argument '" + arg +
                         "' must be float32 or float64, got " + dtype_str(a));
  }
}

inline void check_same_dtype(const char* op, const char* arg, const py::array& a,
                             const char* ref_arg, const py::array& ref) {
  if (!a.dtype().is(ref.dtype())) {
    throw py::type_error(std::string(op) + ": argument '" + arg + "' has dtype " +
                         dtype_str(a) + " but '" + ref_arg + "' has dtype " + dtype_str(ref) +
                         "; they must match");
  }
}

inline void check_ndim(const char* op, const char* arg, const py::array& a, py::ssize_t ndim) {
  if (a.ndim() != ndim) {
    throw py::value_error(std::string(op) + ": argument '" + arg + "' must be " +
                          std::to_string(ndim) + "-D, got " + std::to_string(a.ndim()) +
                          "-D with shape " + shape_str(a));
  }
}

// Stride of dimension `dim` in elements; raises ValueError for negative or misaligned strides.
inline int64_t elem_stride(const char* op, const char* arg, const py::array& a, py::ssize_t dim) {
  const py::ssize_t bytes = a.strides(dim);
  const py::ssize_t item = a.itemsize();
  if (a.shape(dim) <= 1) return 0;  // stride of a size-0/1 dimension is never used
  if (bytes < 0 || bytes % item != 0) {
    throw py::value_error(std::string(op) + ": argument '" + arg + "' has stride " +
                          std::to_string(bytes) + " bytes in dimension " + std::to_string(dim) +
                          "; expected a non-negative multiple of the item size " +
                          std::to_string(item) + " (pass a contiguous array)");
  }
  return static_cast<int64_t>(bytes / item);
}

inline void check_writeable(const char* op, const char* arg, const py::array& a) {
  if (!a.writeable()) {
    throw py::value_error(std::string(op) + ": argument '" + arg + "' is read-only");
  }
}

inline void check_c_contiguous(const char* op, const char* arg, const py::array& a) {
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(op) + ": argument '" + arg +
                          "' must be C-contiguous (use numpy.ascontiguousarray)");
  }
}

// [lo, hi) byte range an array's elements occupy (strides assumed non-negative).
inline std::pair<uintptr_t, uintptr_t> byte_span(const py::array& a) {
  auto lo = reinterpret_cast<uintptr_t>(a.data());
  uintptr_t hi = lo;
  if (a.size() == 0) return {lo, lo};
  for (py::ssize_t d = 0; d < a.ndim(); ++d) hi += (a.shape(d) - 1) * a.strides(d);
  return {lo, hi + a.itemsize()};
}

inline bool overlaps(const py::array& a, const py::array& b) {
  auto x = byte_span(a), y = byte_span(b);
  return x.first < y.second && y.first < x.second;
}

inline void check_no_overlap(const char* op, const char* out_arg, const py::array& out,
                             const char* in_arg, const py::array& in) {
  if (overlaps(out, in)) {
    throw py::value_error(std::string(op) + ": output '" + out_arg + "' overlaps input '" +
                          in_arg + "' in memory");
  }
}

}  // namespace ember::bind

namespace ember::bind {

// Product of sizes with an overflow check (the C++ side computes buffer sizes from these).
inline int64_t checked_numel(const char* op, std::initializer_list<int64_t> dims) {
  try {
    return checked::numel(dims, "tensor size");
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(op) + ": " + e.what());
  }
}

// A new array of `shape`, or an error naming the op and the shape (not NumPy's own, which
// names neither) when it cannot be had: MemoryError when the allocation fails, ValueError
// when its byte count does not fit an address. Sizes a caller chooses (an input_size, an
// output_size) can ask for either.
inline py::array new_array(const char* op, const py::dtype& dtype,
                           const std::vector<py::ssize_t>& shape) {
  std::string dims;
  double bytes = static_cast<double>(dtype.itemsize());
  // The strides must fit before pybind11 computes them (in signed arithmetic that would
  // overflow) and NumPy is asked: every product of trailing sizes, times the item size,
  // even when a leading size is zero and the array would be empty.
  bool fits = true;
  int64_t exact = dtype.itemsize();
  for (py::ssize_t d : shape) {
    dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    bytes *= static_cast<double>(d);
    const int64_t factor = d > 1 ? static_cast<int64_t>(d) : 1;
    if (d < 0 || __builtin_mul_overflow(exact, factor, &exact)) fits = false;
  }
  const std::string msg = std::string(op) + ": cannot allocate an output of shape (" + dims +
                          ") (" + std::to_string(bytes / 1e9) + " GB)";
  if (!fits) throw py::value_error(msg);
  try {
    return py::array(dtype, shape);
  } catch (py::error_already_set& e) {
    const bool memory = e.matches(PyExc_MemoryError);
    if (!memory && !e.matches(PyExc_ValueError)) throw;
    if (!memory) throw py::value_error(msg);
    PyErr_SetString(PyExc_MemoryError, msg.c_str());
    throw py::error_already_set();
  }
}

inline void check_positive_pair(const char* op, const char* arg, std::pair<int64_t, int64_t> v,
                                int64_t min_value) {
  if (v.first < min_value || v.second < min_value) {
    throw py::value_error(std::string(op) + ": argument '" + arg + "' must be >= " +
                          std::to_string(min_value) + ", got (" + std::to_string(v.first) +
                          ", " + std::to_string(v.second) + ")");
  }
}

inline void check_shape(const char* op, const char* arg, const py::array& a,
                        std::initializer_list<int64_t> want) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(want.size());
  size_t i = 0;
  for (int64_t w : want) {
    if (ok && a.shape(i) != w) ok = false;
    ++i;
  }
  if (!ok) {
    std::string s = "(";
    i = 0;
    for (int64_t w : want) s += (i++ ? ", " : "") + std::to_string(w);
    if (want.size() == 1) s += ",";
    throw py::value_error(std::string(op) + ": argument '" + arg + "' must have shape " + s +
                          "), got " + shape_str(a));
  }
}

// Float array argument of `ref`'s dtype, C-contiguous, with the given ndim.
inline void check_like(const char* op, const char* arg, const py::array& a, const char* ref_arg,
                       const py::array& ref, py::ssize_t ndim) {
  check_same_dtype(op, arg, a, ref_arg, ref);
  check_ndim(op, arg, a, ndim);
  check_c_contiguous(op, arg, a);
}

// Calls f(T{}) with T = float or double as `a`'s dtype (already checked to be one of them):
// one generic lambda instead of a float copy and a double copy of the same binding code.
template <typename F>
inline decltype(auto) dispatch_float(const py::array& a, F&& f) {
  if (has_dtype<float>(a)) return f(float{});
  return f(double{});
}

template <typename T>
inline const T* ptr_or_null(const py::object& o) {
  return o.is_none() ? nullptr : static_cast<const T*>(o.cast<py::array>().data());
}

}  // namespace ember::bind
