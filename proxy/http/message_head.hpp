// Parsed HTTP/1.x message heads that point into the connection's read buffer.
//
// The parser never copies a header: every name and value is an (offset, length)
// span into the buffer that holds the head, so parsing costs one pass and no
// allocation. Spans stay valid while the buffer is not moved or overwritten,
// i.e. until the head has been forwarded.
#pragma once

#include <cstdint>
#include <string_view>

namespace tg::proxy::http {

struct Span {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;

  std::string_view view(const char* base) const { return {base + offset, length}; }
  bool empty() const { return length == 0; }
};

// Headers the proxy acts on; everything else is `other` and passes through.
enum class HeaderKind : std::uint8_t {
  other,
  host,
  content_length,
  transfer_encoding,
  connection,
  keep_alive,
  proxy_connection,
  te,
  upgrade,
  x_forwarded_for,
  x_forwarded_proto,
  x_request_id,
  expect,
  // Named by phase 4 on routes with `auth: required` (the parser leaves them
  // `other`), for phase 6 to replace or strip.
  authorization,
  x_api_key,
  x_tenant_id,
};

struct HeaderField {
  Span name;
  Span value;       // without surrounding whitespace
  Span line;        // the whole line including CRLF, for verbatim copies
  HeaderKind kind = HeaderKind::other;
};

// Why a head was rejected. Request errors become 400 (431 for the size ones),
// response errors become 502 bad_upstream_response.
enum class ParseError : std::uint8_t {
  none,
  bad_line_ending,       // bare CR or bare LF
  bad_start_line,
  bad_method,
  bad_target,
  bad_version,
  bad_status,
  bad_header_name,       // empty, non-token, or whitespace before the colon
  bad_header_value,      // control characters
  obs_fold,              // continuation line
  too_many_headers,
  head_too_large,
  bad_content_length,    // non-numeric, overflow, duplicate
  bad_transfer_encoding, // not a final "chunked", duplicated, or with HTTP/1.0
  content_length_and_chunked,
  bad_host,              // missing (HTTP/1.1), duplicated, or malformed
};

std::string_view to_string(ParseError error);

enum class ParseStatus : std::uint8_t { complete, incomplete, error };

struct MessageHead {
  std::uint32_t head_length = 0;  // bytes up to and including the empty line
  std::uint8_t version_minor = 1; // HTTP/1.<minor>
  std::uint16_t header_count = 0;
  HeaderField* headers = nullptr; // caller-provided array

  // Framing.
  std::int64_t content_length = -1;  // -1: none given
  bool chunked = false;

  // Connection semantics.
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  bool connection_lists_others = false;  // Connection names other headers to drop

  ParseError error = ParseError::none;

  bool keep_alive_requested() const {
    return version_minor >= 1 ? !connection_close : connection_keep_alive;
  }
};

enum class Method : std::uint8_t { other, get, head, post, put, delete_, options, patch, trace, connect };

struct RequestHead : MessageHead {
  Span method;
  Span target;        // as received
  Span path;          // origin-form path (from absolute-form when given), no query
  Span query;         // after '?', without it; empty when none
  Span host;          // Host header value (or absolute-form authority)
  Method method_id = Method::other;
  bool absolute_form = false;  // host came from the target's authority
  bool expect_continue = false;
  std::int16_t x_forwarded_for = -1;  // index of the first such header, -1 none
  std::int16_t x_request_id = -1;

  bool idempotent() const {
    return method_id == Method::get || method_id == Method::head || method_id == Method::put ||
           method_id == Method::delete_ || method_id == Method::options || method_id == Method::trace;
  }
};

struct ResponseHead : MessageHead {
  std::uint16_t status = 0;
};

struct ParseLimits {
  std::uint32_t max_head_bytes = 16 * 1024;
  std::uint16_t max_headers = 100;
};

// Incremental head parsers. `scanned` carries how far earlier calls looked for
// the end of the head so bytes are not rescanned; start it at 0 per message.
// `headers` must have room for limits.max_headers entries.
// Returns incomplete while the empty line has not arrived (and the head is
// still within max_head_bytes), error with out.error set, or complete.
ParseStatus parse_request(const char* data, std::size_t size, std::size_t& scanned,
                          const ParseLimits& limits, HeaderField* headers, RequestHead& out);
ParseStatus parse_response(const char* data, std::size_t size, std::size_t& scanned,
                           const ParseLimits& limits, HeaderField* headers, ResponseHead& out);

// Case-insensitive comparison of `text` with an already lower-case ASCII `lower`.
bool iequals(std::string_view text, std::string_view lower);

// Calls `fn(token)` for each comma-separated, trimmed, non-empty token.
template <typename Fn>
void for_each_token(std::string_view list, Fn&& fn) {
  std::size_t i = 0;
  while (i < list.size()) {
    std::size_t end = list.find(',', i);
    if (end == std::string_view::npos) end = list.size();
    std::size_t b = i, e = end;
    while (b < e && (list[b] == ' ' || list[b] == '\t')) ++b;
    while (e > b && (list[e - 1] == ' ' || list[e - 1] == '\t')) --e;
    if (e > b) fn(list.substr(b, e - b));
    i = end + 1;
  }
}

}  // namespace tg::proxy::http
