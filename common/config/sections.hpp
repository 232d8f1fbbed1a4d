// Readers for the sections of the configuration document (tenants, services,
// routes).
//
// Section readers fill a ParsedConfig and record every name they declare or
// refer to, with its position, so that the loader can report duplicates and
// dangling references once the whole document has been read, whatever order
// the sections come in.
#pragma once

#include "config/model.hpp"
#include "config/yaml_reader.hpp"

#include <string>
#include <vector>

namespace tg::config {

// A name as declared or referred to, and where.
struct NameUse {
  std::string name;
  SourceLocation location;
  std::string path;        // for messages: "services[1].name"
  bool defaulted = false;  // instance id derived as "<service>/<address>"
};

struct ParsedConfig {
  Config config;
  std::vector<NameUse> tenant_ids;
  std::vector<NameUse> service_names;
  std::vector<NameUse> route_names;
  std::vector<NameUse> instance_ids;
  std::vector<NameUse> tenant_refs;   // Service::tenant
  std::vector<NameUse> service_refs;  // Route::service
  std::vector<NameUse> jwt_issuers;   // Tenant::jwt issuer, unique across tenants
  std::vector<NameUse> alert_rule_names;  // control only
  std::vector<NameUse> notifier_names;    // control only
  std::vector<NameUse> notifier_refs;     // AlertRuleConfig::notifiers
};

// The control-only `retention:` mapping (retention_section.cpp).
void read_retention(Diagnostics& diagnostics, const Value& value, Retention& out);

// One item of the control-only `alert_rules` and `notifiers` (alert_section.cpp).
void read_alert_rule(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed);
void read_notifier(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed);

// One list item of each section.
void read_tenant(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed);
void read_service(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed);
void read_route(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed);

// The per-service tuning blocks (service_policies.cpp). Each starts from the
// model's defaults already in `out` and overrides what the YAML sets.
void read_health_check(Diagnostics& diagnostics, const Value& value, HealthCheck& out);
void read_outlier(Diagnostics& diagnostics, const Value& value, Outlier& out);
void read_retry(Diagnostics& diagnostics, const Value& value, Retry& out);
void read_timeouts(Diagnostics& diagnostics, const Value& value, Timeouts& out);
void read_limits(Diagnostics& diagnostics, const Value& value, Limits& out);

// Tenant and route admission settings (admission_section.cpp): a tenant's
// credentials, jwt and limits; a route's auth and rate_limit.
void read_credentials(Diagnostics& diagnostics, const Value& value, std::vector<Credential>& out);
void read_jwt(Diagnostics& diagnostics, const Value& value, Jwt& out);
void read_tenant_limits(Diagnostics& diagnostics, const Value& value, TenantLimits& out);
std::optional<RouteAuth> read_route_auth(Diagnostics& diagnostics, const Value& value);
void read_route_rate_limit(Diagnostics& diagnostics, const Value& value, RouteRateLimit& out);

}  // namespace tg::config
