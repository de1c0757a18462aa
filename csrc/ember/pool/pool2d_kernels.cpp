// Pooling kernels (pool2d.h) for one ISA tier (compiled once per tier, isa.h): the interior
// loops are written branch-free over output columns for the compiler to vectorise (with
// AVX2/AVX-512 it vectorises the max-pool selects, which mix float compares and int64
// indices; SSE2 cannot).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "ember/parallel.h"
#include "ember/pool/pool2d.h"

namespace ember::EMBER_ISA_NS::pool {

using ::ember::pool::Pool2dShape;

namespace {

// Output columns [qa, qb) whose windows lie entirely inside the input horizontally: the
// kernels run these with unchecked loops over q (vectorised by the compiler), and only the
// few edge columns with bounds checks.
inline void interior_q(const Pool2dShape& s, int64_t kw_span, int64_t& qa, int64_t& qb) {
  qa = std::min(s.Q, (s.pw + s.sw - 1) / s.sw);
  const int64_t last = s.W - 1 + s.pw - kw_span;  // q * sw <= last
  qb = last < 0 ? qa : std::max(qa, std::min(s.Q, last / s.sw + 1));
}

// The taps t in [lo, hi) of a window starting at `start` (step d, k taps) that land inside
// [0, n): computed, not searched, so that a kernel far larger than the input (allowed when
// padding covers it) costs what its overlap with the input costs.
inline void taps_inside(int64_t start, int64_t d, int64_t k, int64_t n, int64_t& lo,
                        int64_t& hi) {
  lo = start >= 0 ? 0 : (-start + d - 1) / d;
  hi = start >= n ? 0 : std::min(k, (n - 1 - start) / d + 1);
  if (hi < lo) hi = lo;
}

// NaN propagates as in PyTorch: a NaN is always taken, so the last NaN of a window wins.
template <typename T>
inline bool takes(T v, T best) {
  return v > best || v != v;
}

// One output row p of max pooling, columns [q0, q1), with bounds checks.
template <typename T>
void max_row_checked(const Pool2dShape& s, const T* xp, int64_t p, int64_t q0, int64_t q1,
                     T* yr, int64_t* ir) {
  const int64_t h0 = p * s.sh - s.ph;
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t w0 = q * s.sw - s.pw;
    T best = -std::numeric_limits<T>::infinity();
    int64_t arg = -1;
    int64_t i0, i1, j0, j1;
    taps_inside(h0, s.dh, s.kh, s.H, i0, i1);
    taps_inside(w0, s.dw, s.kw, s.W, j0, j1);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t h = h0 + i * s.dh;
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t w = w0 + j * s.dw;
        const T v = xp[h * s.W + w];
        if (arg < 0 || takes(v, best)) {
          best = v;
          arg = h * s.W + w;
        }
      }
    }
    yr[q] = best;
    ir[q] = arg;
  }
}

// One tap of the interior columns [qa, qb): running max against xp[base + q * stride].
// SW > 0 fixes the stride at compile time (1 and 2 cover nearly every network), which lets the
// compiler vectorise the strided loads with shuffles instead of giving up.
template <int SW, typename T>
void max_tap(const T* xp, int64_t base, int64_t stride_rt, int64_t qa, int64_t qb, bool first,
             T* __restrict yr, int64_t* __restrict ir) {
  const int64_t stride = SW > 0 ? SW : stride_rt;
  if (first) {
    for (int64_t q = qa; q < qb; ++q) {
      yr[q] = xp[base + q * stride];
      ir[q] = base + q * stride;
    }
    return;
  }
  for (int64_t q = qa; q < qb; ++q) {
    const T v = xp[base + q * stride];
    const bool t = takes(v, yr[q]);
    yr[q] = t ? v : yr[q];
    ir[q] = t ? base + q * stride : ir[q];
  }
}

}  // namespace

// 2x2 windows at stride 2 without padding (the downsampling pool of VGG and most CNNs): one
// branch-free pass per output row over each window's four values in the general loops'
// order (row 0 left, right, then row 1), so ties and NaNs resolve exactly as there, instead
// of the general loops' four passes over the output row and its int64 indices.
inline bool whole_2x2(const Pool2dShape& s) {
  return s.kh == 2 && s.kw == 2 && s.sh == 2 && s.sw == 2 && s.ph == 0 && s.pw == 0 &&
         s.dh == 1 && s.dw == 1 && s.P == s.H / 2 && s.Q == s.W / 2;
}

