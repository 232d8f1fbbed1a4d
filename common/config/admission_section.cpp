// Admission settings (phase 4 of a request): a tenant's credentials, jwt and
// limits; a route's auth and rate_limit. Keys and ranges are documented in
// docs/configuration.md.
#include "config/sections.hpp"

#include "config/rules.hpp"
#include "config/value_parsers.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

namespace tg::config {
namespace {

inline constexpr IntegerRange rate_count{1, 1'000'000'000};
inline constexpr IntegerRange burst_size{0, 1'000'000'000};
inline constexpr IntegerRange max_concurrent_range{0, 100'000'000};

// "100/s" or "600/m": a positive count per second or per minute.
std::optional<Rate> read_rate(Diagnostics& diagnostics, const Value& value) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  const auto slash = text->find('/');
  std::int64_t count = 0;
  Rate rate;
  const std::string unit = slash == std::string::npos ? "" : text->substr(slash + 1);
  if (unit == "s") {
    rate.period = std::chrono::seconds(1);
  } else if (unit == "m") {
    rate.period = std::chrono::minutes(1);
  }
  if (slash == std::string::npos || (unit != "s" && unit != "m") ||
      !parse_integer(std::string_view(*text).substr(0, slash), count)) {
    report(diagnostics, value, "bad rate \"" + *text + "\": expected <count>/s or <count>/m, e.g. 100/s");
    return std::nullopt;
  }
  if (auto problem = check_integer(count, rate_count)) {
    report(diagnostics, value, "bad rate \"" + *text + "\": the count " + *problem);
    return std::nullopt;
  }
  rate.count = static_cast<std::uint64_t>(count);
  return rate;
}

// The name rule tg-control's Admin API keeps ([a-z0-9][a-z0-9_.-]{0,62}).
bool is_credential_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

std::optional<std::array<unsigned char, 32>> read_sha256(Diagnostics& diagnostics, const Value& value) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  std::array<unsigned char, 32> digest{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool good = text->size() == 64;
  for (std::size_t i = 0; good && i < 32; ++i) {
    const int high = nibble((*text)[2 * i]);
    const int low = nibble((*text)[2 * i + 1]);
    good = high >= 0 && low >= 0;
    digest[i] = static_cast<unsigned char>(high * 16 + low);
  }
  if (!good) {
    report(diagnostics, value, "expected the SHA-256 of the secret as 64 hex digits (e.g. `printf %s SECRET | sha256sum`)");
    return std::nullopt;
  }
  return digest;
}

void read_credential(Diagnostics& diagnostics, const Value& value, std::vector<Credential>& out,
                     std::set<std::string>& names) {
  Credential credential;
  credential.location = value.location;
  std::optional<Value> name_value;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"name",
       [&](const Value& name) {
         auto text = read_string(diagnostics, name);
         if (!text) return;
         if (!is_credential_name(*text)) {
           report(diagnostics, name, "bad credential name \"" + *text + "\": expected [a-z0-9][a-z0-9_.-]{0,62}");
           return;
         }
         credential.name = *text;
         name_value = name;
       },
       Presence::required},
      {"kind",
       [&](const Value& kind) {
         auto text = read_string(diagnostics, kind);
         if (!text) return;
         if (*text == "api_key") {
           credential.kind = Credential::Kind::api_key;
         } else if (*text == "ingest") {
           credential.kind = Credential::Kind::ingest;
         } else {
           report(diagnostics, kind, "must be api_key or ingest, got \"" + *text + '"');
         }
       },
       Presence::required},
      {"sha256",
       [&](const Value& digest) {
         if (auto bytes = read_sha256(diagnostics, digest)) credential.sha256 = *bytes;
       },
       Presence::required},
  });
  if (!is_mapping || credential.name.empty()) return;
  if (!names.insert(credential.name).second) {
    report(diagnostics, *name_value, "duplicate credential name \"" + credential.name + "\" in this tenant");
    return;
  }
  out.push_back(std::move(credential));
}

}  // namespace

void read_credentials(Diagnostics& diagnostics, const Value& value, std::vector<Credential>& out) {
  std::set<std::string> names;
  read_sequence(diagnostics, value, [&](const Value& item) { read_credential(diagnostics, item, out, names); });
}

