// Protobuf wire-format reading for the table stream's byte-level work
// (digests, entry splitting): only what a length-delimited element needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tg::table::wire {

// A base-128 varint at `at`; false when it runs past the end or over 10 bytes.
inline bool read_varint(std::string_view bytes, std::size_t& at, std::uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 70 && at < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

inline void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// One length-delimited element at `at` (tag, length, payload): its field
// number and payload; `at` moves past it. False when malformed or not
// length-delimited.
inline bool read_element(std::string_view bytes, std::size_t& at, std::uint64_t& field, std::string_view& payload) {
  std::uint64_t tag = 0, length = 0;
  if (!read_varint(bytes, at, tag) || (tag & 7) != 2 || !read_varint(bytes, at, length) || length > bytes.size() - at)
    return false;
  field = tag >> 3;
  payload = bytes.substr(at, length);
  at += length;
  return true;
}

}  // namespace tg::table::wire