template <typename T>
void max_pool2d_2x2_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, planes = s.planes(), Q = s.Q, W = s.W;
  const int nt = parallel::threads_for_elements(planes * HW);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      for (int64_t p = 0; p < s.P; ++p) {
        const T* __restrict r0 = x + pl * HW + 2 * p * W;
        const T* __restrict r1 = r0 + W;
        T* __restrict yr = y + pl * PQ + p * Q;
        int64_t* __restrict ir = idx + pl * PQ + p * Q;
        const int64_t top = 2 * p * W, bottom = top + W;
        for (int64_t q = 0; q < Q; ++q) {
          T m = r0[2 * q];
          int64_t k = top + 2 * q;
          const T b = r0[2 * q + 1], c = r1[2 * q], d = r1[2 * q + 1];
          bool t = takes(b, m);
          m = t ? b : m;
          k = t ? top + 2 * q + 1 : k;
          t = takes(c, m);
          m = t ? c : m;
          k = t ? bottom + 2 * q : k;
          t = takes(d, m);
          m = t ? d : m;
          k = t ? bottom + 2 * q + 1 : k;
          yr[q] = m;
          ir[q] = k;
        }
      }
    }
  });
}

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx) {
  if (whole_2x2(s)) return max_pool2d_2x2_forward(s, x, y, idx);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, planes = s.planes();
  int64_t qa, qb;
  interior_q(s, s.dw * (s.kw - 1), qa, qb);
  const int nt = parallel::threads_for_elements(planes * HW);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const T* xp = x + pl * HW;
      for (int64_t p = 0; p < s.P; ++p) {
        T* yr = y + pl * PQ + p * s.Q;
        int64_t* ir = idx + pl * PQ + p * s.Q;
        max_row_checked(s, xp, p, 0, qa, yr, ir);
        max_row_checked(s, xp, p, qb, s.Q, yr, ir);
        if (qb <= qa) continue;
        // Interior columns, window row by window row, tap by tap: the running max of the whole
        // output row stays in yr / ir (L1) and every tap is one branch-free pass over q.
        const int64_t h0 = p * s.sh - s.ph;
        bool first = true;
        int64_t i0, i1;
        taps_inside(h0, s.dh, s.kh, s.H, i0, i1);
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t h = h0 + i * s.dh;
          for (int64_t j = 0; j < s.kw; ++j) {
            const int64_t base = h * s.W + j * s.dw - s.pw;  // column q reads xp[base + q*sw]
            if (s.sw == 1) {
              max_tap<1>(xp, base, 1, qa, qb, first, yr, ir);
            } else if (s.sw == 2) {
              max_tap<2>(xp, base, 2, qa, qb, first, yr, ir);
            } else {
              max_tap<0>(xp, base, s.sw, qa, qb, first, yr, ir);
            }
            first = false;
          }
        }
        if (first) {  // every window row is padding (dilation can skip the whole input)
          std::fill(yr + qa, yr + qb, -std::numeric_limits<T>::infinity());
          std::fill(ir + qa, ir + qb, int64_t(-1));
        }
      }
    }
  });
}

template <typename T>
void index_pool_backward(int64_t planes, int64_t in_plane, int64_t out_plane, const T* dy,
                         const int64_t* idx, T* dx) {
  const int nt = parallel::threads_for_elements(planes * (in_plane + out_plane));
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      T* dxp = dx + pl * in_plane;
      std::fill(dxp, dxp + in_plane, T(0));
      const T* dyp = dy + pl * out_plane;
      const int64_t* ip = idx + pl * out_plane;
      for (int64_t o = 0; o < out_plane; ++o) {
        const int64_t k = ip[o];
        if (k >= 0 && k < in_plane) dxp[k] += dyp[o];  // indices were produced by forward
      }
    }
  });
}

namespace {

// Window [h0, h1) x [w0, w1) of average-pool output (p, q), clipped to the input, and its
// divisor.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  double div;
};

inline AvgWindow avg_window(const Pool2dShape& s, bool include_pad, int64_t p, int64_t q) {
  int64_t h0 = p * s.sh - s.ph, w0 = q * s.sw - s.pw;
  int64_t h1 = std::min(h0 + s.kh, s.H + s.ph), w1 = std::min(w0 + s.kw, s.W + s.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, s.H);
  w1 = std::min(w1, s.W);
  const int64_t inside = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, static_cast<double>(include_pad ? padded : inside)};
}

}  // namespace

