#include "upstream/peak_ewma.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace tg::proxy {

void PeakEwma::observe(double sample_ms, std::uint64_t now_ms) {
  sample_ms = std::max(0.0, sample_ms);
  if (sample_ms > rtt_ms || !measured) {
    // A peak replaces the estimate at once. A first sample does too: the
    // default only stands in until the instance has answered.
    rtt_ms = sample_ms;
    measured = true;
  } else {
    const double elapsed = now_ms > at_ms ? static_cast<double>(now_ms - at_ms) : 0.0;
    const double w = std::exp(-elapsed / kDecayMs);
    rtt_ms = rtt_ms * w + sample_ms * (1.0 - w);
  }
  at_ms = std::max<std::uint64_t>(now_ms, 1);
}

double PeakEwma::estimate_at(std::uint64_t now_ms) const {
  if (at_ms == 0 || now_ms <= at_ms) return rtt_ms;
  return rtt_ms * std::exp(-static_cast<double>(now_ms - at_ms) / kDecayMs);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool digits(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

int month_index(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (kMonths[static_cast<std::size_t>(i)] == name) return i + 1;
  return 0;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool parse_clock(std::string_view s, int& h, int& m, int& sec) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' && digits(s.substr(0, 2), h) && digits(s.substr(3, 2), m) &&
         digits(s.substr(6, 2), sec) && h < 24 && m < 60 && sec <= 60;
}

// Splits on single spaces into at most 6 fields (asctime pads the day with a space).
int split(std::string_view s, std::array<std::string_view, 6>& out) {
  int n = 0;
  while (!s.empty()) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (s.empty()) break;
    if (n == 6) return 7;
    const auto space = s.find(' ');
    out[static_cast<std::size_t>(n++)] = s.substr(0, space);
    s = space == std::string_view::npos ? std::string_view{} : s.substr(space);
  }
  return n;
}

// HTTP-date → Unix seconds.
std::optional<std::int64_t> parse_http_date(std::string_view s) {
  std::array<std::string_view, 6> f;
  const int n = split(s, f);
  int day = 0, year = 0, month = 0, h = 0, m = 0, sec = 0;
  if (n == 6 && f[0].size() == 4 && f[0][3] == ',' && f[5] == "GMT") {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (f[1].size() != 2 || !digits(f[1], day) || !(month = month_index(f[2])) || f[3].size() != 4 ||
        !digits(f[3], year) || !parse_clock(f[4], h, m, sec))
      return std::nullopt;
  } else if (n == 4 && f[0].size() > 1 && f[0].back() == ',' && f[3] == "GMT") {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: 70-99 → 19xx)
    const std::string_view date = f[1];
    if (date.size() != 9 || date[2] != '-' || date[6] != '-' || !digits(date.substr(0, 2), day) ||
        !(month = month_index(date.substr(3, 3))) || !digits(date.substr(7, 2), year) || !parse_clock(f[2], h, m, sec))
      return std::nullopt;
    year += year >= 70 ? 1900 : 2000;
  } else if (n == 5 && f[0].size() == 3) {
    // asctime: Sun Nov  6 08:49:37 1994
    if (!(month = month_index(f[1])) || f[2].size() > 2 || !digits(f[2], day) || !parse_clock(f[3], h, m, sec) ||
        f[4].size() != 4 || !digits(f[4], year))
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (day < 1 || day > 31) return std::nullopt;
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + h * 3600 +
         m * 60 + sec;
}

}  // namespace

std::optional<std::uint64_t> parse_retry_after_ms(std::string_view value, std::int64_t now_unix_s) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t seconds = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return std::nullopt;
      seconds = std::min<std::uint64_t>(seconds * 10 + static_cast<std::uint64_t>(c - '0'), kMaxPenaltyMs);
    }
    return std::min(seconds * 1000, kMaxPenaltyMs);
  }
  const auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  if (*date <= now_unix_s) return 0;
  return std::min<std::uint64_t>(static_cast<std::uint64_t>(*date - now_unix_s) * 1000, kMaxPenaltyMs);
}

std::uint64_t penalty_window_ms(std::string_view retry_after, std::int64_t now_unix_s) {
  return parse_retry_after_ms(retry_after, now_unix_s).value_or(kDefaultPenaltyMs);
}

}  // namespace tg::proxy
