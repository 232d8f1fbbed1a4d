// A per-thread slab for objects of one size that live long and come and go
// in bursts (client sessions): kept densely in 64 KiB blocks taken from the
// kernel, away from the general heap.
//
// Why: sessions allocated with malloc sit between the short-lived asio
// operations of the same burst; when those are freed, the holes between
// live sessions stay resident. Measured with 8,000 idle keep-alive
// connections: 4.7 MB of worker heap for 1.3 MB of sessions.
//
// Freed objects go on a free list and are reused; blocks are kept for the
// life of the thread (bounded by the peak number of objects).
#pragma once

#include <cstddef>
#include <vector>

namespace tg::proxy {

class Slab {
 public:
  explicit Slab(std::size_t object_size);
  ~Slab();
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  void* allocate();
  void deallocate(void* p);

 private:
  struct FreeNode {
    FreeNode* next;
  };
  void grow();

  std::size_t object_size_;
  FreeNode* free_ = nullptr;
  std::vector<void*> blocks_;
};

}  // namespace tg::proxy
