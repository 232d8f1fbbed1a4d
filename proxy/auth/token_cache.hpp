// Verified JWTs of one worker, so a token seen again costs a hash and a
// compare instead of a signature check. Bounded: 4-way set-associative, the
// least recently used way of a set replaced; an entry is found only with its
// whole token, for the AuthIndex generation it was verified against, and
// until its exp (+ skew). No allocation once the entries' strings have grown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tg::proxy::auth {

class TokenCache {
 public:
  static constexpr std::size_t kWays = 4;
  // Tokens longer than this are verified every time.
  static constexpr std::size_t kMaxCachedToken = 4096;

  // `capacity` entries (rounded up to a multiple of kWays; at least one set).
  explicit TokenCache(std::size_t capacity);

  static std::uint64_t hash(std::string_view token);

  // The tenant of `token` verified for `generation` and still valid at `now`
  // (Unix seconds), or -1.
  std::int32_t find(std::string_view token, std::uint64_t hash, std::uint64_t generation, std::int64_t now);
  void insert(std::string_view token, std::uint64_t hash, std::uint64_t generation, std::uint32_t tenant,
              std::int64_t valid_until);

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::uint64_t generation = 0;  // 0: empty
    std::int64_t valid_until = 0;
    std::uint64_t used = 0;
    std::uint32_t tenant = 0;
    std::string token;
  };
  Entry* set_of(std::uint64_t hash) { return &entries_[(hash % sets_) * kWays]; }

  std::vector<Entry> entries_;
  std::size_t sets_;
  std::size_t size_ = 0;
  std::uint64_t clock_ = 0;
};

}  // namespace tg::proxy::auth
