#include "mapping/config_enums.hpp"

#include <utility>

namespace tg::mapping {
namespace {

namespace v1 = ::tenantgate::v1;

constexpr std::pair<config::LbPolicy, v1::LbPolicy> kLbPolicies[] = {
    {config::LbPolicy::round_robin, v1::LB_POLICY_ROUND_ROBIN},
    {config::LbPolicy::weighted, v1::LB_POLICY_WEIGHTED},
    {config::LbPolicy::least_request, v1::LB_POLICY_LEAST_REQUEST},
    {config::LbPolicy::ip_hash, v1::LB_POLICY_IP_HASH},
    {config::LbPolicy::ring_hash, v1::LB_POLICY_RING_HASH},
    {config::LbPolicy::maglev, v1::LB_POLICY_MAGLEV},
    {config::LbPolicy::peak_ewma, v1::LB_POLICY_PEAK_EWMA},
    {config::LbPolicy::sticky_link, v1::LB_POLICY_STICKY_LINK},
};

constexpr std::pair<config::RetryOn, v1::RetryOn> kRetryConditions[] = {
    {config::retry_connect_failure, v1::RETRY_ON_CONNECT_FAILURE},
    {config::retry_reset, v1::RETRY_ON_RESET},
    {config::retry_timeout, v1::RETRY_ON_TIMEOUT},
    {config::retry_502, v1::RETRY_ON_502},
    {config::retry_503, v1::RETRY_ON_503},
    {config::retry_504, v1::RETRY_ON_504},
};

constexpr std::pair<config::AdminState, v1::AdminState> kAdminStates[] = {
    {config::AdminState::active, v1::ADMIN_STATE_ACTIVE},
    {config::AdminState::draining, v1::ADMIN_STATE_DRAINING},
    {config::AdminState::disabled, v1::ADMIN_STATE_DISABLED},
};

constexpr std::pair<config::Health, v1::Health> kHealths[] = {
    {config::Health::unknown, v1::HEALTH_UNSPECIFIED},
    {config::Health::healthy, v1::HEALTH_HEALTHY},
    {config::Health::unhealthy, v1::HEALTH_UNHEALTHY},
};

template <typename Table, typename Config>
auto proto_of(const Table& table, Config value) -> decltype(table[0].second) {
  for (const auto& [config_value, proto_value] : table)
    if (config_value == value) return proto_value;
  return table[0].second;  // every config value is listed; not reached
}

template <typename Table, typename Proto>
auto config_of(const Table& table, Proto value) -> std::optional<std::decay_t<decltype(table[0].first)>> {
  for (const auto& [config_value, proto_value] : table)
    if (proto_value == value) return config_value;
  return std::nullopt;
}

}  // namespace

v1::LbPolicy to_proto(config::LbPolicy policy) { return proto_of(kLbPolicies, policy); }

std::optional<config::LbPolicy> from_proto(v1::LbPolicy policy) {
  if (policy == v1::LB_POLICY_UNSPECIFIED) return config::LbPolicy::round_robin;
  return config_of(kLbPolicies, policy);
}

v1::RetryOn to_proto(config::RetryOn condition) { return proto_of(kRetryConditions, condition); }

std::optional<config::RetryOn> from_proto(v1::RetryOn condition) { return config_of(kRetryConditions, condition); }

config::AdminState from_proto(v1::AdminState state) {
  return config_of(kAdminStates, state).value_or(config::AdminState::active);
}

config::Health from_proto(v1::Health health) { return config_of(kHealths, health).value_or(config::Health::unknown); }

}  // namespace tg::mapping
