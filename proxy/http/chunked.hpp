// Framing of a chunked body (RFC 9112 §7.1) without decoding it.
//
// The proxy forwards chunked bodies verbatim; this scanner only finds where the
// body ends (after the last chunk and the trailers) and rejects malformed
// framing, so the next message on the connection starts at the right byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tg::proxy::http {

class ChunkedScanner {
 public:
  enum class Result : std::uint8_t { need_more, done, error };

  // Consumes up to `size` bytes. `consumed` is how many belong to the body
  // (all of them unless the body ends inside the range).
  Result consume(const char* data, std::size_t size, std::size_t& consumed);

  // As consume(), and also removes the framing in place: the chunk data of
  // data[0, consumed) is moved to data[0, decoded). For recipients that cannot
  // take chunked bodies (HTTP/1.0 clients).
  Result consume_decoding(char* data, std::size_t size, std::size_t& consumed, std::size_t& decoded);

  // Sum of chunk-data sizes seen so far (for body-size limits).
  std::uint64_t data_bytes() const { return data_bytes_; }
  bool done() const { return state_ == State::done; }
  void reset() { *this = ChunkedScanner{}; }

 private:
  template <bool Decode>
  Result run(char* data, std::size_t size, std::size_t& consumed, std::size_t& decoded);

  enum class State : std::uint8_t {
    size_first,   // first hex digit of a chunk size
    size,         // further hex digits
    ext,          // chunk extension up to CR
    size_lf,      // LF after the size line
    data,         // chunk data
    data_cr,      // CR after chunk data
    data_lf,      // LF after chunk data
    trailer_start,// start of a trailer line, or the final CRLF
    trailer,      // inside a trailer line
    trailer_lf,   // LF ending a trailer line
    final_lf,     // LF of the final empty line
    done,
  };
  State state_ = State::size_first;
  std::uint64_t remaining_ = 0;   // chunk size being read, then data left
  std::uint64_t data_bytes_ = 0;
  std::uint8_t size_digits_ = 0;
  std::uint32_t line_bytes_ = 0;  // bytes in the current size/trailer line
};

}  // namespace tg::proxy::http
