// Entry point of the frame backward-weight's dot tiles: the active tier's copy.
#include "ember/conv/frame_dot.h"

namespace ember::conv {

template <typename T>
void frame_dot(const FrameDotArgs& a, const T* dyf, const T* xf, T* dw) {
  static const IsaTables<FrameDotKernels<T>> tables =
      EMBER_ISA_TABLES(conv::frame_dot_kernels(T{}));
  tables.active().dot(a, dyf, xf, dw);
}
template void frame_dot<float>(const FrameDotArgs&, const float*, const float*, float*);
template void frame_dot<double>(const FrameDotArgs&, const double*, const double*, double*);

}  // namespace ember::conv
