// The config model's enumerations (common/config/model.hpp) as the v1
// registry enumerations (registry.proto) and back: one table per enumeration,
// read in both directions by tg-control (YAML and defaults into registry
// objects) and tg-proxy (a pushed table into its config model). Library
// tg_proto_mapping.
#pragma once

#include "config/model.hpp"

#include "tenantgate/v1/registry.pb.h"

#include <optional>

namespace tg::mapping {

tenantgate::v1::LbPolicy to_proto(config::LbPolicy policy);
// LB_POLICY_UNSPECIFIED is the registry's default, round_robin; nullopt for
// a value this build does not know (a newer tg-control).
std::optional<config::LbPolicy> from_proto(tenantgate::v1::LbPolicy policy);

tenantgate::v1::RetryOn to_proto(config::RetryOn condition);
// nullopt for RETRY_ON_UNSPECIFIED and unknown values.
std::optional<config::RetryOn> from_proto(tenantgate::v1::RetryOn condition);

// Unspecified and unknown values read as the defaults (active, unknown).
config::AdminState from_proto(tenantgate::v1::AdminState state);
config::Health from_proto(tenantgate::v1::Health health);

}  // namespace tg::mapping
