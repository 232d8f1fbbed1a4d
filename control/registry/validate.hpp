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

#include <string>
#include <string_view>

namespace tg::control {

// Tenant ids follow registry.proto: [a-z0-9][a-z0-9_.-]{0,62}.
std::string tenant_id_problem(std::string_view id);

Status normalise_tenant(tenantgate::v1::Tenant& tenant, const std::string& prefix = "tenant");
Status normalise_service(tenantgate::v1::Service& service, const std::string& prefix = "service");
// Requires service and address; weight 0 becomes 1, admin state UNSPECIFIED
// becomes ACTIVE; an empty id becomes "<service>/<address>".
Status normalise_instance(tenantgate::v1::Instance& instance, const std::string& prefix = "instance");
Status normalise_route(tenantgate::v1::Route& route, const std::string& prefix = "route");

}  // namespace tg::control
