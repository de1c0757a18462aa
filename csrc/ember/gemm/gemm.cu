// GEMM on CUDA: shared-memory tiling with register blocking.
//
// Each block computes a BM x BN tile of C; its threads each hold a TM x TN sub-tile in
// registers. The K dimension is walked BK at a time: the block stages a BM x BK slice of
// op(A) and a BK x BN slice of op(B) in shared memory (k-major, so the inner product reads
// consecutive addresses), loading each from global memory along the operand's contiguous
// axis so that neighbouring threads read neighbouring addresses whatever the transposes.
// Out-of-range rows, columns and k are loaded as zeros and never stored, so any M, N, K
// works. The batch runs over gridDim.z (in a loop when it exceeds the grid's limit). Tile
// sizes per type are in Tile<T>.
#include <cuda_runtime.h>

#include "ember/gemm/gemm_cuda.h"

namespace ember::cuda {
namespace {

template <typename T>
struct Tile;
template <>
struct Tile<float> {
  static constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
};
template <>
struct Tile<double> {
  static constexpr int BM = 32, BN = 64, BK = 16, TM = 2, TN = 4;
};

template <typename T>
__global__ void gemm_kernel(GemmArgs g, T alpha, const T* __restrict__ a,
                            const T* __restrict__ b, T beta, T* __restrict__ c) {
  using P = Tile<T>;
  constexpr int kThreads = (P::BM / P::TM) * (P::BN / P::TN);
  __shared__ T as[P::BK][P::BM];
  __shared__ T bs[P::BK][P::BN];
  const int tid = threadIdx.x;
  const int tx = tid % (P::BN / P::TN), ty = tid / (P::BN / P::TN);
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * P::BM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * P::BN;

  for (int64_t item = blockIdx.z; item < g.batch; item += gridDim.z) {
    const T* A = a + item * g.stride_a;
    const T* B = b + item * g.stride_b;
    T* C = c + item * g.stride_c;
    T acc[P::TM][P::TN];
#pragma unroll
    for (int i = 0; i < P::TM; ++i)
#pragma unroll
      for (int j = 0; j < P::TN; ++j) acc[i][j] = T(0);

    for (int64_t k0 = 0; k0 < g.k; k0 += P::BK) {
      // op(A)[m][k] is A[m * lda + k], or A[k * lda + m] when transposed.
      for (int e = tid; e < P::BM * P::BK; e += kThreads) {
        int mm, kk;
        if (g.trans_a) { kk = e / P::BM; mm = e % P::BM; }  // m contiguous in memory
        else { mm = e / P::BK; kk = e % P::BK; }             // k contiguous in memory
        const int64_t m = m0 + mm, k = k0 + kk;
        T v = T(0);
        if (m < g.m && k < g.k) v = g.trans_a ? A[k * g.lda + m] : A[m * g.lda + k];
        as[kk][mm] = v;
      }
      // op(B)[k][n] is B[k * ldb + n], or B[n * ldb + k] when transposed.
      for (int e = tid; e < P::BK * P::BN; e += kThreads) {
        int kk, nn;
        if (g.trans_b) { nn = e / P::BK; kk = e % P::BK; }
        else { kk = e / P::BN; nn = e % P::BN; }
        const int64_t k = k0 + kk, n = n0 + nn;
        T v = T(0);
        if (k < g.k && n < g.n) v = g.trans_b ? B[n * g.ldb + k] : B[k * g.ldb + n];
        bs[kk][nn] = v;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < P::BK; ++kk) {
        T ra[P::TM], rb[P::TN];
#pragma unroll
        for (int i = 0; i < P::TM; ++i) ra[i] = as[kk][ty * P::TM + i];
#pragma unroll
        for (int j = 0; j < P::TN; ++j) rb[j] = bs[kk][tx * P::TN + j];
#pragma unroll
        for (int i = 0; i < P::TM; ++i)
#pragma unroll
          for (int j = 0; j < P::TN; ++j) acc[i][j] += ra[i] * rb[j];
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < P::TM; ++i) {
      const int64_t m = m0 + ty * P::TM + i;
      if (m >= g.m) continue;
#pragma unroll
      for (int j = 0; j < P::TN; ++j) {
        const int64_t n = n0 + tx * P::TN + j;
        if (n >= g.n) continue;
        T* out = C + m * g.ldc + n;
        // beta == 0 never reads C, which may hold NaN (an uninitialised output).
        *out = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *out;
      }
    }
  }
}

}  // namespace

template <typename T>
int gemm(const GemmArgs& g, T alpha, const T* a, const T* b, T beta, T* c, void* stream) {
  using P = Tile<T>;
  if (g.m == 0 || g.n == 0 || g.batch == 0) return cudaSuccess;
  const int64_t gx = (g.n + P::BN - 1) / P::BN, gy = (g.m + P::BM - 1) / P::BM;
  if (gx > 2147483647LL || gy > 65535) return cudaErrorInvalidValue;  // checked by the binding
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy),
                  static_cast<unsigned>(g.batch < 65535 ? g.batch : 65535));
  constexpr int kThreads = (P::BM / P::TM) * (P::BN / P::TN);
  gemm_kernel<T><<<grid, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(g, alpha, a, b,
                                                                          beta, c);
  return static_cast<int>(cudaGetLastError());
}

template int gemm<float>(const GemmArgs&, float, const float*, const float*, float, float*,
                         void*);
template int gemm<double>(const GemmArgs&, double, const double*, const double*, double,
                          double*, void*);

}  // namespace ember::cuda
