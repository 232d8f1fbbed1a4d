// Durations, sizes and integers (common/config/units.cpp).
#include "config/loader.hpp"
#include "config/value_parsers.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using tg::config::Duration;

namespace {

Duration duration_of(std::string_view text) {
  Duration out{-1};
  INFO(text);
  REQUIRE(tg::config::parse_duration(text, out));
  return out;
}

std::string duration_problem(std::string_view text) {
  Duration out{};
  return tg::config::try_parse_duration(text, out);
}

std::uint64_t size_of(std::string_view text) {
  std::uint64_t out = 0;
  INFO(text);
  REQUIRE(tg::config::parse_size(text, out));
  return out;
}

std::string size_problem(std::string_view text) {
  std::uint64_t out = 0;
  return tg::config::try_parse_size(text, out);
}

}  // namespace

TEST_CASE("durations accept every unit", "[config][units]") {
  CHECK(duration_of("250ms") == 250ms);
  CHECK(duration_of("5s") == 5s);
  CHECK(duration_of("1m") == 1min);
  CHECK(duration_of("2h") == 2h);
  CHECK(duration_of("1d") == 24h);
  CHECK(duration_of("007s") == 7s);
}

TEST_CASE("durations accept fractions that are whole milliseconds", "[config][units]") {
  CHECK(duration_of("1.5s") == 1500ms);
  CHECK(duration_of("0.25s") == 250ms);
  CHECK(duration_of("0.001s") == 1ms);
  CHECK(duration_of("1.5m") == 90s);
  CHECK(duration_of("0.5d") == 12h);
  CHECK(duration_of("2.000s") == 2s);
  CHECK(duration_of("1.0ms") == 1ms);
  CHECK(duration_problem("1.5ms") == "not a whole number of milliseconds");
  CHECK(duration_problem("0.0001s") == "not a whole number of milliseconds");
  CHECK(duration_problem("1.0000000001h") == "not a whole number of milliseconds");
}

TEST_CASE("durations: zero is written 0 or with a unit", "[config][units]") {
  CHECK(duration_of("0") == 0ms);
  CHECK(duration_of("0s") == 0ms);
  CHECK(duration_of("0.0ms") == 0ms);
}

TEST_CASE("durations: malformed values say why", "[config][units]") {
  const std::string form = "expected a number followed by a unit: ms, s, m, h or d (e.g. 250ms, 1.5s, 2m)";
  CHECK(duration_problem("") == "empty value");
  CHECK(duration_problem("5") == "missing unit (ms, s, m, h or d)");
  CHECK(duration_problem("1.5") == "missing unit (ms, s, m, h or d)");
  CHECK(duration_problem("5x") == "unknown unit \"x\" (use ms, s, m, h or d)");
  CHECK(duration_problem("5sec") == "unknown unit \"sec\" (use ms, s, m, h or d)");
  CHECK(duration_problem("5 s") == "unknown unit \" s\" (use ms, s, m, h or d)");
  CHECK(duration_problem("1m30s") == "unknown unit \"m30s\" (use ms, s, m, h or d)");
  CHECK(duration_problem("5S") == "unknown unit \"S\" (use ms, s, m, h or d)");
  CHECK(duration_problem("-1s") == "must not be negative");
  CHECK(duration_problem("s") == form);
  CHECK(duration_problem(".5s") == form);
  CHECK(duration_problem("5.s") == form);
  CHECK(duration_problem("+5s") == form);
  CHECK(duration_problem("1e3ms") == "unknown unit \"e3ms\" (use ms, s, m, h or d)");
}

TEST_CASE("durations: at most 365 days, without overflow", "[config][units]") {
  CHECK(duration_of("365d") == 24h * 365);
  CHECK(duration_of("8760h") == 24h * 365);
  CHECK(duration_problem("366d") == "too large (at most 365d)");
  CHECK(duration_problem("365.5d") == "too large (at most 365d)");
  CHECK(duration_problem("99999999999999999999999ms") == "too large (at most 365d)");
  CHECK(duration_problem("99999999999d") == "too large (at most 365d)");
}

TEST_CASE("parse_duration leaves the output alone on failure", "[config][units]") {
  Duration out = 42ms;
  CHECK_FALSE(tg::config::parse_duration("5x", out));
  CHECK(out == 42ms);
}

TEST_CASE("sizes: bytes and binary units", "[config][units]") {
  CHECK(size_of("0") == 0);
  CHECK(size_of("512") == 512);
  CHECK(size_of("64KiB") == 64 * 1024);
  CHECK(size_of("10MiB") == 10ull * 1024 * 1024);
  CHECK(size_of("1GiB") == 1024ull * 1024 * 1024);
  CHECK(size_of("0KiB") == 0);
  CHECK(size_of("18446744073709551615") == UINT64_MAX);
}

TEST_CASE("sizes: malformed values say why", "[config][units]") {
  const std::string powers = " (use KiB, MiB or GiB; sizes are powers of 1024)";
  CHECK(size_problem("") == "empty value");
  CHECK(size_problem("10MB") == "unknown unit \"MB\"" + powers);
  CHECK(size_problem("10K") == "unknown unit \"K\"" + powers);
  CHECK(size_problem("10kib") == "unknown unit \"kib\"" + powers);
  CHECK(size_problem("10B") == "unknown unit \"B\"" + powers);
  CHECK(size_problem("1TiB") == "unknown unit \"TiB\"" + powers);
  CHECK(size_problem("10 KiB") == "unknown unit \" KiB\"" + powers);
  CHECK(size_problem("1.5MiB") == "must be a whole number (write 512KiB rather than 0.5MiB)");
  CHECK(size_problem("-1") == "must not be negative");
  CHECK(size_problem("KiB") ==
        "expected a byte count, optionally followed by KiB, MiB or GiB (e.g. 512, 64KiB)");
}

TEST_CASE("sizes: overflow is too large", "[config][units]") {
  CHECK(size_problem("18446744073709551616") == "too large");
  CHECK(size_problem("17179869184GiB") == "too large");  // 2^34 GiB = 2^64 bytes
  CHECK(size_of("17179869183GiB") == 17179869183ull * 1024 * 1024 * 1024);
  CHECK(size_problem("99999999999999999999999") == "too large");
}

TEST_CASE("integers: plain decimal only", "[config][units]") {
  std::int64_t out = 0;
  CHECK(tg::config::parse_integer("42", out));
  CHECK(out == 42);
  CHECK(tg::config::parse_integer("-7", out));
  CHECK(out == -7);
  CHECK(tg::config::parse_integer("0", out));
  CHECK(out == 0);
  for (std::string_view bad : {"", "-", "+1", "1.0", "1e3", "0x10", "1_000", " 1", "1 ", "abc", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(tg::config::parse_integer(bad, out));
  }
}
