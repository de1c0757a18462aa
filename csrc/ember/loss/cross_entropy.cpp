#include "ember/loss/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ember/parallel.h"

namespace ember::loss {

namespace {

constexpr int64_t kBlock = 256;  // positions per block (per-position accumulators on stack)

template <typename F>
void over_batch(int64_t N, int64_t work, F&& body) {
  const int nt = parallel::threads_for_elements(work, N);
  if (nt <= 1) {
    for (int64_t n = 0; n < N; ++n) body(n);
    return;
  }
  parallel::for_ranges(N, nt, [&](int64_t n_begin, int64_t n_end) {
    for (int64_t n = n_begin; n < n_end; ++n) {
      body(n);
    }
  });
}

}  // namespace

template <typename T>
double cross_entropy_forward(int64_t N, int64_t C, int64_t S, const T* x, const int64_t* target,
                             const T* weight, int64_t ignore_index, double eps, T* loss,
                             T* lse) {
  double wall = 0;  // sum of all class weights (for the smoothing term)
  for (int64_t c = 0; c < C; ++c) wall += weight ? double(weight[c]) : 1.0;
  double denom = 0;
  for (int64_t i = 0; i < N * S; ++i) {
    const int64_t t = target[i];
    if (t != ignore_index) denom += weight ? double(weight[t]) : 1.0;
  }
  over_batch(N, N * C * S, [&](int64_t n) {
    const T* xn = x + n * C * S;
    for (int64_t s0 = 0; s0 < S; s0 += kBlock) {
      const int64_t len = std::min(kBlock, S - s0);
      T m[kBlock], sum[kBlock], wx[kBlock];
      for (int64_t j = 0; j < len; ++j) {
        m[j] = -std::numeric_limits<T>::infinity();
        sum[j] = T(0);
        wx[j] = T(0);
      }
      for (int64_t c = 0; c < C; ++c) {
        const T* row = xn + c * S + s0;
        for (int64_t j = 0; j < len; ++j) m[j] = std::max(m[j], row[j]);
      }
      for (int64_t c = 0; c < C; ++c) {
        const T* row = xn + c * S + s0;
        const T wc = weight ? weight[c] : T(1);
        for (int64_t j = 0; j < len; ++j) {
          sum[j] += std::exp(row[j] - m[j]);
          wx[j] += wc * row[j];
        }
      }
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = n * S + s0 + j;
        const T l = m[j] + std::log(sum[j]);
        lse[i] = l;
        const int64_t t = target[i];
        if (t == ignore_index) {
          loss[i] = T(0);
          continue;
        }
        const T wt = weight ? weight[t] : T(1);
        T v = T(1.0 - eps) * wt * (l - xn[t * S + s0 + j]);
        if (eps != 0) v += T(eps / double(C)) * (T(wall) * l - wx[j]);
        loss[i] = v;
      }
    }
  });
  return denom;
}

template <typename T>
void cross_entropy_backward(int64_t N, int64_t C, int64_t S, const T* x, const int64_t* target,
                            const T* weight, int64_t ignore_index, double eps, const T* lse,
                            const double* g, int64_t g_stride, T* dx) {
  double wall = 0;
  for (int64_t c = 0; c < C; ++c) wall += weight ? double(weight[c]) : 1.0;
  const T se = T(eps / double(C));
  over_batch(N, N * C * S, [&](int64_t n) {
    const T* xn = x + n * C * S;
    T* dn = dx + n * C * S;
    for (int64_t s0 = 0; s0 < S; s0 += kBlock) {
      const int64_t len = std::min(kBlock, S - s0);
      T gv[kBlock], scale[kBlock], l[kBlock];  // g (0 where ignored), g * sum_c coef_c, lse
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = n * S + s0 + j;
        const int64_t t = target[i];
        l[j] = lse[i];
        gv[j] = t == ignore_index ? T(0) : T(g[i * g_stride]);
        const T wt = t == ignore_index ? T(0) : (weight ? weight[t] : T(1));
        scale[j] = gv[j] * (T(1.0 - eps) * wt + se * T(wall));
      }
      for (int64_t c = 0; c < C; ++c) {
        const T* row = xn + c * S + s0;
        T* drow = dn + c * S + s0;
        const T swc = se * (weight ? weight[c] : T(1));
        for (int64_t j = 0; j < len; ++j)
          drow[j] = std::exp(row[j] - l[j]) * scale[j] - gv[j] * swc;
      }
      for (int64_t j = 0; j < len; ++j) {  // the target class's own term
        const int64_t t = target[n * S + s0 + j];
        if (t == ignore_index) continue;
        const T wt = weight ? weight[t] : T(1);
        dn[t * S + s0 + j] -= gv[j] * T(1.0 - eps) * wt;
      }
    }
  });
}

template double cross_entropy_forward<float>(int64_t, int64_t, int64_t, const float*,
                                             const int64_t*, const float*, int64_t, double,
                                             float*, float*);
template double cross_entropy_forward<double>(int64_t, int64_t, int64_t, const double*,
                                              const int64_t*, const double*, int64_t, double,
                                              double*, double*);
template void cross_entropy_backward<float>(int64_t, int64_t, int64_t, const float*,
                                            const int64_t*, const float*, int64_t, double,
                                            const float*, const double*, int64_t, float*);
template void cross_entropy_backward<double>(int64_t, int64_t, int64_t, const double*,
                                             const int64_t*, const double*, int64_t, double,
                                             const double*, const double*, int64_t, double*);

}  // namespace ember::loss
