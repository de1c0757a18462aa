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

#include "ember/isa.h"

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

// The per-ISA table (batchnorm_kernels.cpp, compiled once per tier) behind the functions
// above.
template <typename T>
struct Kernels {
  void (*stats)(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var);
  void (*apply)(int64_t N, int64_t C, int64_t L, const T* x, const T* mean, const T* invstd,
                const T* gamma, const T* beta, T* y);
  void (*forward_train)(int64_t N, int64_t C, int64_t L, const T* x, const T* gamma,
                        const T* beta, double eps, T* y, T* mean, T* var, T* invstd);
  void (*backward)(int64_t N, int64_t C, int64_t L, const T* x, const T* dy, const T* mean,
                   const T* invstd, const T* gamma, bool training, T* dx, T* dgamma, T* dbeta);
};

}  // namespace ember::norm

EMBER_ISA_DECLARE(namespace norm {
  const ::ember::norm::Kernels<float>& kernels(float);
  const ::ember::norm::Kernels<double>& kernels(double);
})
