// The containers a Snapshot is made of, shared part by part between a
// snapshot and the one a delta update derives from it (Snapshot::apply), so
// a change costs in proportion to what it touches, not to the table.
//
// SharedVector<T>: a vector cut into chunks of 2^Shift elements, each chunk
// held by shared_ptr. Copying one copies the list of chunks; mutate(i) copies
// the one chunk that holds i when another vector still shares it. Reading is
// one load more than a std::vector (the chunk pointer).
//
// SharedIndex: a name → position map cut the same way, into shards chosen by
// the name's hash (routing/shared_map.hpp).
//
// Both are written by one thread while they are private to it (a snapshot
// being built) and only read once published: a chunk with one owner is
// written in place, safely, because nothing else can reach it.
#pragma once

#include "routing/shared_map.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tg::proxy {

template <typename T, unsigned Shift = 6>
class SharedVector {
 public:
  static constexpr std::size_t kChunk = std::size_t{1} << Shift;
  static constexpr std::size_t kMask = kChunk - 1;

  const T& operator[](std::size_t i) const { return chunks_[i >> Shift]->items[i & kMask]; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& back() const { return (*this)[size_ - 1]; }

  // Element i, writable: its chunk is copied first when shared.
  T& mutate(std::size_t i) {
    std::shared_ptr<Chunk>& chunk = chunks_[i >> Shift];
    if (chunk.use_count() > 1) chunk = std::make_shared<Chunk>(*chunk);
    return chunk->items[i & kMask];
  }
  void push_back(T value) {
    if ((size_ & kMask) == 0) chunks_.push_back(std::make_shared<Chunk>());
    chunks_.back()->items[size_ & kMask] = std::move(value);  // a new chunk, or the last one already made writable
    ++size_;
  }
  // push_back for a vector that may share its last chunk.
  void append(T value) {
    if ((size_ & kMask) != 0) mutate(size_ - 1);
    push_back(std::move(value));
  }
  void pop_back() {
    --size_;
    if ((size_ & kMask) == 0) {
      chunks_.pop_back();
    } else {
      mutate(size_) = T{};
    }
  }
  void reserve(std::size_t n) { chunks_.reserve((n + kMask) >> Shift); }
  // How many chunks this vector shares with `other` (tests, benchmarks).
  std::size_t shared_chunks(const SharedVector& other) const {
    std::size_t n = 0;
    for (std::size_t c = 0; c < chunks_.size() && c < other.chunks_.size(); ++c) n += chunks_[c] == other.chunks_[c];
    return n;
  }

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    const_iterator(const SharedVector* v, std::size_t i) : v_(v), i_(i) {}
    const T& operator*() const { return (*v_)[i_]; }
    const T* operator->() const { return &(*v_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const SharedVector* v_;
    std::size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  struct Chunk {
    std::array<T, kChunk> items{};
  };
  std::vector<std::shared_ptr<Chunk>> chunks_;
  std::size_t size_ = 0;
};

using SharedIndex = routing::SharedMap<std::uint32_t>;

}  // namespace tg::proxy
