// Fused optimizer entry points: the active tier's kernels.
#include "ember/optim/optim.h"

namespace ember::optim {

namespace {
template <typename T>
const Kernels<T>& table() {
  static const IsaTables<Kernels<T>> tables = EMBER_ISA_TABLES(optim::kernels(T{}));
  return tables.active();
}
}  // namespace

template <typename T>
void sgd_step(const Group<T>& g, T* const* buf, const uint8_t* first, const SgdOptions& o) {
  table<T>().sgd(g, buf, first, o);
}
template <typename T>
void adam_step(const Group<T>& g, T* const* exp_avg, T* const* exp_avg_sq,
               T* const* max_exp_avg_sq, const double* step, const AdamOptions& o) {
  table<T>().adam(g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, o);
}
template <typename T>
void rmsprop_step(const Group<T>& g, T* const* square_avg, T* const* grad_avg,
                  T* const* momentum_buffer, const RmspropOptions& o) {
  table<T>().rmsprop(g, square_avg, grad_avg, momentum_buffer, o);
}
template <typename T>
void adagrad_step(const Group<T>& g, T* const* sum, const double* step,
                  const AdagradOptions& o) {
  table<T>().adagrad(g, sum, step, o);
}
template <typename T>
void adadelta_step(const Group<T>& g, T* const* square_avg, T* const* acc_delta,
                   const AdadeltaOptions& o) {
  table<T>().adadelta(g, square_avg, acc_delta, o);
}

#define EMBER_OPTIM_INSTANTIATE(T)                                                            \
  template void sgd_step<T>(const Group<T>&, T* const*, const uint8_t*, const SgdOptions&);  \
  template void adam_step<T>(const Group<T>&, T* const*, T* const*, T* const*,               \
                             const double*, const AdamOptions&);                             \
  template void rmsprop_step<T>(const Group<T>&, T* const*, T* const*, T* const*,            \
                                const RmspropOptions&);                                      \
  template void adagrad_step<T>(const Group<T>&, T* const*, const double*,                   \
                                const AdagradOptions&);                                      \
  template void adadelta_step<T>(const Group<T>&, T* const*, T* const*, const AdadeltaOptions&);
EMBER_OPTIM_INSTANTIATE(float)
EMBER_OPTIM_INSTANTIATE(double)
#undef EMBER_OPTIM_INSTANTIATE

}  // namespace ember::optim
