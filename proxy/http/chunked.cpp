#include "http/chunked.hpp"

#include "http/char_class.hpp"

#include <algorithm>
#include <cstring>

namespace tg::proxy::http {

namespace {
constexpr std::uint32_t kMaxLineBytes = 4096;  // size line with extensions, or one trailer line
constexpr std::uint8_t kMaxSizeDigits = 15;    // < 2^60 bytes

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

ChunkedScanner::Result ChunkedScanner::consume(const char* data, std::size_t size, std::size_t& consumed) {
  std::size_t decoded = 0;
  // run<false> never writes through the pointer.
  return run<false>(const_cast<char*>(data), size, consumed, decoded);
}

ChunkedScanner::Result ChunkedScanner::consume_decoding(char* data, std::size_t size, std::size_t& consumed,
                                                        std::size_t& decoded) {
  decoded = 0;
  return run<true>(data, size, consumed, decoded);
}

template <bool Decode>
ChunkedScanner::Result ChunkedScanner::run(char* data, std::size_t size, std::size_t& consumed,
                                           std::size_t& decoded) {
  std::size_t i = 0;
  while (i < size) {
    const char c = data[i];
    switch (state_) {
      case State::size_first:
      case State::size: {
        int v = hex_value(c);
        if (v >= 0) {
          if (++size_digits_ > kMaxSizeDigits) return Result::error;
          remaining_ = remaining_ * 16 + static_cast<unsigned>(v);
          state_ = State::size;
        } else if (state_ == State::size_first) {
          return Result::error;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == ';') {
          state_ = State::ext;
        } else if (c == ' ' || c == '\t') {
          state_ = State::ext;  // BWS before an extension; checked there
        } else {
          return Result::error;
        }
        ++i;
        break;
      }
      case State::ext:
        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ); we accept
        // visible characters and whitespace, never a control character.
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (!kFieldChar[static_cast<unsigned char>(c)] || ++line_bytes_ > kMaxLineBytes) {
          return Result::error;
        }
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return Result::error;
        ++i;
        line_bytes_ = 0;
        size_digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::trailer_start;
        } else {
          data_bytes_ += remaining_;
          state_ = State::data;
        }
        break;
      case State::data: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size - i));
        if constexpr (Decode) {
          if (decoded != i) std::memmove(data + decoded, data + i, take);
          decoded += take;
        }
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (c != '\r') return Result::error;
        state_ = State::data_lf;
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return Result::error;
        state_ = State::size_first;
        ++i;
        break;
      case State::trailer_start:
        if (c == '\r') {
          state_ = State::final_lf;
        } else if (is_token_char(static_cast<unsigned char>(c))) {
          state_ = State::trailer;
          line_bytes_ = 1;
        } else {
          return Result::error;  // obs-fold or garbage
        }
        ++i;
        break;
      case State::trailer:
        if (c == '\r') {
          state_ = State::trailer_lf;
        } else if (!kFieldChar[static_cast<unsigned char>(c)] || ++line_bytes_ > kMaxLineBytes) {
          return Result::error;
        }
        ++i;
        break;
      case State::trailer_lf:
        if (c != '\n') return Result::error;
        state_ = State::trailer_start;
        ++i;
        break;
      case State::final_lf:
        if (c != '\n') return Result::error;
        state_ = State::done;
        ++i;
        consumed = i;
        return Result::done;
      case State::done:
        consumed = i;
        return Result::done;
    }
  }
  consumed = i;
  return state_ == State::done ? Result::done : Result::need_more;
}

}  // namespace tg::proxy::http
