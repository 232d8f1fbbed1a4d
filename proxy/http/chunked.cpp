#include "http/chunked.hpp"

#include "http/char_class.hpp"

#include <algorithm>
#include <cstring>

namespace tg::proxy::http {

namespace {
constexpr std::uint32_t kMaxLineBytes = 4096;  // size line (digits and extensions), or one trailer line
// Chunk sizes stay below 2^60: one more hex digit on a value at or above
// this would reach it.
constexpr std::uint64_t kMaxSizeBeforeDigit = (std::uint64_t{1} << 56) - 1;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kLowerHex[] = "0123456789abcdef";
}  // namespace

ChunkedScanner::Result ChunkedScanner::consume(const char* data, std::size_t size, std::size_t& consumed) {
  std::size_t out = 0;
  // run<Mode::scan> never writes through the pointer.
  return run<Mode::scan>(const_cast<char*>(data), size, consumed, out);
}

ChunkedScanner::Result ChunkedScanner::consume_decoding(char* data, std::size_t size, std::size_t& consumed,
                                                        std::size_t& decoded) {
  decoded = 0;
  return run<Mode::decode>(data, size, consumed, decoded);
}

ChunkedScanner::Result ChunkedScanner::consume_canonical(char* data, std::size_t size, std::size_t& consumed,
                                                         std::size_t& canonical) {
  canonical = 0;
  return run<Mode::canonical>(data, size, consumed, canonical);
}

// In canonical mode `out` never passes `i`: each input byte writes at most one
// output byte, except the byte ending an all-zero size, which writes "0" and
// itself; that size had at least one '0' in this call's bytes that wrote
// nothing (the carry-over guarantees it), so the two fit.
template <ChunkedScanner::Mode M>
ChunkedScanner::Result ChunkedScanner::run(char* data, std::size_t size, std::size_t& consumed, std::size_t& out) {
  constexpr bool kCanon = M == Mode::canonical;
  [[maybe_unused]] auto emit = [&](char c) {
    if constexpr (kCanon) data[out++] = c;
  };
  std::size_t i = 0;
  while (i < size) {
    const char c = data[i];
    switch (state_) {
      case State::size_first:
      case State::size: {
        int v = hex_value(c);
        if (v >= 0) {
          if (remaining_ > kMaxSizeBeforeDigit || ++line_bytes_ > kMaxLineBytes) return Result::error;
          remaining_ = remaining_ * 16 + static_cast<unsigned>(v);
          state_ = State::size;
          if (remaining_ != 0) emit(kLowerHex[v]);  // leading zeros write nothing
        } else if (state_ == State::size_first) {
          return Result::error;
        } else {
          if (c == '\r') {
            state_ = State::size_lf;
          } else if (c == ';' || c == ' ' || c == '\t') {
            state_ = State::ext;  // BWS before an extension is checked there
          } else {
            return Result::error;
          }
          if (remaining_ == 0) emit('0');
          if (c == '\r') emit('\r');
        }
        ++i;
        break;
      }
      case State::ext:
        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ); we accept
        // visible characters and whitespace, never a control character.
        if (c == '\r') {
          state_ = State::size_lf;
          emit('\r');
        } else if (!kFieldChar[static_cast<unsigned char>(c)] || ++line_bytes_ > kMaxLineBytes) {
          return Result::error;
        }
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return Result::error;
        emit('\n');
        ++i;
        line_bytes_ = 0;
        if (remaining_ == 0) {
          state_ = State::trailer_start;
        } else {
          data_bytes_ += remaining_;
          state_ = State::data;
        }
        break;
      case State::data: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size - i));
        if constexpr (M != Mode::scan) {
          if (out != i) std::memmove(data + out, data + i, take);
          out += take;
        }
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (c != '\r') return Result::error;
        emit(c);
        state_ = State::data_lf;
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return Result::error;
        emit(c);
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
        emit(c);
        ++i;
        break;
      case State::trailer:
        if (c == '\r') {
          state_ = State::trailer_lf;
        } else if (!kFieldChar[static_cast<unsigned char>(c)] || ++line_bytes_ > kMaxLineBytes) {
          return Result::error;
        }
        emit(c);
        ++i;
        break;
      case State::trailer_lf:
        if (c != '\n') return Result::error;
        emit(c);
        state_ = State::trailer_start;
        ++i;
        break;
      case State::final_lf:
        if (c != '\n') return Result::error;
        emit(c);
        state_ = State::done;
        ++i;
        consumed = i;
        return Result::done;
      case State::done:
        consumed = i;
        return Result::done;
    }
  }
  if constexpr (kCanon) {
    // Only zeros so far in this size line, and its last '0' is data[i - 1]:
    // keep it for the next call (see consume_canonical).
    if (i > 0 && state_ == State::size && remaining_ == 0) {
      --i;
      --line_bytes_;
    }
  }
  consumed = i;
  return state_ == State::done ? Result::done : Result::need_more;
}

}  // namespace tg::proxy::http