// Average pooling over whole 2x2 windows (whole_2x2: LeNet's pools): the divisor is 4 either
// way, and a row pair is summed with contiguous vector adds before adjacent columns are
// paired (the general loops below read stride-2 columns one tap at a time).
template <typename T>
void avg_pool2d_2x2_forward(const Pool2dShape& s, const T* x, T* y) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, planes = s.planes(), Q = s.Q;
  const int nt = parallel::threads_for_elements(planes * HW);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      T rows[512];
      for (int64_t p = 0; p < s.P; ++p) {
        const T* __restrict r0 = x + pl * HW + 2 * p * s.W;
        const T* __restrict r1 = r0 + s.W;
        T* __restrict yr = y + pl * PQ + p * Q;
        for (int64_t q0 = 0; q0 < Q; q0 += 256) {  // rows of any width, 256 outputs at a time
          const int64_t qn = std::min<int64_t>(256, Q - q0);
          for (int64_t j = 0; j < 2 * qn; ++j) rows[j] = r0[2 * q0 + j] + r1[2 * q0 + j];
          for (int64_t q = 0; q < qn; ++q) yr[q0 + q] = (rows[2 * q] + rows[2 * q + 1]) * T(0.25);
        }
      }
    }
  });
}

template <typename T>
void avg_pool2d_2x2_backward(const Pool2dShape& s, const T* dy, T* dx) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, planes = s.planes(), Q = s.Q;
  const int nt = parallel::threads_for_elements(planes * HW);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      T* dxp = dx + pl * HW;
      if (s.H % 2 != 0 || s.W % 2 != 0) std::fill(dxp, dxp + HW, T(0));  // uncovered edges
      for (int64_t p = 0; p < s.P; ++p) {
        const T* __restrict g = dy + pl * PQ + p * Q;
        T* __restrict r0 = dxp + 2 * p * s.W;
        T* __restrict r1 = r0 + s.W;
        for (int64_t q = 0; q < Q; ++q) {
          const T v = g[q] * T(0.25);
          r0[2 * q] = v;
          r0[2 * q + 1] = v;
        }
        for (int64_t j = 0; j < 2 * Q; ++j) r1[j] = r0[j];
      }
    }
  });
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, bool include_pad, const T* x, T* y) {
  if (whole_2x2(s)) return avg_pool2d_2x2_forward(s, x, y);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, planes = s.planes();
  int64_t qa, qb;
  interior_q(s, s.kw - 1, qa, qb);
  const int nt = parallel::threads_for_elements(planes * HW);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const T* xp = x + pl * HW;
      T* yp = y + pl * PQ;
      for (int64_t p = 0; p < s.P; ++p) {
        T* yr = yp + p * s.Q;
        auto window = [&](int64_t q) {
          const AvgWindow w = avg_window(s, include_pad, p, q);
          T acc = 0;
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) acc += xp[h * s.W + c];
          yr[q] = w.div > 0 ? static_cast<T>(acc / w.div) : T(0);
        };
        for (int64_t q = 0; q < qa; ++q) window(q);
        for (int64_t q = qb; q < s.Q; ++q) window(q);
        if (qb <= qa) continue;
        // Interior columns: one branch-free pass over q per tap, summing into the output row.
        const AvgWindow w = avg_window(s, include_pad, p, qa);  // same rows and divisor for all
        for (int64_t q = qa; q < qb; ++q) yr[q] = T(0);
        for (int64_t h = w.h0; h < w.h1; ++h) {
          for (int64_t j = 0; j < s.kw; ++j) {
            const T* row = xp + h * s.W;
            const int64_t off = j - s.pw;
            for (int64_t q = qa; q < qb; ++q) yr[q] += row[q * s.sw + off];
          }
        }
        const T inv = w.div > 0 ? static_cast<T>(1.0 / w.div) : T(0);
        for (int64_t q = qa; q < qb; ++q) yr[q] *= inv;
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, bool include_pad, const T* dy, T* dx) {
  if (whole_2x2(s)) return avg_pool2d_2x2_backward(s, dy, dx);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q, planes = s.planes();
  int64_t qa, qb;
  interior_q(s, s.kw - 1, qa, qb);
  const int nt = parallel::threads_for_elements(planes * HW);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      T* dxp = dx + pl * HW;
      std::fill(dxp, dxp + HW, T(0));
      const T* dyp = dy + pl * PQ;
      for (int64_t p = 0; p < s.P; ++p) {
        const T* gr = dyp + p * s.Q;
        auto window = [&](int64_t q) {
          const AvgWindow w = avg_window(s, include_pad, p, q);
          if (w.div <= 0) return;
          const T g = static_cast<T>(gr[q] / w.div);
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t c = w.w0; c < w.w1; ++c) dxp[h * s.W + c] += g;
        };
        for (int64_t q = 0; q < qa; ++q) window(q);
        for (int64_t q = qb; q < s.Q; ++q) window(q);
        if (qb <= qa) continue;
        const AvgWindow w = avg_window(s, include_pad, p, qa);
        if (w.div <= 0) continue;
        const T inv = static_cast<T>(1.0 / w.div);
        // For a fixed tap the interior columns write distinct positions (q * sw + const), so
        // each pass over q is free of conflicts and vectorises.
        for (int64_t h = w.h0; h < w.h1; ++h) {
          T* row = dxp + h * s.W;
          for (int64_t j = 0; j < s.kw; ++j) {
            const int64_t off = j - s.pw;
            for (int64_t q = qa; q < qb; ++q) row[q * s.sw + off] += gr[q] * inv;
          }
        }
      }
    }
  });
}

