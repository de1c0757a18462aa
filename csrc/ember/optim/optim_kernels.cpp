// Fused optimizer kernels (optim.h) for one ISA tier (compiled once per tier, isa.h): the
// element loops are square roots and divisions, which run several times wider with AVX2 and
// AVX-512 vectors than with the baseline ISA.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ember/optim/optim.h"
#include "ember/parallel.h"

namespace ember::EMBER_ISA_NS::optim {

using ::ember::optim::AdadeltaOptions;
using ::ember::optim::AdagradOptions;
using ::ember::optim::AdamOptions;
using ::ember::optim::Group;
using ::ember::optim::RmspropOptions;
using ::ember::optim::SgdOptions;

namespace {

constexpr int64_t kChunk = 16384;  // elements per unit of parallel work

// Calls body(i, begin, end) over chunks of every tensor, in parallel when there is enough work
// (parallel.h).
template <typename F>
void for_chunks(int64_t n, const int64_t* sizes, F&& body) {
  std::vector<int64_t> tensor, begin;
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < sizes[i]; b += kChunk) {
      tensor.push_back(i);
      begin.push_back(b);
    }
    total += sizes[i];
  }
  const int64_t chunks = static_cast<int64_t>(tensor.size());
  const int nt = parallel::threads_for_elements(total, chunks);
  parallel::run(chunks, nt, [&](int64_t c) {  // chunks taken one at a time, as they finish
    const int64_t i = tensor[c];
    body(i, begin[c], std::min(sizes[i], begin[c] + kChunk));
  });
}

// Calls f(std::bool_constant<b>{}) for the run-time flag b, so that every option becomes a
// compile-time constant in the element loops: with branches inside them GCC vectorises none
// of the loops.
template <typename F>
void with_flag(bool b, F&& f) {
  if (b) f(std::true_type{}); else f(std::false_type{});
}

// g = sign * grad (+ wd * p when WD): sign is -1 for maximize.
template <bool WD, typename T>
inline T eff_grad(T grad, T p, T sign, T wd) {
  if constexpr (WD) return sign * grad + wd * p;
  return sign * grad;
}

}  // namespace

template <typename T>
void sgd_step(const Group<T>& gr, T* const* buf, const uint8_t* first, const SgdOptions& o) {
  const T lr_ = static_cast<T>(o.lr), mom_ = static_cast<T>(o.momentum);
  const T damp_ = static_cast<T>(1.0 - o.dampening), wd_ = static_cast<T>(o.weight_decay);
  const T sign_ = o.maximize ? T(-1) : T(1);
  with_flag(o.weight_decay != 0.0, [&](auto wd_on) {
    with_flag(o.nesterov, [&](auto nest) {
      constexpr bool WD = decltype(wd_on)::value, NEST = decltype(nest)::value;
      for_chunks(gr.n, gr.sizes, [&](int64_t i, int64_t b, int64_t e) {
        // Scalars as locals: read through the closure, the compiler must assume the stores
        // below could change them and gives up vectorising.
        const T lr = lr_, mom = mom_, damp = damp_, wd = wd_, sign = sign_;
        T* __restrict p = gr.param[i];
        const T* __restrict grad = gr.grad[i];
        if (mom == T(0)) {
          for (int64_t k = b; k < e; ++k) p[k] -= lr * eff_grad<WD>(grad[k], p[k], sign, wd);
          return;
        }
        T* __restrict m = buf[i];
        if (first[i]) {  // the buffer starts as the first gradient
          for (int64_t k = b; k < e; ++k) {
            const T g = eff_grad<WD>(grad[k], p[k], sign, wd);
            m[k] = g;
            p[k] -= lr * (NEST ? g + mom * g : g);
          }
          return;
        }
        for (int64_t k = b; k < e; ++k) {
          const T g = eff_grad<WD>(grad[k], p[k], sign, wd);
          const T v = mom * m[k] + damp * g;
          m[k] = v;
          p[k] -= lr * (NEST ? g + mom * v : v);
        }
      });
    });
  });
}

