#include "runtime/slab.hpp"

#include <sys/mman.h>

#include <new>

namespace tg::proxy {

namespace {
constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::size_t kAlign = alignof(std::max_align_t);
}  // namespace

Slab::Slab(std::size_t object_size)
    : object_size_((object_size < sizeof(FreeNode) ? sizeof(FreeNode) : object_size + kAlign - 1) / kAlign * kAlign) {}

Slab::~Slab() {
  for (void* block : blocks_) ::munmap(block, kBlockBytes);
}

void* Slab::allocate() {
  if (!free_) grow();
  FreeNode* node = free_;
  free_ = node->next;
  return node;
}

void Slab::deallocate(void* p) {
  auto* node = static_cast<FreeNode*>(p);
  node->next = free_;
  free_ = node;
}

void Slab::grow() {
  void* block = ::mmap(nullptr, kBlockBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) throw std::bad_alloc();
  blocks_.push_back(block);
  // Thread the new objects onto the free list, first object first.
  char* base = static_cast<char*>(block);
  const std::size_t count = kBlockBytes / object_size_;
  for (std::size_t i = count; i-- > 0;) {
    auto* node = reinterpret_cast<FreeNode*>(base + i * object_size_);
    node->next = free_;
    free_ = node;
  }
}

}  // namespace tg::proxy
