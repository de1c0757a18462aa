// The GEMM table of one ISA tier (compiled once per tier, isa.h).
#include "ember/gemm/kernels.h"

#include <type_traits>

#include "ember/gemm/driver.h"

namespace ember::EMBER_ISA_NS::gemm {

namespace {

// A product no wider than the narrow tile (a classifier's 10 outputs) runs on it: the wide
// tile would compute a whole tile's columns for a few.
template <typename T>
void run(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs,
         const T* b, int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc, int nthreads,
         const Finish<T>& fin) {
  using Wide = typename Tiles<T>::Wide;
  using Narrow = typename Tiles<T>::Narrow;
  if constexpr (std::is_same_v<T, float> && Narrow::NR != Wide::NR) {
    if (n <= Narrow::NR) {
      return driver<Narrow>(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc,
                            nthreads, fin);
    }
  }
  driver<Wide>(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, nthreads, fin);
}

}  // namespace

const ::ember::gemm::Kernels<float>& kernels(float) {
  static constexpr ::ember::gemm::Kernels<float> table{&run<float>};
  return table;
}
const ::ember::gemm::Kernels<double>& kernels(double) {
  static constexpr ::ember::gemm::Kernels<double> table{&run<double>};
  return table;
}

}  // namespace ember::EMBER_ISA_NS::gemm
