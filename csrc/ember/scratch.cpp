#include "ember/scratch.h"

#include <cstdlib>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace ember {

ScratchBuffer::~ScratchBuffer() { std::free(ptr_); }

void* ScratchBuffer::get(size_t bytes) {
  if (bytes > cap_) {
    std::free(ptr_);
    constexpr size_t kHuge = size_t(2) << 20;
    const bool huge = bytes >= 2 * kHuge;
    const size_t align = huge ? kHuge : 4096;
    cap_ = (bytes + align - 1) & ~(align - 1);
    ptr_ = std::aligned_alloc(huge ? kHuge : 64, cap_);
    if (ptr_ == nullptr) {
      cap_ = 0;
      throw std::bad_alloc();
    }
#ifdef MADV_HUGEPAGE
    if (huge) madvise(ptr_, cap_, MADV_HUGEPAGE);  // a hint: failure changes nothing
#endif
  }
  return ptr_;
}

}  // namespace ember
