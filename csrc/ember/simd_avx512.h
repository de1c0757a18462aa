// Zmm<T>: the AVX-512 vector operations the kernels use, for float and double. Included by
// AVX-512 translation units only (compiled with -mavx512f ...), inside their own anonymous
// namespace, like gemm_x86.h, so that no inline function is shared across ISA flags.
// Needs <immintrin.h>.

template <typename T>
struct Zmm;

template <>
struct Zmm<float> {
  using R = __m512;
  static constexpr int kLanes = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, R x) { _mm512_storeu_ps(p, x); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static float sum(R v) { return _mm512_reduce_add_ps(v); }
};

template <>
struct Zmm<double> {
  using R = __m512d;
  static constexpr int kLanes = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R loadu(const double* p) { return _mm512_loadu_pd(p); }
  static void storeu(double* p, R x) { _mm512_storeu_pd(p, x); }
  static R set1(double v) { return _mm512_set1_pd(v); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static double sum(R v) { return _mm512_reduce_add_pd(v); }
};
