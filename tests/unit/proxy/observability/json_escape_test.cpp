// append_json_escaped (proxy/observability/access_log.cpp): the access log's
// string escaping, which tests eight bytes at a time, against a plain
// byte-by-byte reference, at every position and length around the blocks.
#include "observability/access_log.hpp"
#include "table/worker_table.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using tg::proxy::append_json_escaped;

namespace {

std::string reference(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string escaped(std::string_view text) {
  std::string out = "prefix:";
  append_json_escaped(out, text);
  return out.substr(7);
}

}  // namespace

TEST_CASE("JSON escaping leaves plain text as it is", "[proxy][access-log]") {
  CHECK(escaped("") == "");
  CHECK(escaped("acme-svc/127.0.0.1:9001") == "acme-svc/127.0.0.1:9001");
  CHECK(escaped("/a/long/path/with/more/than/eight/bytes?") == "/a/long/path/with/more/than/eight/bytes?");
  CHECK(escaped(" ~") == " ~");
}

TEST_CASE("JSON escaping finds each special byte at every position of a block", "[proxy][access-log]") {
  const std::string specials = std::string("\"\\\x01\x1f\x7f\x80\xff", 7) + std::string(1, '\0');
  for (const char special : specials) {
    for (std::size_t length = 1; length <= 24; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        text[at] = special;
        INFO("length " << length << " at " << at << " byte " << static_cast<int>(static_cast<unsigned char>(special)));
        CHECK(escaped(text) == reference(text));
      }
    }
  }
}

TEST_CASE("JSON escaping matches the reference on random bytes", "[proxy][access-log]") {
  std::mt19937 random(42);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> printable(0x20, 0x7e);
  for (int round = 0; round < 2000; ++round) {
    std::string text(static_cast<std::size_t>(round % 40), ' ');
    for (char& c : text) c = static_cast<char>(round % 3 == 0 ? byte(random) : printable(random));
    INFO("round " << round);
    CHECK(escaped(text) == reference(text));
  }
}

TEST_CASE("names from the table are escaped once, when their runtime state is made", "[proxy][access-log]") {
  // Names may hold '"' or '\' (only whitespace and control characters are
  // refused), and the access log appends these copies without escaping.
  const tg::proxy::RouteRuntime route("r\"1", "svc\\a");
  CHECK(route.name_json == "r\\\"1");
  CHECK(route.service_json == "svc\\\\a");
  const tg::proxy::InstanceRuntime instance(
      "i\"d", "svc", tg::proxy::tcp::endpoint(boost::asio::ip::make_address("::1"), 9001));
  CHECK(instance.id_json == "i\\\"d");
  CHECK(instance.address == "[::1]:9001");
}
