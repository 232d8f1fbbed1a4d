// The config model (YAML, common/config/model.hpp) as registry objects. The
// results still go through validate.hpp like any API object; Source and Meta
// are left for the caller.
#pragma once

#include "config/model.hpp"

#include "tenantgate/v1/registry.pb.h"

namespace tg::control {

tenantgate::v1::Tenant to_proto(const config::Tenant& tenant);
// Without instances (those are separate objects).
tenantgate::v1::Service to_proto(const config::Service& service);
tenantgate::v1::Instance to_proto(const config::Instance& instance, const std::string& service);
tenantgate::v1::Route to_proto(const config::Route& route);

}  // namespace tg::control
