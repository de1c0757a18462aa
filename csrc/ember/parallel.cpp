#include "ember/parallel.h"

#include <algorithm>

#include "ember/cpu.h"

namespace ember::parallel {

int threads_for_elements(int64_t elements, int64_t max_parts) {
  const int nt = get_num_threads();
  if (nt <= 1 || elements < kMinParallelElements || max_parts < 2) return 1;
  return static_cast<int>(std::min<int64_t>(nt, max_parts));
}

int threads_for_madds(double madds, double serial_below) {
  const int nt = get_num_threads();
  if (nt <= 1 || madds < serial_below) return 1;
  const int64_t by_work = static_cast<int64_t>(madds / kMaddsPerThread);
  return static_cast<int>(std::max<int64_t>(2, std::min<int64_t>(nt, by_work)));
}

int threads_for_parts(int64_t parts) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), parts)));
}

}  // namespace ember::parallel
