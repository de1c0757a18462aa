// Fused log-softmax + negative log-likelihood over the class dimension of an (N, C, S)
// array (S = product of the spatial sizes; 1 for (N, C) logits), with class weights,
// ignore_index and label smoothing, as torch.nn.functional.cross_entropy with class-index
// targets. Threads split the batch; the class loop runs over S-contiguous rows, so NCHW
// segmentation logits need no transpose.
#pragma once

#include <cstdint>

namespace ember::loss {

// loss[i] (i = n*S + s) = (1 - eps) w_t (lse - x_t) + eps / C * sum_c w_c (lse - x_c), 0 where
// target == ignore_index; lse[i] = log sum_c exp(x_c). Returns sum of w_t over the
// positions not ignored (the mean reduction's denominator). weight may be null (all 1).
// Targets must be in [0, C) or equal ignore_index (the caller checks).
template <typename T>
double cross_entropy_forward(int64_t N, int64_t C, int64_t S, const T* x, const int64_t* target,
                             const T* weight, int64_t ignore_index, double eps, T* loss,
                             T* lse);

// dx = g_i * (softmax_c * sum_c' coef_c' - coef_c) with coef_c = (1 - eps) w_t [c == t] +
// eps / C * w_c (0 where ignored); g is per position (g_stride 1) or one value (stride 0).
template <typename T>
void cross_entropy_backward(int64_t N, int64_t C, int64_t S, const T* x, const int64_t* target,
                            const T* weight, int64_t ignore_index, double eps, const T* lse,
                            const double* g, int64_t g_stride, T* dx);

}  // namespace ember::loss
