// Kernels compiled once per ISA tier, and the choice of the copy that runs.
//
// CMake compiles every source listed in EMBER_ISA_SOURCES once per tier the build supports
// (generic: no extra flags; avx2: -mavx2 -mfma; avx512: -mavx512f/vl/dq/bw as well), with
// EMBER_ISA_NS defined to the tier's name. Such a source puts everything it defines in
// namespace ember::EMBER_ISA_NS, so the three copies never share a symbol, and exports one
// table of function pointers per family (`ember::<tier>::<family>::kernels(T{})`).
// A family's entry points call through the table of the active tier (cpu.h: chosen from
// the CPU's features at start-up, capped by EMBER_ISA, switched only by set_isa in tests):
//
//   template <typename T> const Kernels<T>& table() {
//     static const IsaTables<Kernels<T>> tables = EMBER_ISA_TABLES(pool::kernels(T{}));
//     return tables.active();
//   }
//
// Headers included by per-ISA sources keep their inline code in ember::EMBER_ISA_NS as
// well. What they still share (standard-library templates) is linked from the portable
// objects, which come first on the link line (CMakeLists.txt), so the copy the linker
// keeps is never one compiled with wider instructions.
#pragma once

#include "ember/cpu.h"

// Declares the same names in ember::generic, ember::avx2 and ember::avx512.
#define EMBER_ISA_DECLARE(...)       \
  namespace ember::generic {         \
  __VA_ARGS__                        \
  }                                  \
  namespace ember::avx2 {            \
  __VA_ARGS__                        \
  }                                  \
  namespace ember::avx512 {          \
  __VA_ARGS__                        \
  }

#ifdef EMBER_HAVE_AVX2_BUILD
#define EMBER_IF_AVX2_BUILD(x) x
#else
#define EMBER_IF_AVX2_BUILD(x) nullptr
#endif
#ifdef EMBER_HAVE_AVX512_BUILD
#define EMBER_IF_AVX512_BUILD(x) x
#else
#define EMBER_IF_AVX512_BUILD(x) nullptr
#endif

// The tables that `call` (an expression naming a table getter) returns in each tier built.
#define EMBER_ISA_TABLES(call)                                              \
  {                                                                         \
    {                                                                       \
      &::ember::generic::call, EMBER_IF_AVX2_BUILD(&::ember::avx2::call),   \
          EMBER_IF_AVX512_BUILD(&::ember::avx512::call)                     \
    }                                                                       \
  }

namespace ember {

template <typename Table>
struct IsaTables {
  const Table* tier[3];  // indexed by Isa; null for a tier this build lacks
  // active_isa() only ever names a tier that is built and runs on this CPU.
  const Table& active() const { return *tier[static_cast<int>(active_isa())]; }
};

}  // namespace ember
