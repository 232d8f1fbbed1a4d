// Strict HTTP/1.x head parsing (RFC 9112). One pass over the head, spans into
// the caller's buffer, no allocation. Anything ambiguous that a second parser
// could read differently (the request-smuggling shapes) is an error.
#include "http/message_head.hpp"

#include "http/char_class.hpp"
#include "http/host.hpp"

#include <cstring>

namespace tg::proxy::http {

std::string_view to_string(ParseError error) {
  switch (error) {
    case ParseError::none: return "none";
    case ParseError::bad_line_ending: return "bad line ending";
    case ParseError::bad_start_line: return "bad start line";
    case ParseError::bad_method: return "bad method";
    case ParseError::bad_target: return "bad request target";
    case ParseError::bad_version: return "bad HTTP version";
    case ParseError::bad_status: return "bad status code";
    case ParseError::bad_header_name: return "bad header name";
    case ParseError::bad_header_value: return "bad header value";
    case ParseError::obs_fold: return "obsolete line folding";
    case ParseError::too_many_headers: return "too many headers";
    case ParseError::head_too_large: return "head too large";
    case ParseError::bad_content_length: return "bad Content-Length";
    case ParseError::bad_transfer_encoding: return "bad Transfer-Encoding";
    case ParseError::content_length_and_chunked: return "Content-Length with Transfer-Encoding";
    case ParseError::bad_host: return "bad Host";
  }
  return "unknown";
}

bool iequals(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (to_lower(text[i]) != lower[i]) return false;
  return true;
}

namespace {

// Case-insensitive equality with a lower-case name made of letters, digits
// and '-', eight bytes at a time: OR-ing 0x20 lower-cases a letter and leaves
// digits and '-' alone; the only other byte it maps onto one of those is CR
// (0x0d -> '-'), which is never inside a field name.
bool iequals_name(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t a, b;
    std::memcpy(&a, text.data() + i, 8);
    std::memcpy(&b, lower.data() + i, 8);
    if ((a | 0x2020202020202020ull) != b) return false;
  }
  for (; i < text.size(); ++i)
    if ((text[i] | 0x20) != lower[i]) return false;
  return true;
}

HeaderKind classify(std::string_view name) {
  // Most names are none of these: one look at the first letter rejects them.
  const char first = static_cast<char>(name[0] | 0x20);
  if (first != 't' && first != 'h' && first != 'e' && first != 'u' && first != 'c' && first != 'k' &&
      first != 'x' && first != 'p')
    return HeaderKind::other;
  const auto iequals = iequals_name;
  switch (name.size()) {
    case 2: if (iequals(name, "te")) return HeaderKind::te; break;
    case 4: if (iequals(name, "host")) return HeaderKind::host; break;
    case 6: if (iequals(name, "expect")) return HeaderKind::expect; break;
    case 7: if (iequals(name, "upgrade")) return HeaderKind::upgrade; break;
    case 10:
      if (iequals(name, "connection")) return HeaderKind::connection;
      if (iequals(name, "keep-alive")) return HeaderKind::keep_alive;
      break;
    case 12: if (iequals(name, "x-request-id")) return HeaderKind::x_request_id; break;
    case 14: if (iequals(name, "content-length")) return HeaderKind::content_length; break;
    case 15: if (iequals(name, "x-forwarded-for")) return HeaderKind::x_forwarded_for; break;
    case 16: if (iequals(name, "proxy-connection")) return HeaderKind::proxy_connection; break;
    case 17:
      if (iequals(name, "transfer-encoding")) return HeaderKind::transfer_encoding;
      if (iequals(name, "x-forwarded-proto")) return HeaderKind::x_forwarded_proto;
      break;
    default: break;
  }
  return HeaderKind::other;
}

Method classify_method(std::string_view m) {
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::get;
      if (m == "PUT") return Method::put;
      break;
    case 4:
      if (m == "POST") return Method::post;
      if (m == "HEAD") return Method::head;
      break;
    case 5:
      if (m == "PATCH") return Method::patch;
      if (m == "TRACE") return Method::trace;
      break;
    case 6: if (m == "DELETE") return Method::delete_; break;
    case 7:
      if (m == "OPTIONS") return Method::options;
      if (m == "CONNECT") return Method::connect;
      break;
    default: break;
  }
  return Method::other;
}

