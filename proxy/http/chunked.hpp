// Framing of a chunked body (RFC 9112 §7.1).
//
// The scanner finds where the body ends (after the last chunk and the
// trailers) and rejects malformed framing, so the next message on the
// connection starts at the right byte. Its rewriting modes work in place in
// the same single pass: consume_canonical() forwards the body in canonical
// framing (docs/http-conformance.md, Normalised), consume_decoding() strips
// the framing for HTTP/1.0 recipients.
//
// A chunk size is bounded by its value (below 2^60, far past any body limit),
// not by its number of digits: "000000000000000000000ea" is 0xea. The whole
// size line (digits and extensions) is bounded by 4096 bytes, like a trailer
// line.
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

  // As consume(), and also rewrites the framing in place into its canonical
  // form: data[0, canonical) is what to forward for data[0, consumed). Each
  // chunk-size line becomes the size in lower-case hex without leading zeros
  // and without extensions ("00A;x=1\r\n" -> "a\r\n"); chunk data, the CRLF
  // after it, trailers and the final CRLF are kept as they are. canonical <=
  // consumed always.
  //
  // Carry-over: when the bytes end inside a size line that has only zeros so
  // far, the last '0' is left unconsumed (consumed == size - 1 with
  // need_more): the caller must present data[consumed, size) again, followed
  // by the next bytes. That '0' is the room for writing "0" should the line
  // turn out to be the last chunk. Every other split needs no carry-over.
  Result consume_canonical(char* data, std::size_t size, std::size_t& consumed, std::size_t& canonical);

  // Sum of chunk-data sizes seen so far (for body-size limits).
  std::uint64_t data_bytes() const { return data_bytes_; }
  bool done() const { return state_ == State::done; }
  void reset() { *this = ChunkedScanner{}; }

 private:
  enum class Mode : std::uint8_t { scan, decode, canonical };
  template <Mode M>
  Result run(char* data, std::size_t size, std::size_t& consumed, std::size_t& out);

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
  std::uint32_t line_bytes_ = 0;  // bytes in the current size/trailer line
};

}  // namespace tg::proxy::http
