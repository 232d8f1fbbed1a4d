// Owning wrappers around parse_request / parse_response for tests: they keep the
// text and the header array alive next to the head whose spans point into them.
#pragma once

#include "http/message_head.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tg::proxy::http::test {

template <typename Head>
class Parsed {
 public:
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;

  const char* base() const { return text.data(); }
  std::string_view view(Span span) const { return span.view(text.data()); }
  std::string_view name(std::size_t i) const { return view(fields[i].name); }
  std::string_view value(std::size_t i) const { return view(fields[i].value); }
  std::string_view line(std::size_t i) const { return view(fields[i].line); }
  HeaderKind kind(std::size_t i) const { return fields[i].kind; }

  std::string text;
  std::vector<HeaderField> fields;
  std::size_t scanned = 0;
  Head head;
  ParseStatus status = ParseStatus::incomplete;

 protected:
  Parsed(std::string text_, const ParseLimits& limits) : text(std::move(text_)), fields(limits.max_headers) {}
};

// Parses the whole of `text` in one call.
class ParsedRequest : public Parsed<RequestHead> {
 public:
  explicit ParsedRequest(std::string text_, const ParseLimits& limits = {}) : Parsed(std::move(text_), limits) {
    status = parse_request(text.data(), text.size(), scanned, limits, fields.data(), head);
  }
};

class ParsedResponse : public Parsed<ResponseHead> {
 public:
  explicit ParsedResponse(std::string text_, const ParseLimits& limits = {}) : Parsed(std::move(text_), limits) {
    status = parse_response(text.data(), text.size(), scanned, limits, fields.data(), head);
  }
};

}  // namespace tg::proxy::http::test

// Readable failure messages: these enums are uint8_t-based and would print as chars.
namespace Catch {
template <>
struct StringMaker<tg::proxy::http::ParseError> {
  static std::string convert(tg::proxy::http::ParseError e) { return std::string(tg::proxy::http::to_string(e)); }
};
template <>
struct StringMaker<tg::proxy::http::ParseStatus> {
  static std::string convert(tg::proxy::http::ParseStatus s) {
    switch (s) {
      case tg::proxy::http::ParseStatus::complete: return "complete";
      case tg::proxy::http::ParseStatus::incomplete: return "incomplete";
      case tg::proxy::http::ParseStatus::error: return "error";
    }
    return "?";
  }
};
template <>
struct StringMaker<tg::proxy::http::HeaderKind> {
  static std::string convert(tg::proxy::http::HeaderKind k) { return "HeaderKind(" + std::to_string(static_cast<int>(k)) + ")"; }
};
template <>
struct StringMaker<tg::proxy::http::Method> {
  static std::string convert(tg::proxy::http::Method m) { return "Method(" + std::to_string(static_cast<int>(m)) + ")"; }
};
}  // namespace Catch