template <typename T>
void adam_step(const Group<T>& gr, T* const* exp_avg, T* const* exp_avg_sq,
               T* const* max_exp_avg_sq, const double* step, const AdamOptions& o) {
  const T b1_ = static_cast<T>(o.beta1), b2_ = static_cast<T>(o.beta2);
  const T eps_ = static_cast<T>(o.eps), wd_ = static_cast<T>(o.weight_decay);
  const T shrink_ = static_cast<T>(1.0 - o.lr * o.weight_decay);  // AdamW's decoupled decay
  const T sign_ = o.maximize ? T(-1) : T(1);
  const bool has_wd = o.weight_decay != 0.0;
  with_flag(has_wd && !o.decoupled, [&](auto wd_on) {
    with_flag(has_wd && o.decoupled, [&](auto dec_on) {
      with_flag(o.amsgrad, [&](auto ams_on) {
        constexpr bool WD = decltype(wd_on)::value, DEC = decltype(dec_on)::value;
        constexpr bool AMS = decltype(ams_on)::value;
        for_chunks(gr.n, gr.sizes, [&](int64_t i, int64_t b, int64_t e) {
          const T b1 = b1_, b2 = b2_, eps = eps_, wd = wd_, shrink = shrink_, sign = sign_;
          const double t = step[i];
          const T step_size = static_cast<T>(o.lr / (1.0 - std::pow(o.beta1, t)));
          const T inv_bc2_sqrt = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(o.beta2, t)));
          T* __restrict p = gr.param[i];
          const T* __restrict grad = gr.grad[i];
          T* __restrict m = exp_avg[i];
          T* __restrict v = exp_avg_sq[i];
          T* __restrict vmax = AMS ? max_exp_avg_sq[i] : nullptr;
          for (int64_t k = b; k < e; ++k) {
            T pk = p[k];
            if constexpr (DEC) pk *= shrink;
            const T g = eff_grad<WD>(grad[k], pk, sign, wd);
            const T mk = b1 * m[k] + (T(1) - b1) * g;
            const T vk = b2 * v[k] + (T(1) - b2) * g * g;
            m[k] = mk;
            v[k] = vk;
            T vhat = vk;
            if constexpr (AMS) {
              vhat = std::max(vmax[k], vk);
              vmax[k] = vhat;
            }
            p[k] = pk - step_size * mk / (std::sqrt(vhat) * inv_bc2_sqrt + eps);
          }
        });
      });
    });
  });
}

template <typename T>
void rmsprop_step(const Group<T>& gr, T* const* square_avg, T* const* grad_avg,
                  T* const* momentum_buffer, const RmspropOptions& o) {
  const T lr_ = static_cast<T>(o.lr), alpha_ = static_cast<T>(o.alpha);
  const T eps_ = static_cast<T>(o.eps), wd_ = static_cast<T>(o.weight_decay);
  const T mom_ = static_cast<T>(o.momentum), sign_ = o.maximize ? T(-1) : T(1);
  with_flag(o.weight_decay != 0.0, [&](auto wd_on) {
    with_flag(o.centered, [&](auto cen_on) {
      with_flag(o.momentum > 0, [&](auto mom_on) {
        constexpr bool WD = decltype(wd_on)::value, CEN = decltype(cen_on)::value;
        constexpr bool MOM = decltype(mom_on)::value;
        for_chunks(gr.n, gr.sizes, [&](int64_t i, int64_t b, int64_t e) {
          const T lr = lr_, alpha = alpha_, eps = eps_, wd = wd_, mom = mom_, sign = sign_;
          T* __restrict p = gr.param[i];
          const T* __restrict grad = gr.grad[i];
          T* __restrict s = square_avg[i];
          T* __restrict a = CEN ? grad_avg[i] : nullptr;
          T* __restrict buf = MOM ? momentum_buffer[i] : nullptr;
          for (int64_t k = b; k < e; ++k) {
            const T g = eff_grad<WD>(grad[k], p[k], sign, wd);
            const T sk = alpha * s[k] + (T(1) - alpha) * g * g;
            s[k] = sk;
            T den;
            if constexpr (CEN) {
              const T ak = alpha * a[k] + (T(1) - alpha) * g;
              a[k] = ak;
              den = std::sqrt(sk - ak * ak) + eps;
            } else {
              den = std::sqrt(sk) + eps;
            }
            if constexpr (MOM) {
              const T bk = mom * buf[k] + g / den;
              buf[k] = bk;
              p[k] -= lr * bk;
            } else {
              p[k] -= lr * g / den;
            }
          }
        });
      });
    });
  });
}

