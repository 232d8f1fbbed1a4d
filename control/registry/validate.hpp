// Checks and normalises registry objects received through the Admin API (and
// those converted from YAML, which pass the same checks), reusing the config
// loader's value checks (config/value_parsers.hpp) so an object is valid
// through the API exactly when it would be in a file.
//
// Each function fixes what proto3 cannot express (defaults for zero values,
// lower-casing host and header names, "/" when no path is given) and returns
// INVALID_ARGUMENT naming the field, e.g. "route.match.host: bad host ...".
// `prefix` is the field path of the object in the request ("route",
// "instance"). Output-only fields are not looked at; callers clear them.
// References to other objects are checked by the Transaction, not here.
#pragma once

#include "status.hpp"

#include "tenantgate/v1/registry.pb.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace tg::control {

// The size limits of registry objects: every field and list an Admin call or
// an apply can fill has one, so no object, audit row or table entry grows
// without bound. One table, documented in docs/operations.md ("Limits");
// beyond a limit the call is refused INVALID_ARGUMENT naming the field.
struct SizeLimit {
  std::string_view name;  // what is limited, as docs/operations.md lists it
  std::size_t max;
};
namespace size_limits {
inline constexpr std::size_t name = 128;             // service, route, instance id, label key (config rule)
inline constexpr std::size_t tenant_id = 63;         // registry.proto
inline constexpr std::size_t labels = 64;            // labels per tenant or instance
inline constexpr std::size_t label_value = 1024;     // bytes
inline constexpr std::size_t address = 300;          // instance address, bytes
inline constexpr std::size_t host = 255;             // route match host, bytes
inline constexpr std::size_t path = 2048;            // paths and prefixes, bytes
inline constexpr std::size_t method = 32;            // route match method, bytes
inline constexpr std::size_t header_name = 256;      // route header name, hash key name, bytes
inline constexpr std::size_t header_value = 4096;    // route header value, bytes
inline constexpr std::size_t file_name = 1024;       // Apply file_name (meta.source.file), bytes
inline constexpr std::size_t apply_objects = 100'000;  // tenants + services + instances + routes per Apply
inline constexpr std::size_t apply_yaml = 4 * 1024 * 1024;  // Apply yaml, bytes
inline constexpr std::size_t credentials = 256;      // credentials per tenant
inline constexpr std::size_t jwt_text = 1024;        // jwt issuer, each audience, key file names, jwks_url; bytes
inline constexpr std::size_t audiences = 32;         // jwt audiences per tenant
}  // namespace size_limits
inline constexpr std::array<SizeLimit, 16> all_size_limits = {{
    {"name (service, route, instance id, label key)", size_limits::name},
    {"tenant id", size_limits::tenant_id},
    {"labels per object", size_limits::labels},
    {"label value (bytes)", size_limits::label_value},
    {"instance address (bytes)", size_limits::address},
    {"route match host (bytes)", size_limits::host},
    {"path (health check, path_prefix, path_exact, strip_prefix; bytes)", size_limits::path},
    {"route match method (bytes)", size_limits::method},
    {"header or cookie name (route header, hash key; bytes)", size_limits::header_name},
    {"route header value (bytes)", size_limits::header_value},
    {"Apply file_name (bytes)", size_limits::file_name},
    {"objects per Apply", size_limits::apply_objects},
    {"Apply yaml (bytes)", size_limits::apply_yaml},
    {"credentials per tenant", size_limits::credentials},
    {"jwt issuer, audience, key file name, jwks_url (bytes)", size_limits::jwt_text},
    {"jwt audiences per tenant", size_limits::audiences},
}};

// INVALID_ARGUMENT "FIELD: N bytes; at most MAX" when `value` is longer than `max`.
Status check_size(const std::string& field, std::string_view value, std::size_t max);

// Tenant ids follow registry.proto: [a-z0-9][a-z0-9_.-]{0,62}.
std::string tenant_id_problem(std::string_view id);
// Credential names follow the same rule (registry.proto).
std::string credential_name_problem(std::string_view name);

// Tenants: labels; credentials (names, kinds, a sha256 of 32 bytes, unique
// names, sorted by name); jwt (issuer, non-empty audiences, exactly one key
// source, a jwks_url tg-control may fetch; the table-only jwks_json and
// hs256_secret must be empty); limits (a rate of at least 1 per period).
// Issuers unique across tenants: Transaction::check.
Status normalise_tenant(tenantgate::v1::Tenant& tenant, const std::string& prefix = "tenant");
Status normalise_service(tenantgate::v1::Service& service, const std::string& prefix = "service");
// Requires service and address; weight 0 becomes 1, admin state UNSPECIFIED
// becomes ACTIVE; an empty id becomes "<service>/<address>".
Status normalise_instance(tenantgate::v1::Instance& instance, const std::string& prefix = "instance");
// Routes: match, rewrite, auth, rate_limit (a rate of at least 1 per period;
// by header needs a header name). A route with auth required whose service
// has no tenant: Transaction::check.
Status normalise_route(tenantgate::v1::Route& route, const std::string& prefix = "route");

}  // namespace tg::control
