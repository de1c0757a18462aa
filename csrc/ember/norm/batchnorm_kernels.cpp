// Batch-norm kernels (batchnorm.h) for one ISA tier (compiled once per tier, isa.h).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ember/norm/batchnorm.h"
#include "ember/parallel.h"

namespace ember::EMBER_ISA_NS::norm {

namespace {

// Per-plane sums as OpenMP SIMD reductions: the compiler keeps one partial sum per vector
// lane (a plain `s += p[i]` is a chain of dependent adds, which made the statistics
// latency-bound). Lane partials are in T over one plane; planes merge in double.
template <typename T>
double plane_sum(const T* __restrict p, int64_t L) {
  T a = 0;
#pragma omp simd reduction(+ : a)
  for (int64_t i = 0; i < L; ++i) a += p[i];
  return a;
}

// sum (p[i] - m)^2.
template <typename T>
double plane_m2(const T* __restrict p, int64_t L, T m) {
  T a = 0;
#pragma omp simd reduction(+ : a)
  for (int64_t i = 0; i < L; ++i) a += (p[i] - m) * (p[i] - m);
  return a;
}

// Mean and biased variance of channel c: each plane's (mean, M2) from two passes over it (the
// second from L1/L2), merged across planes with Chan et al.'s parallel formula in double, so
// a large mean does not cancel.
template <typename T>
void channel_stats(int64_t N, int64_t C, int64_t L, const T* x, int64_t c, double& mean,
                   double& var) {
  double count = 0, m = 0, m2 = 0;
  for (int64_t n = 0; n < N; ++n) {
    const T* p = x + (n * C + c) * L;
    const double pm = plane_sum(p, L) / static_cast<double>(L);
    const double pm2 = plane_m2(p, L, static_cast<T>(pm));
    const double total = count + static_cast<double>(L);
    const double delta = pm - m;
    m += delta * static_cast<double>(L) / total;
    m2 += pm2 + delta * delta * count * static_cast<double>(L) / total;
    count = total;
  }
  mean = m;
  var = count > 0 ? m2 / count : 0.0;
}

// sum dy and sum dy * (x - m) over channel c.
template <typename T>
void channel_dot(int64_t N, int64_t C, int64_t L, const T* dy, const T* x, int64_t c, T m,
                 double& sg, double& sgx) {
  sg = sgx = 0;
  for (int64_t n = 0; n < N; ++n) {
    const T* __restrict g = dy + (n * C + c) * L;
    const T* __restrict xp = x + (n * C + c) * L;
    T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = 0; i < L; ++i) {
      a += g[i];
      b += g[i] * (xp[i] - m);
    }
    sg += a;
    sgx += b;
  }
}

// y = (x - mean) * scale + shift over channel c. Centring first keeps float32 precise when
// the mean is large against the spread (x * scale + (shift - mean * scale) cancels there).
template <typename T>
void channel_apply(int64_t N, int64_t C, int64_t L, const T* x, int64_t c, T mean, T scale,
                   T shift, T* y) {
  for (int64_t n = 0; n < N; ++n) {
    const T* __restrict p = x + (n * C + c) * L;
    T* __restrict q = y + (n * C + c) * L;
    for (int64_t i = 0; i < L; ++i) q[i] = (p[i] - mean) * scale + shift;
  }
}

// L == 1 (BatchNorm1d on (N, C)): channel values are a column; work row by row, vectorised
// across channels [c0, c1), with two passes (mean, then M2) in double. mean[c - c0] and
// var[c - c0] receive the results.
template <typename T>
void column_stats(int64_t N, int64_t C, const T* x, int64_t c0, int64_t c1, double* mean,
                  double* var) {
  const int64_t w = c1 - c0;
  for (int64_t j = 0; j < w; ++j) mean[j] = var[j] = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < w; ++j) mean[j] += x[n * C + c0 + j];
  for (int64_t j = 0; j < w; ++j) mean[j] /= static_cast<double>(N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < w; ++j) {
      const double d = x[n * C + c0 + j] - mean[j];
      var[j] += d * d;
    }
  for (int64_t j = 0; j < w; ++j) var[j] /= static_cast<double>(N);
}

// Channel ranges for the L == 1 layout: blocks of 64 columns across threads.
template <typename F>
void for_column_blocks(int64_t N, int64_t C, F&& body) {
  const int64_t blocks = (C + 63) / 64;
  const int nt = parallel::threads_for_elements(N * C, blocks);
  parallel::for_ranges(blocks, nt, [&](int64_t b_begin, int64_t b_end) {
    for (int64_t b = b_begin; b < b_end; ++b) {
      body(b * 64, std::min(C, (b + 1) * 64));
    }
  });
}

}  // namespace

template <typename T>
void batch_norm_stats(int64_t N, int64_t C, int64_t L, const T* x, T* mean, T* var) {
  if (L == 1) {
    for_column_blocks(N, C, [&](int64_t c0, int64_t c1) {
      double m[64], v[64];
      column_stats(N, C, x, c0, c1, m, v);
      for (int64_t c = c0; c < c1; ++c) {
        mean[c] = static_cast<T>(m[c - c0]);
        var[c] = static_cast<T>(v[c - c0]);
      }
    });
    return;
  }
  const int nt = parallel::threads_for_elements(N * C * L, C);
  parallel::for_ranges(C, nt, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      double m, v;
      channel_stats(N, C, L, x, c, m, v);
      mean[c] = static_cast<T>(m);
      var[c] = static_cast<T>(v);
    }
  });
}

