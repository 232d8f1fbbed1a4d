// One item of `routes`: name, match, target service, rewrite,
// reject_encoded_slashes, and admission (auth, auth_forward, rate_limit:
// admission_section.cpp).
//
// Match values are normalised here so the proxy can compare them directly:
// host lower-case (exact, or "*.suffix"), header name lower-case, method
// upper-case, and exactly one of path_prefix / path_exact set ("/" prefix when
// neither is written).
#include "config/sections.hpp"

#include "config/rules.hpp"
#include "config/value_parsers.hpp"

#include <tuple>

namespace tg::config {
namespace {

bool comes_after(const SourceLocation& a, const SourceLocation& b) {
  return std::tie(a.line, a.column) > std::tie(b.line, b.column);
}

// A request path for matching or rewriting; reported and nullopt when bad.
std::optional<std::string> read_path(Diagnostics& diagnostics, const Value& value) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  if (auto problem = check_path(*text, false)) {
    report(diagnostics, value, *problem);
    return std::nullopt;
  }
  return text;
}

void read_header_match(Diagnostics& diagnostics, const Value& value, HeaderMatch& out) {
  read_mapping(diagnostics, value, {
      {"name",
       [&](const Value& name) {
         auto text = read_string(diagnostics, name);
         if (!text) return;
         if (auto problem = check_token(*text, "header name")) {
           report(diagnostics, name, *problem);
           return;
         }
         out.name = to_lower_ascii(*text);
       },
       Presence::required},
      {"value",
       [&](const Value& header_value) {
         auto text = read_string(diagnostics, header_value);
         if (!text) return;
         if (auto problem = check_header_value(*text)) {
           report(diagnostics, header_value, *problem);
           return;
         }
         out.value = *text;
       },
       Presence::required},
  });
}

void read_match(Diagnostics& diagnostics, const Value& value, RouteMatch& out) {
  std::optional<Value> prefix_value;
  std::optional<Value> exact_value;
  read_mapping(diagnostics, value, {
      {"host",
       [&](const Value& host) {
         auto text = read_string(diagnostics, host);
         if (!text) return;
         std::string lowered = to_lower_ascii(*text);
         if (auto problem = check_route_host(lowered)) {
           report(diagnostics, host, "bad host \"" + *text + "\": " + *problem);
           return;
         }
         out.host = std::move(lowered);
       }},
      {"path_prefix",
       [&](const Value& path) {
         prefix_value = path;
         if (auto text = read_path(diagnostics, path)) out.path_prefix = *text;
       }},
      {"path",
       [&](const Value& path) {
         exact_value = path;
         if (auto text = read_path(diagnostics, path)) out.path_exact = *text;
       }},
      {"method",
       [&](const Value& method) {
         auto text = read_string(diagnostics, method);
         if (!text) return;
         if (auto problem = check_method(*text)) {
           report(diagnostics, method, *problem);
           return;
         }
         out.method = to_upper_ascii(*text);
       }},
      {"header", [&](const Value& header) { read_header_match(diagnostics, header, out.header.emplace()); }},
  });
  if (prefix_value && exact_value) {
    const Value& later = comes_after(exact_value->location, prefix_value->location) ? *exact_value : *prefix_value;
    report(diagnostics, later, "set either path_prefix or path (exact), not both");
  }
  if (!prefix_value && !exact_value) out.path_prefix = "/";
}

void read_rewrite(Diagnostics& diagnostics, const Value& value, Rewrite& out) {
  read_mapping(diagnostics, value, {
      {"strip_prefix",
       [&](const Value& prefix) {
         if (auto text = read_path(diagnostics, prefix)) out.strip_prefix = *text;
       }},
  });
}

}  // namespace

void read_route(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed) {
  Route route;
  route.location = value.location;
  route.match.path_prefix = "/";  // unless a match block says otherwise
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"name",
       [&](const Value& name) {
         if (auto text = read_name(diagnostics, name)) {
           route.name = *text;
           parsed.route_names.push_back(NameUse{*text, name.location, name.path});
         }
       },
       Presence::required},
      {"match",
       [&](const Value& match) {
         route.match = RouteMatch{};
         read_match(diagnostics, match, route.match);
       }},
      {"service",
       [&](const Value& service) {
         if (auto text = read_name(diagnostics, service)) {
           route.service = *text;
           route.service_site = ReferenceSite{service.location, service.path};
           parsed.service_refs.push_back(NameUse{*text, service.location, service.path});
         }
       },
       Presence::required},
      {"rewrite", [&](const Value& rewrite) { read_rewrite(diagnostics, rewrite, route.rewrite); }},
      {"reject_encoded_slashes",
       [&](const Value& flag) {
         if (auto on = read_bool(diagnostics, flag)) route.reject_encoded_slashes = *on;
       }},
      {"auth",
       [&](const Value& auth) {
         if (auto mode = read_route_auth(diagnostics, auth)) route.auth = *mode;
       }},
      {"auth_forward",
       [&](const Value& flag) {
         if (auto on = read_bool(diagnostics, flag)) route.auth_forward = *on;
       }},
      {"rate_limit", [&](const Value& limit) { read_route_rate_limit(diagnostics, limit, route.rate_limit.emplace()); }},
  });
  if (!is_mapping) return;
  parsed.config.routes.push_back(std::move(route));
}

}  // namespace tg::config
