// Per-thread reusable scratch memory: kernels call scratch<T>(slot, n) inside their parallel
// regions and get an aligned buffer of at least n elements that persists across calls, so
// steady-state training steps allocate nothing. Each (thread, slot) pair owns one buffer; a
// kernel uses distinct slots for buffers it needs at the same time.
#pragma once

#include <cstddef>

namespace ember {

class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer();
  // At least `bytes` bytes, 64-byte aligned; buffers of 4 MiB and more are 2 MiB-aligned and
  // marked for transparent huge pages (Linux): kernels that walk them with large strides
  // otherwise miss the TLB on most steps. Throws std::bad_alloc.
  void* get(size_t bytes);

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