template <typename T>
void adagrad_step(const Group<T>& gr, T* const* sum, const double* step,
                  const AdagradOptions& o) {
  const T eps_ = static_cast<T>(o.eps), wd_ = static_cast<T>(o.weight_decay);
  const T sign_ = o.maximize ? T(-1) : T(1);
  with_flag(o.weight_decay != 0.0, [&](auto wd_on) {
    constexpr bool WD = decltype(wd_on)::value;
    for_chunks(gr.n, gr.sizes, [&](int64_t i, int64_t b, int64_t e) {
      const T eps = eps_, wd = wd_, sign = sign_;
      const T clr = static_cast<T>(o.lr / (1.0 + (step[i] - 1.0) * o.lr_decay));
      T* __restrict p = gr.param[i];
      const T* __restrict grad = gr.grad[i];
      T* __restrict s = sum[i];
      for (int64_t k = b; k < e; ++k) {
        const T g = eff_grad<WD>(grad[k], p[k], sign, wd);
        const T sk = s[k] + g * g;
        s[k] = sk;
        p[k] -= clr * g / (std::sqrt(sk) + eps);
      }
    });
  });
}

template <typename T>
void adadelta_step(const Group<T>& gr, T* const* square_avg, T* const* acc_delta,
                   const AdadeltaOptions& o) {
  const T lr_ = static_cast<T>(o.lr), rho_ = static_cast<T>(o.rho);
  const T eps_ = static_cast<T>(o.eps), wd_ = static_cast<T>(o.weight_decay);
  const T sign_ = o.maximize ? T(-1) : T(1);
  with_flag(o.weight_decay != 0.0, [&](auto wd_on) {
    constexpr bool WD = decltype(wd_on)::value;
    for_chunks(gr.n, gr.sizes, [&](int64_t i, int64_t b, int64_t e) {
      const T lr = lr_, rho = rho_, eps = eps_, wd = wd_, sign = sign_;
      T* __restrict p = gr.param[i];
      const T* __restrict grad = gr.grad[i];
      T* __restrict s = square_avg[i];
      T* __restrict u = acc_delta[i];
      for (int64_t k = b; k < e; ++k) {
        const T g = eff_grad<WD>(grad[k], p[k], sign, wd);
        const T sk = rho * s[k] + (T(1) - rho) * g * g;
        s[k] = sk;
        const T d = std::sqrt(u[k] + eps) / std::sqrt(sk + eps) * g;
        u[k] = rho * u[k] + (T(1) - rho) * d * d;
        p[k] -= lr * d;
      }
    });
  });
}

template <typename T>
constexpr ::ember::optim::Kernels<T> make_table() {
  return {&sgd_step<T>, &adam_step<T>, &rmsprop_step<T>, &adagrad_step<T>, &adadelta_step<T>};
}

const ::ember::optim::Kernels<float>& kernels(float) {
  static constexpr ::ember::optim::Kernels<float> table = make_table<float>();
  return table;
}
const ::ember::optim::Kernels<double>& kernels(double) {
  static constexpr ::ember::optim::Kernels<double> table = make_table<double>();
  return table;
}

}  // namespace ember::EMBER_ISA_NS::optim