// Finds the end of the head. Every LF must follow a CR; a CR must be followed
// by LF (checked in the line parser). Returns the head length, 0 when the
// empty line has not arrived yet, or -1 on a bare LF.
long find_head_end(const char* data, std::size_t size, std::size_t& scanned) {
  std::size_t i = scanned;
  while (i < size) {
    const void* lf = std::memchr(data + i, '\n', size - i);
    if (!lf) break;
    std::size_t pos = static_cast<const char*>(lf) - data;
    if (pos == 0 || data[pos - 1] != '\r') return -1;
    // An empty line: CRLF right after the previous line's CRLF (or at the very
    // start, which the start-line parser skips as leading empty lines).
    if (pos >= 3 && data[pos - 2] == '\n' && data[pos - 3] == '\r') {
      scanned = pos + 1;
      return static_cast<long>(pos + 1);
    }
    i = pos + 1;
  }
  scanned = size;
  return 0;
}

bool parse_content_length(std::string_view v, std::int64_t& out) {
  if (v.empty() || v.size() > 18) return false;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  out = n;
  return true;
}

// Transfer-Encoding must end in exactly one "chunked".
bool parse_transfer_encoding(std::string_view v, bool& chunked) {
  bool ok = true;
  int chunked_count = 0;
  bool last_chunked = false;
  bool any = false;
  for_each_token(v, [&](std::string_view token) {
    any = true;
    for (char c : token)
      if (!is_token_char(static_cast<unsigned char>(c))) ok = false;
    last_chunked = iequals(token, "chunked");
    if (last_chunked) ++chunked_count;
  });
  chunked = any && last_chunked && chunked_count == 1;
  return ok && chunked;
}

