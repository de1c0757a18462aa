// Batch-norm entry points: the active tier's kernels.
#include "ember/norm/batchnorm.h"

namespace ember::norm {

namespace {
template <typename T>
const Kernels<T>& table() {
  static const IsaTables<Kernels<T>> tables = EMBER_ISA_TABLES(norm::kernels(T{}));
  return tables.active();
}
}  // namespace

template <typename T>
void batch_norm_stats(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var) {
  table<T>().stats(N, C, L, x, mean, var);
}

template <typename T>
void batch_norm_apply(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                      const T* invstd, const T* gamma, const T* beta, T* y) {
  table<T>().apply(N, C, L, x, mean, invstd, gamma, beta, y);
}

template <typename T>
void batch_norm_forward_train(int64_t N, int64_t C, int64_t L, const T* x, const T* gamma,
                              const T* beta, double eps, T* y, T* mean, T* var, T* invstd) {
  table<T>().forward_train(N, C, L, x, gamma, beta, eps, y, mean, var, invstd);
}

template <typename T>
void batch_norm_backward(int64_t N, int64_t C, int64_t L, const T* x, const T* dy,
                         const T* mean, const T* invstd, const T* gamma, bool training, T* dx,
                         T* dgamma, T* dbeta) {
  table<T>().backward(N, C, L, x, dy, mean, invstd, gamma, training, dx, dgamma, dbeta);
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
