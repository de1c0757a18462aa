// Per-thread reusable scratch memory: kernels call scratch<T>(slot, n) inside their parallel
// regions and get an aligned buffer of at least n elements that persists across calls, so
// steady-state training steps allocate nothing. Each (thread, slot) pair owns one buffer; a
// kernel uses distinct slots for buffers it needs at the same time.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace ember {

class ScratchBuffer {
 public:
  ~ScratchBuffer() { std::free(ptr_); }
  // Buffers of 4 MiB and more are 2 MiB-aligned and marked for transparent huge pages
  // (Linux): kernels that walk them with large strides (the per-pixel convolution's filter
  // rows 19 KiB apart) otherwise miss the TLB on most steps.
  void* get(size_t bytes) {
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

 private:
  void* ptr_ = nullptr;
  size_t cap_ = 0;
};

constexpr int kScratchSlots = 4;

template <typename T>
T* scratch(int slot, size_t n) {
  static thread_local ScratchBuffer buffers[kScratchSlots];
  return static_cast<T*>(buffers[slot].get(n * sizeof(T) + 64));
}

}  // namespace ember