// Scans a field value from `p` up to the CR that ends its line, eight bytes
// at a time: a word is skipped when none of its bytes is a control character
// (below 0x20) or DEL. Returns the position of the CR, or of the first byte
// that is neither a field character nor that CR (the caller reports it);
// `end` when the head ends first. Tabs are field characters.
const char* scan_value(const char* p, const char* end) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    // Exact for the lowest flagged byte, which is the one looked at.
    const std::uint64_t below_space = (word - 0x20 * kOnes) & ~word & kHigh;
    const std::uint64_t del = word ^ (0x7f * kOnes);
    const std::uint64_t is_del = (del - kOnes) & ~del & kHigh;
    const std::uint64_t flagged = below_space | is_del;
    if (flagged == 0) {
      p += 8;
      continue;
    }
    p += static_cast<unsigned>(__builtin_ctzll(flagged)) >> 3;
    if (*p != '\t') return p;
    ++p;
  }
  while (p < end && kFieldChar[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// Parses the header lines between `pos` and the end of the head into `out`.
template <typename Head>
bool parse_fields(const char* data, std::size_t pos, std::size_t head_end, const ParseLimits& limits,
                  HeaderField* headers, Head& out) {
  bool seen_cl = false;
  bool seen_te = false;
  bool seen_host = false;
  const char* const end = data + head_end;
  while (pos < head_end) {
    const std::size_t line_start = pos;
    const char* line = data + pos;
    if (line[0] == '\r') {
      if (line + 1 < end && line[1] == '\n') return true;  // the empty line
      return out.error = ParseError::bad_line_ending, false;
    }
    if (line[0] == ' ' || line[0] == '\t') return out.error = ParseError::obs_fold, false;

    // No bound check: the head ends with CRLF CRLF, and CR is not a token
    // character, so the scan stops inside the head.
    std::size_t colon = 0;
    while (is_token_char(static_cast<unsigned char>(line[colon]))) ++colon;
    if (colon == 0 || line + colon >= end || line[colon] != ':') {
      const bool bare_cr = line + colon < end && line[colon] == '\r' && (line + colon + 1 >= end || line[colon + 1] != '\n');
      const bool bare_lf = line + colon < end && line[colon] == '\n';
      return out.error = (bare_cr || bare_lf) ? ParseError::bad_line_ending : ParseError::bad_header_name, false;
    }
    const char* eol = scan_value(line + colon + 1, end);
    if (eol >= end || *eol != '\r') {
      const bool line_ending = eol < end && *eol == '\n';
      return out.error = line_ending ? ParseError::bad_line_ending : ParseError::bad_header_value, false;
    }
    if (eol + 1 >= end || eol[1] != '\n') return out.error = ParseError::bad_line_ending, false;
    const std::size_t line_len = static_cast<std::size_t>(eol - line);

    std::size_t vb = colon + 1, ve = line_len;
    while (vb < ve && (line[vb] == ' ' || line[vb] == '\t')) ++vb;
    while (ve > vb && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) --ve;

    if (out.header_count >= limits.max_headers) return out.error = ParseError::too_many_headers, false;
    HeaderField& f = headers[out.header_count];
    f.name = {static_cast<std::uint32_t>(line_start), static_cast<std::uint32_t>(colon)};
    f.value = {static_cast<std::uint32_t>(line_start + vb), static_cast<std::uint32_t>(ve - vb)};
    f.line = {static_cast<std::uint32_t>(line_start), static_cast<std::uint32_t>(line_len + 2)};
    f.kind = classify({line, colon});
    const std::string_view value{line + vb, ve - vb};

    switch (f.kind) {
      case HeaderKind::content_length:
        if (seen_cl || !parse_content_length(value, out.content_length))
          return out.error = ParseError::bad_content_length, false;
        seen_cl = true;
        break;
      case HeaderKind::transfer_encoding:
        if (seen_te || out.version_minor == 0 || !parse_transfer_encoding(value, out.chunked))
          return out.error = ParseError::bad_transfer_encoding, false;
        seen_te = true;
        break;
      case HeaderKind::connection:
        for_each_token(value, [&](std::string_view token) {
          if (iequals(token, "close")) out.connection_close = true;
          else if (iequals(token, "keep-alive")) out.connection_keep_alive = true;
          else if (iequals(token, "upgrade")) out.connection_upgrade = true;
          else out.connection_lists_others = true;
        });
        break;
      default:
        break;
    }
    if constexpr (requires { out.host; }) {
      switch (f.kind) {
        case HeaderKind::host:
          // One Host header, well-formed. An absolute-form target's authority
          // wins over it (RFC 9112 §3.2.2).
          if (seen_host || !valid_host(value)) return out.error = ParseError::bad_host, false;
          seen_host = true;
          if (out.host.empty()) out.host = f.value;
          break;
        case HeaderKind::x_forwarded_for:
          if (out.x_forwarded_for < 0) out.x_forwarded_for = static_cast<std::int16_t>(out.header_count);
          break;
        case HeaderKind::x_request_id:
          if (out.x_request_id < 0) out.x_request_id = static_cast<std::int16_t>(out.header_count);
          break;
        case HeaderKind::expect:
          if (iequals(value, "100-continue")) out.expect_continue = true;
          break;
        default:
          break;
      }
    }
    ++out.header_count;
    pos += line_len + 2;
  }
  return true;
}

template <typename Head>
bool finish_framing(Head& out) {
  if (out.chunked && out.content_length >= 0) {
    out.error = ParseError::content_length_and_chunked;
    return false;
  }
  return true;
}

// "HTTP/1.0" or "HTTP/1.1"
bool parse_version(const char* p, std::uint8_t& minor) {
  if (std::memcmp(p, "HTTP/1.", 7) != 0) return false;
  if (p[7] != '0' && p[7] != '1') return false;
  minor = static_cast<std::uint8_t>(p[7] - '0');
  return true;
}

// Finds the end of a head within the limits: `complete` with `end` set,
// `incomplete`, or `error` with `error` set.
ParseStatus locate_head(const char* data, std::size_t size, std::size_t& scanned, const ParseLimits& limits,
                        long& end, ParseError& error) {
  end = find_head_end(data, size, scanned);
  if (end < 0) {
    error = ParseError::bad_line_ending;
    return ParseStatus::error;
  }
  const bool over = static_cast<std::size_t>(end) > limits.max_head_bytes;
  if (over || (end == 0 && size >= limits.max_head_bytes)) {
    error = ParseError::head_too_large;
    return ParseStatus::error;
  }
  return end == 0 ? ParseStatus::incomplete : ParseStatus::complete;
}

}  // namespace

ParseStatus parse_request(const char* data, std::size_t size, std::size_t& scanned,
                          const ParseLimits& limits, HeaderField* headers, RequestHead& out) {
  long end = 0;
  if (ParseStatus status = locate_head(data, size, scanned, limits, end, out.error); status != ParseStatus::complete)
    return status;
  out = RequestHead{};
  out.headers = headers;
  out.head_length = static_cast<std::uint32_t>(end);

  std::size_t pos = 0;
  while (pos + 1 < static_cast<std::size_t>(end) && data[pos] == '\r' && data[pos + 1] == '\n') pos += 2;
  if (pos + 2 >= static_cast<std::size_t>(end)) {
    out.error = ParseError::bad_start_line;
    return ParseStatus::error;
  }
  const std::size_t line_end = static_cast<const char*>(std::memchr(data + pos, '\r', end - pos)) - data;
  if (data[line_end + 1] != '\n') {
    out.error = ParseError::bad_line_ending;
    return ParseStatus::error;
  }

  // method
  std::size_t i = pos;
  while (i < line_end && is_token_char(static_cast<unsigned char>(data[i]))) ++i;
  if (i == pos || i >= line_end || data[i] != ' ') {
    out.error = (i < line_end && data[i] != ' ') || i == pos ? ParseError::bad_method : ParseError::bad_start_line;
    return ParseStatus::error;
  }
  out.method = {static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(i - pos)};
  out.method_id = classify_method(out.method.view(data));

  // target. A run of SP between the parts is read as one (RFC 9112 §3 lets a
  // recipient do so); other whitespace is not. The forwarded line has single
  // SPs: head_writer builds it from the parts. data[i] is the SP after the
  // method and data[line_end] is '\r', so the run ends within the line.
  do ++i;
  while (data[i] == ' ');
  const std::size_t tb = i;
  while (i < line_end && kTargetChar[static_cast<unsigned char>(data[i])]) ++i;
  if (i == tb || i >= line_end || data[i] != ' ') {
    out.error = ParseError::bad_target;
    return ParseStatus::error;
  }
  out.target = {static_cast<std::uint32_t>(tb), static_cast<std::uint32_t>(i - tb)};

  // version (data[i] is the SP after the target)
  do ++i;
  while (data[i] == ' ');
  if (line_end - i != 8 || !parse_version(data + i, out.version_minor)) {
    out.error = ParseError::bad_version;
    return ParseStatus::error;
  }

  // path and query from origin-form or absolute-form targets
  std::string_view target = out.target.view(data);
  std::size_t path_begin = tb;
  if (target[0] == '/') {
    // origin-form
  } else if (target.size() > 7 && iequals(target.substr(0, 7), "http://")) {
    std::size_t auth_end = target.find_first_of("/?", 7);
    if (auth_end == std::string_view::npos) auth_end = target.size();
    if (auth_end == 7) {
      out.error = ParseError::bad_target;
      return ParseStatus::error;
    }
    out.host = {static_cast<std::uint32_t>(tb + 7), static_cast<std::uint32_t>(auth_end - 7)};
    out.absolute_form = true;
    if (!valid_host(out.host.view(data))) {  // no userinfo, no quotes, at most 255 bytes
      out.error = ParseError::bad_host;
      return ParseStatus::error;
    }
    path_begin = tb + auth_end;
  } else if (target == "*" && out.method_id == Method::options) {
    path_begin = tb;
  } else {
    out.error = ParseError::bad_target;
    return ParseStatus::error;
  }
  const std::size_t target_end = tb + target.size();
  const char* q = static_cast<const char*>(std::memchr(data + path_begin, '?', target_end - path_begin));
  const std::size_t path_end = q ? static_cast<std::size_t>(q - data) : target_end;
  out.path = {static_cast<std::uint32_t>(path_begin), static_cast<std::uint32_t>(path_end - path_begin)};
  if (q) out.query = {static_cast<std::uint32_t>(path_end + 1), static_cast<std::uint32_t>(target_end - path_end - 1)};

  if (!parse_fields(data, line_end + 2, static_cast<std::size_t>(end), limits, headers, out))
    return ParseStatus::error;
  if (!finish_framing(out)) return ParseStatus::error;
  if (out.version_minor == 1 && out.host.empty()) {
    out.error = ParseError::bad_host;
    return ParseStatus::error;
  }
  return ParseStatus::complete;
}

ParseStatus parse_response(const char* data, std::size_t size, std::size_t& scanned,
                           const ParseLimits& limits, HeaderField* headers, ResponseHead& out) {
  long end = 0;
  if (ParseStatus status = locate_head(data, size, scanned, limits, end, out.error); status != ParseStatus::complete)
    return status;
  out = ResponseHead{};
  out.headers = headers;
  out.head_length = static_cast<std::uint32_t>(end);

  const std::size_t line_end = static_cast<const char*>(std::memchr(data, '\r', end)) - data;
  if (data[line_end + 1] != '\n') {
    out.error = ParseError::bad_line_ending;
    return ParseStatus::error;
  }
  // "HTTP/1.x SSS" [ " " reason ]
  if (line_end < 12 || !parse_version(data, out.version_minor) || data[8] != ' ') {
    out.error = ParseError::bad_start_line;
    return ParseStatus::error;
  }
  std::uint16_t status = 0;
  for (int k = 9; k < 12; ++k) {
    if (data[k] < '0' || data[k] > '9') {
      out.error = ParseError::bad_status;
      return ParseStatus::error;
    }
    status = static_cast<std::uint16_t>(status * 10 + (data[k] - '0'));
  }
  if (status < 100 || (line_end > 12 && data[12] != ' ')) {
    out.error = ParseError::bad_status;
    return ParseStatus::error;
  }
  for (std::size_t k = 12; k < line_end; ++k)
    if (!kFieldChar[static_cast<unsigned char>(data[k])]) {
      out.error = ParseError::bad_start_line;
      return ParseStatus::error;
    }
  out.status = status;
  if (!parse_fields(data, line_end + 2, static_cast<std::size_t>(end), limits, headers, out))
    return ParseStatus::error;
  if (!finish_framing(out)) return ParseStatus::error;
  return ParseStatus::complete;
}

}  // namespace tg::proxy::http
