// Batch normalisation over (N, C, L) data (L = H*W for BatchNorm2d, 1 or L for BatchNorm1d).
//
// Training forward: per channel c, mean and biased variance over the N*L values in one pass
// over memory (each N plane's mean and M2 from a pass that stays in cache, merged with Chan et
// al.'s parallel formula, so large means do not cancel), then
//   y = (x - mean) * invstd * gamma + beta,  invstd = 1 / sqrt(var + eps).
// Inference forward: the same affine map with given mean/invstd (running statistics).
// Backward (closed form; M = N*L, xhat = (x - mean) * invstd):
//   dbeta = sum dy, dgamma = sum dy * xhat,
//   training:  dx = gamma * invstd / M * (M dy - dbeta - xhat * dgamma)
//   inference: dx = gamma * invstd * dy
// gamma/beta may be null (affine=False). Channels are split across threads.
#pragma once

#include <cstdint>

namespace ember::norm {

template <typename T>
void batch_norm_stats(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var);

template <typename T>
void batch_norm_apply(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                      const T* invstd, const T* gamma, const T* beta, T* y);

// Training forward in one call: per channel the statistics (mean, biased var, invstd =
// 1 / sqrt(var + eps)) and then y for that channel while its planes are still in L2.
template <typename T>
void batch_norm_forward_train(int64_t N, int64_t C, int64_t L, const T* x, const T* gamma,
                              const T* beta, double eps, T* y, T* mean, T* var, T* invstd);

// dgamma, dbeta may be null (not wanted); dx may be null. `training` picks the dx formula.
template <typename T>
void batch_norm_backward(int64_t N, int64_t C, int64_t L, const T* x, const T* dy,
                         const T* mean, const T* invstd, const T* gamma, bool training, T* dx,
                         T* dgamma, T* dbeta);

// The same kernels per ISA (batchnorm_impl.inc compiled three times); the functions above
// dispatch to the active one.
#define EMBER_BN_DECLARE_ISA(NS)                                                               \
  namespace NS {                                                                              \
  template <typename T>                                                                       \
  void batch_norm_stats(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var);        \
  template <typename T>                                                                       \
  void batch_norm_apply(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,           \
                        const T* invstd, const T* gamma, const T* beta, T* y);                \
  template <typename T>                                                                       \
  void batch_norm_forward_train(int64_t N, int64_t C, int64_t L, const T* x, const T* gamma,  \
                                const T* beta, double eps, T* y, T* mean, T* var, T* invstd); \
  template <typename T>                                                                       \
  void batch_norm_backward(int64_t N, int64_t C, int64_t L, const T* x, const T* dy,          \
                           const T* mean, const T* invstd, const T* gamma, bool training,     \
                           T* dx, T* dgamma, T* dbeta);                                       \
  }
EMBER_BN_DECLARE_ISA(generic)
EMBER_BN_DECLARE_ISA(avx2)
EMBER_BN_DECLARE_ISA(avx512)
#undef EMBER_BN_DECLARE_ISA

}  // namespace ember::norm