template <typename T>
void batch_norm_apply(int64_t N, int64_t C, int64_t L, const T* x, const T* mean,
                      const T* invstd, const T* gamma, const T* beta, T* y) {
  if (L == 1) {
    for_column_blocks(N, C, [&](int64_t c0, int64_t c1) {
      T scale[64], shift[64];
      for (int64_t c = c0; c < c1; ++c) {
        scale[c - c0] = invstd[c] * (gamma ? gamma[c] : T(1));
        shift[c - c0] = beta ? beta[c] : T(0);
      }
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c)
          y[n * C + c] = (x[n * C + c] - mean[c]) * scale[c - c0] + shift[c - c0];
    });
    return;
  }
  const int nt = parallel::threads_for_elements(N * C * L, C);
  parallel::for_ranges(C, nt, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      const T scale = invstd[c] * (gamma ? gamma[c] : T(1));
      channel_apply(N, C, L, x, c, mean[c], scale, beta ? beta[c] : T(0), y);
    }
  });
}

template <typename T>
void batch_norm_forward_train(int64_t N, int64_t C, int64_t L, const T* x, const T* gamma,
                              const T* beta, double eps, T* y, T* mean, T* var, T* invstd) {
  if (L == 1) {
    batch_norm_stats(N, C, L, x, mean, var);
    for (int64_t c = 0; c < C; ++c)
      invstd[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(var[c]) + eps));
    batch_norm_apply(N, C, L, x, mean, invstd, gamma, beta, y);
    return;
  }
  const int nt = parallel::threads_for_elements(N * C * L, C);
  parallel::for_ranges(C, nt, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      // Statistics, then the normalisation of the same channel while its planes are in L2: the
      // input is read from memory once instead of twice.
      double m, v;
      channel_stats(N, C, L, x, c, m, v);
      const double is = 1.0 / std::sqrt(v + eps);
      mean[c] = static_cast<T>(m);
      var[c] = static_cast<T>(v);
      invstd[c] = static_cast<T>(is);
      const T scale = static_cast<T>(is * (gamma ? static_cast<double>(gamma[c]) : 1.0));
      channel_apply(N, C, L, x, c, mean[c], scale, beta ? beta[c] : T(0), y);
    }
  });
}

template <typename T>
void batch_norm_backward(int64_t N, int64_t C, int64_t L, const T* x, const T* dy,
                         const T* mean, const T* invstd, const T* gamma, bool training, T* dx,
                         T* dgamma, T* dbeta) {
  const double M = static_cast<double>(N * L);
  auto finish = [&](int64_t c, double sdy, double sdyx, T* k) {
    // k = {k1, k0, k2}: dx = k1 * dy + k0 + k2 * (x - mu)
    const double is = invstd[c];
    if (dgamma) dgamma[c] = static_cast<T>(sdyx * is);
    if (dbeta) dbeta[c] = static_cast<T>(sdy);
    const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    k[0] = static_cast<T>(g * is);
    k[1] = training ? static_cast<T>(-g * is * sdy / M) : T(0);
    k[2] = training ? static_cast<T>(-g * is * is * is * sdyx / M) : T(0);
  };
  if (L == 1) {
    for_column_blocks(N, C, [&](int64_t c0, int64_t c1) {
      double sdy[64] = {}, sdyx[64] = {};
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c) {
          const double g = dy[n * C + c];
          sdy[c - c0] += g;
          sdyx[c - c0] += g * (x[n * C + c] - mean[c]);
        }
      T k1[64], k0[64], k2[64];
      for (int64_t c = c0; c < c1; ++c) {
        T k[3];
        finish(c, sdy[c - c0], sdyx[c - c0], k);
        k1[c - c0] = k[0], k0[c - c0] = k[1], k2[c - c0] = k[2];
      }
      if (!dx) return;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c)
          dx[n * C + c] = k1[c - c0] * dy[n * C + c] + k0[c - c0] +
                          k2[c - c0] * (x[n * C + c] - mean[c]);
    });
    return;
  }
  const int nt = parallel::threads_for_elements(N * C * L, C);
  parallel::for_ranges(C, nt, [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      const T mu = mean[c];
      double sdy = 0, sdyx = 0;  // sum dy, sum dy * (x - mean)
      if (training || dgamma || dbeta) channel_dot(N, C, L, dy, x, c, mu, sdy, sdyx);
      T k[3];
      finish(c, sdy, sdyx, k);
      if (!dx) continue;
      for (int64_t n = 0; n < N; ++n) {
        const T* __restrict xp = x + (n * C + c) * L;
        const T* __restrict gp = dy + (n * C + c) * L;
        T* __restrict dp = dx + (n * C + c) * L;
        for (int64_t i = 0; i < L; ++i) dp[i] = k[0] * gp[i] + k[1] + k[2] * (xp[i] - mu);
      }
    }
  });
}

template <typename T>
constexpr ::ember::norm::Kernels<T> make_table() {
  return {&batch_norm_stats<T>, &batch_norm_apply<T>, &batch_norm_forward_train<T>,
          &batch_norm_backward<T>};
}

const ::ember::norm::Kernels<float>& kernels(float) {
  static constexpr ::ember::norm::Kernels<float> table = make_table<float>();
  return table;
}
const ::ember::norm::Kernels<double>& kernels(double) {
  static constexpr ::ember::norm::Kernels<double> table = make_table<double>();
  return table;
}

}  // namespace ember::EMBER_ISA_NS::norm
