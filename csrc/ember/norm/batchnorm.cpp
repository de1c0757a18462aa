#include "ember/norm/batchnorm.h"

#include <algorithm>
#include <cmath>

#include "ember/cpu.h"
#include "ember/isa_dispatch.h"

namespace ember::norm {

namespace generic {
#include "ember/norm/batchnorm_impl.inc"
}  // namespace generic

template <typename T>
void batch_norm_stats(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var) {
  EMBER_ISA_DISPATCH(batch_norm_stats<T>(N, C, L, x, mean, var))
}

template <typename T>
void batch_norm_apply(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                      const T* invstd, const T* gamma, const T* beta, T* y) {
  EMBER_ISA_DISPATCH(batch_norm_apply<T>(N, C, L, x, mean, invstd, gamma, beta, y))
}

template <typename T>
void batch_norm_forward_train(int64_t N, int64_t C, int64_t L, const T* x, const T* gamma,
                              const T* beta, double eps, T* y, T* mean, T* var, T* invstd) {
  EMBER_ISA_DISPATCH(
      batch_norm_forward_train<T>(N, C, L, x, gamma, beta, eps, y, mean, var, invstd))
}

template <typename T>
void batch_norm_backward(int64_t N, int64_t C, int64_t L, const T* x, const T* dy,
                         const T* mean, const T* invstd, const T* gamma, bool training, T* dx,
                         T* dgamma, T* dbeta) {
  EMBER_ISA_DISPATCH(batch_norm_backward<T>(N, C, L, x, dy, mean, invstd, gamma, training, dx,
                                            dgamma, dbeta))
}

#define EMBER_BN_INSTANTIATE(T)                                                              \
  template void batch_norm_stats<T>(int64_t, int64_t, int64_t, const T*, T*, T*);           \
  template void batch_norm_apply<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, \
                                    const T*, const T*, T*);                                 \
  template void batch_norm_forward_train<T>(int64_t, int64_t, int64_t, const T*, const T*,   \
                                            const T*, double, T*, T*, T*, T*);              \
  template void batch_norm_backward<T>(int64_t, int64_t, int64_t, const T*, const T*,        \
                                       const T*, const T*, const T*, bool, T*, T*, T*);
EMBER_BN_INSTANTIATE(float)
EMBER_BN_INSTANTIATE(double)
#undef EMBER_BN_INSTANTIATE

}  // namespace ember::norm
