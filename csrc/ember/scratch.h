// Per-thread reusable scratch memory: kernels call scratch<T>(slot, n) inside their parallel
// regions and get an aligned buffer of at least n elements that persists across calls, so
// steady-state training steps allocate nothing. Each (thread, slot) pair owns one buffer; a
// kernel uses distinct slots for buffers it needs at the same time.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace ember {

class ScratchBuffer {
 public:
  ~ScratchBuffer() { std::free(ptr_); }
  void* get(size_t bytes) {
    if (bytes > cap_) {
      std::free(ptr_);
      cap_ = (bytes + 4095) & ~size_t(4095);
      ptr_ = std::aligned_alloc(64, cap_);
      if (ptr_ == nullptr) {
        cap_ = 0;
        throw std::bad_alloc();
      }
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
