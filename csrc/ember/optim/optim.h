// Fused optimizer updates: one call updates every parameter of a parameter group, in parallel
// over all their elements (OpenMP over fixed-size chunks of the concatenated tensors), instead
// of a chain of NumPy expressions per tensor. The formulas are PyTorch's (torch.optim,
// single-tensor path), element by element:
//
//   every optimizer first: g = (maximize ? -grad : grad), and unless decoupled (AdamW),
//                          g += weight_decay * p
//   SGD       b = first ? g : momentum * b + (1 - dampening) * g;  d = nesterov ? g + momentum*b
//             : b (d = g without momentum);  p -= lr * d
//   Adam(W)   AdamW: p *= 1 - lr * weight_decay;  m = beta1 m + (1-beta1) g;
//             v = beta2 v + (1-beta2) g^2;  amsgrad: vmax = max(vmax, v), v^ = vmax;
//             p -= lr / (1 - beta1^t) * m / (sqrt(v^) / sqrt(1 - beta2^t) + eps)
//   RMSprop   s = alpha s + (1-alpha) g^2;  centered: a = alpha a + (1-alpha) g,
//             den = sqrt(s - a^2) + eps, else den = sqrt(s) + eps;
//             momentum: b = momentum b + g / den, p -= lr b;  else p -= lr g / den
//   Adagrad   sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)
//   Adadelta  s = rho s + (1-rho) g^2;  d = sqrt(u + eps) / sqrt(s + eps) * g;
//             u = rho u + (1-rho) d^2;  p -= lr d
//
// t is the per-tensor step count after this step (1 on the first). State pointers that an
// option does not use may be null.
#pragma once

#include <cstdint>

#include "ember/isa.h"

namespace ember::optim {

// n tensors; sizes[i] elements each; param[i], grad[i] their data.
template <typename T>
struct Group {
  int64_t n;
  const int64_t* sizes;
  T* const* param;
  const T* const* grad;
};

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
// buf[i]: momentum buffers (null entries if momentum == 0); first[i]: buffer is new.
template <typename T>
void sgd_step(const Group<T>& g, T* const* buf, const uint8_t* first, const SgdOptions& o);

struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, decoupled, maximize;
};
template <typename T>
void adam_step(const Group<T>& g, T* const* exp_avg, T* const* exp_avg_sq,
               T* const* max_exp_avg_sq, const double* step, const AdamOptions& o);

struct RmspropOptions {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};
template <typename T>
void rmsprop_step(const Group<T>& g, T* const* square_avg, T* const* grad_avg,
                  T* const* momentum_buffer, const RmspropOptions& o);

struct AdagradOptions {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
};
template <typename T>
void adagrad_step(const Group<T>& g, T* const* sum, const double* step,
                  const AdagradOptions& o);

struct AdadeltaOptions {
  double lr, rho, eps, weight_decay;
  bool maximize;
};
template <typename T>
void adadelta_step(const Group<T>& g, T* const* square_avg, T* const* acc_delta,
                   const AdadeltaOptions& o);

// The per-ISA table (optim_kernels.cpp, compiled once per tier) behind the functions above.
template <typename T>
struct Kernels {
  void (*sgd)(const Group<T>& g, T* const* buf, const uint8_t* first, const SgdOptions& o);
  void (*adam)(const Group<T>& g, T* const* exp_avg, T* const* exp_avg_sq,
               T* const* max_exp_avg_sq, const double* step, const AdamOptions& o);
  void (*rmsprop)(const Group<T>& g, T* const* square_avg, T* const* grad_avg,
                  T* const* momentum_buffer, const RmspropOptions& o);
  void (*adagrad)(const Group<T>& g, T* const* sum, const double* step,
                  const AdagradOptions& o);
  void (*adadelta)(const Group<T>& g, T* const* square_avg, T* const* acc_delta,
                   const AdadeltaOptions& o);
};

}  // namespace ember::optim

EMBER_ISA_DECLARE(namespace optim {
  const ::ember::optim::Kernels<float>& kernels(float);
  const ::ember::optim::Kernels<double>& kernels(double);
})