void read_jwt(Diagnostics& diagnostics, const Value& value, Jwt& out) {
  out.location = value.location;
  std::vector<Value> sources;
  auto text_into = [&](std::string& field, bool is_source) {
    return [&diagnostics, &field, &sources, is_source](const Value& item) {
      auto text = read_string(diagnostics, item);
      if (!text) return;
      if (text->empty()) {
        report(diagnostics, item, "must not be empty");
        return;
      }
      field = *text;
      if (is_source) sources.push_back(item);
    };
  };
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"issuer", text_into(out.issuer, false), Presence::required},
      {"audiences",
       [&](const Value& list) {
         std::vector<std::string> audiences;
         read_sequence(diagnostics, list, [&](const Value& item) {
           if (auto text = read_string(diagnostics, item); text && !text->empty()) audiences.push_back(*text);
           else if (text) report(diagnostics, item, "must not be empty");
         });
         if (audiences.empty()) report(diagnostics, list, "must list at least one audience");
         out.audiences = std::move(audiences);
       },
       Presence::required},
      {"jwks_file", text_into(out.jwks_file, true)},
      {"jwks_url",
       [&](const Value& url) {
         auto text = read_string(diagnostics, url);
         if (!text) return;
         if (!text->starts_with("https://") && !text->starts_with("http://")) {
           report(diagnostics, url, "must be an https:// URL (http:// only for a loopback address)");
           return;
         }
         out.jwks_url = *text;
         sources.push_back(url);
       }},
      {"hs256_secret_file", text_into(out.hs256_secret_file, true)},
  });
  if (!is_mapping) return;
  if (sources.empty()) {
    report(diagnostics, value, "needs one key source: jwks_file, jwks_url or hs256_secret_file");
  } else if (sources.size() > 1) {
    report(diagnostics, sources[1], "set one key source of jwks_file, jwks_url and hs256_secret_file, not several");
  }
}

void read_tenant_limits(Diagnostics& diagnostics, const Value& value, TenantLimits& out) {
  read_mapping(diagnostics, value, {
      {"rate",
       [&](const Value& rate) {
         if (auto parsed = read_rate(diagnostics, rate)) out.rate = *parsed;
       }},
      {"burst",
       [&](const Value& burst) {
         if (auto number = read_integer(diagnostics, burst, burst_size)) out.burst = static_cast<std::uint64_t>(*number);
       }},
      {"max_concurrent",
       [&](const Value& limit) {
         if (auto number = read_integer(diagnostics, limit, max_concurrent_range))
           out.max_concurrent = static_cast<std::uint32_t>(*number);
       }},
      {"shadow",
       [&](const Value& flag) {
         if (auto on = read_bool(diagnostics, flag)) out.shadow = *on;
       }},
  });
}

std::optional<RouteAuth> read_route_auth(Diagnostics& diagnostics, const Value& value) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  if (*text == "none") return RouteAuth::none;
  if (*text == "required") return RouteAuth::required;
  report(diagnostics, value, "must be none or required, got \"" + *text + '"');
  return std::nullopt;
}

void read_route_rate_limit(Diagnostics& diagnostics, const Value& value, RouteRateLimit& out) {
  read_mapping(diagnostics, value, {
      {"rate",
       [&](const Value& rate) {
         if (auto parsed = read_rate(diagnostics, rate)) out.rate = *parsed;
       },
       Presence::required},
      {"burst",
       [&](const Value& burst) {
         if (auto number = read_integer(diagnostics, burst, burst_size)) out.burst = static_cast<std::uint64_t>(*number);
       }},
      {"by",
       [&](const Value& by) {
         auto text = read_string(diagnostics, by);
         if (!text) return;
         if (*text == "tenant") {
           out.by = RouteRateLimit::By::tenant;
         } else if (*text == "client_ip") {
           out.by = RouteRateLimit::By::client_ip;
         } else if (*text == "route") {
           out.by = RouteRateLimit::By::route;
         } else if (text->starts_with("header:")) {
           const std::string name = text->substr(7);
           if (auto problem = check_token(name, "header name")) {
             report(diagnostics, by, *problem);
             return;
           }
           out.by = RouteRateLimit::By::header;
           out.header = to_lower_ascii(name);
         } else {
           report(diagnostics, by, "must be tenant, client_ip, route or header:NAME, got \"" + *text + '"');
         }
       }},
      {"shadow",
       [&](const Value& flag) {
         if (auto on = read_bool(diagnostics, flag)) out.shadow = *on;
       }},
  });
}

}  // namespace tg::config
