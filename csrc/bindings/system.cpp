// Build and machine facts, ISA selection, threads, and the FMA peak probe.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "bindings/common.h"
#include "ember/checked.h"
#include "ember/cpu.h"
#include "ember/parallel.h"
#include "ember/peak/fma_peak.h"

namespace ember::bind {

void register_system(py::module_& m) {
  m.attr("min_parallel_elements") = parallel::kMinParallelElements;
  m.def(
      "keep_freed_memory",
      [](int64_t bytes) {
        if (bytes < 0 || bytes > (int64_t(1) << 31) - 1)
          throw py::value_error("keep_freed_memory: argument 'bytes' must be in [0, 2^31), got " +
                                std::to_string(bytes));
#if defined(__GLIBC__)
        // Blocks up to `bytes` come from the heap instead of fresh mmaps, and up to `bytes`
        // of freed heap stays mapped: a training step then reuses its activations' pages
        // instead of faulting in new zeroed pages for every array.
        const int v = static_cast<int>(bytes);
        return mallopt(M_MMAP_THRESHOLD, v) == 1 && mallopt(M_TRIM_THRESHOLD, v) == 1;
#else
        (void)bytes;
        return false;
#endif
      },
      py::arg("bytes"),
      "Tune glibc malloc so that freed blocks up to `bytes` are kept for reuse (M_MMAP_THRESHOLD "
      "and M_TRIM_THRESHOLD); returns False where malloc is not glibc's.");
  m.def("cpu_supports_avx2", &cpu_supports_avx2_fma,
        "True when this CPU and OS can run AVX2+FMA code.");
  m.def("built_with_avx2", &built_with_avx2, "True when the AVX2 kernels were compiled in.");
  m.def("cpu_supports_avx512", &cpu_supports_avx512,
        "True when this CPU and OS can run AVX-512 (F, VL, DQ, BW) code.");
  m.def("built_with_avx512", &built_with_avx512,
        "True when the AVX-512 kernels were compiled in.");
  m.def("compiler", &compiler_name, "The C++ compiler that built ember._C.");
  m.def("get_isa", [] { return std::string(isa_name(active_isa())); },
        "The ISA path kernels use now: 'avx512', 'avx2' or 'generic'.");
  m.def(
      "set_isa",
      [](const std::string& name) {
        Isa isa;
        if (name == "generic") {
          isa = Isa::Generic;
        } else if (name == "avx2") {
          isa = Isa::Avx2;
        } else if (name == "avx512") {
          isa = Isa::Avx512;
        } else {
          throw py::value_error(
              "set_isa: argument 'name' must be 'generic', 'avx2' or 'avx512', got '" + name +
              "'");
        }
        if (!isa_available(isa)) {
          throw py::value_error("set_isa: the '" + name +
                                "' path is not available on this CPU or in this build");
        }
        set_isa(isa);
      },
      py::arg("name"), "Switch the ISA path ('generic', 'avx2' or 'avx512').");
  m.def("get_num_threads", &get_num_threads, "Threads used by parallel kernels.");
  m.def(
      "set_num_threads",
      [](int64_t n) {
        try {
          set_num_threads(n);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
      },
      py::arg("n"), "Set the number of threads used by parallel kernels (1 to 1024).");
  m.attr("max_threads") = kMaxThreads;
  m.attr("max_extent") = checked::kMaxExtent;
#if defined(EMBER_SANITIZE_BUILD)
  m.attr("sanitized") = true;
  // A deliberate fault, in sanitizer builds only: proves the sanitizers are live (the
  // process must abort with their report).
  m.def(
      "_sanitizer_canary",
      [](const std::string& kind) {
        volatile int64_t past_end = 4;
        if (kind == "address") {
          int* p = new int[4]();
          int* volatile q = p;  // hides the array's size from UBSan: ASan must catch this
          const int v = q[past_end];  // heap-buffer-overflow
          delete[] p;
          return static_cast<int64_t>(v);
        }
        if (kind == "undefined") {
          volatile int64_t big = INT64_MAX;
          return big + past_end;  // signed-integer-overflow
        }
        throw py::value_error("_sanitizer_canary: kind must be 'address' or 'undefined'");
      },
      py::arg("kind"));
#else
  m.attr("sanitized") = false;
#endif
  m.def(
      "fma_peak_gflops",
      [](double seconds, int64_t threads, const std::string& dtype) {
        if (!(seconds > 0.0) || seconds > 60.0)
          throw py::value_error("fma_peak_gflops: argument 'seconds' must be in (0, 60], got " +
                                std::to_string(seconds));
        if (threads < 1 || threads > kMaxThreads)
          throw py::value_error("fma_peak_gflops: argument 'threads' must be in [1, " +
                                std::to_string(kMaxThreads) + "], got " +
                                std::to_string(threads));
        if (dtype != "float32" && dtype != "float64")
          throw py::value_error(
              "fma_peak_gflops: argument 'dtype' must be 'float32' or 'float64', got '" + dtype +
              "'");
        py::gil_scoped_release nogil;
        return peak::fma_peak_gflops(seconds, static_cast<int>(threads), dtype == "float64");
      },
      py::arg("seconds") = 0.2, py::arg("threads") = 1, py::arg("dtype") = "float32",
      "Measured FMA throughput in GFLOPS on `threads` threads with the active ISA.");
}

}  // namespace ember::bind