namespace {
inline int64_t ad_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
inline int64_t ad_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }
}  // namespace

template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                 const T* x, T* y) {
  const int nt = parallel::threads_for_elements(planes * H * W);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const T* xp = x + pl * H * W;
      T* yp = y + pl * P * Q;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t h0 = ad_start(p, H, P), h1 = ad_end(p, H, P);
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t w0 = ad_start(q, W, Q), w1 = ad_end(q, W, Q);
          T acc = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t c = w0; c < w1; ++c) acc += xp[h * W + c];
          yp[p * Q + q] = acc / static_cast<T>((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                  const T* dy, T* dx) {
  const int nt = parallel::threads_for_elements(planes * H * W);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      T* dxp = dx + pl * H * W;
      std::fill(dxp, dxp + H * W, T(0));
      const T* dyp = dy + pl * P * Q;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t h0 = ad_start(p, H, P), h1 = ad_end(p, H, P);
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t w0 = ad_start(q, W, Q), w1 = ad_end(q, W, Q);
          const T g = dyp[p * Q + q] / static_cast<T>((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t c = w0; c < w1; ++c) dxp[h * W + c] += g;
        }
      }
    }
  });
}

template <typename T>
void adaptive_max_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                 const T* x, T* y, int64_t* idx) {
  const int nt = parallel::threads_for_elements(planes * H * W);
  parallel::for_ranges(planes, nt, [&](int64_t pl_begin, int64_t pl_end) {
    for (int64_t pl = pl_begin; pl < pl_end; ++pl) {
      const T* xp = x + pl * H * W;
      T* yp = y + pl * P * Q;
      int64_t* ip = idx + pl * P * Q;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t h0 = ad_start(p, H, P), h1 = ad_end(p, H, P);
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t w0 = ad_start(q, W, Q), w1 = ad_end(q, W, Q);
          T best = xp[h0 * W + w0];
          int64_t arg = h0 * W + w0;
          for (int64_t h = h0; h < h1; ++h) {
            for (int64_t c = w0; c < w1; ++c) {
              const T v = xp[h * W + c];
              if (takes(v, best)) {
                best = v;
                arg = h * W + c;
              }
            }
          }
          yp[p * Q + q] = best;
          ip[p * Q + q] = arg;
        }
      }
    }
  });
}

template <typename T>
constexpr ::ember::pool::Kernels<T> make_table() {
  return {&max_pool2d_forward<T>, &index_pool_backward<T>, &avg_pool2d_forward<T>,
          &avg_pool2d_backward<T>, &adaptive_avg_pool2d_forward<T>,
          &adaptive_avg_pool2d_backward<T>, &adaptive_max_pool2d_forward<T>};
}

const ::ember::pool::Kernels<float>& kernels(float) {
  static constexpr ::ember::pool::Kernels<float> table = make_table<float>();
  return table;
}
const ::ember::pool::Kernels<double>& kernels(double) {
  static constexpr ::ember::pool::Kernels<double> table = make_table<double>();
  return table;
}

}  // namespace ember::EMBER_ISA_NS::pool
