// The config model's enumerations as registry.proto's and back
// (proto/mapping/config_enums): every value survives the round trip, and
// what the proxy reads from a newer tg-control is refused, not guessed.
#include "mapping/config_enums.hpp"

#include <catch2/catch.hpp>

#include <set>

namespace v1 = tenantgate::v1;
using tg::mapping::from_proto;
using tg::mapping::to_proto;

TEST_CASE("every lb policy maps to its own proto value and back", "[mapping]") {
  std::set<int> seen;
  for (tg::config::LbPolicy policy : tg::config::all_lb_policies) {
    const v1::LbPolicy proto = to_proto(policy);
    CHECK(proto != v1::LB_POLICY_UNSPECIFIED);
    CHECK(seen.insert(proto).second);
    CHECK(from_proto(proto) == policy);
  }
  CHECK(from_proto(v1::LB_POLICY_UNSPECIFIED) == tg::config::LbPolicy::round_robin);
  CHECK_FALSE(from_proto(static_cast<v1::LbPolicy>(999)).has_value());
}

TEST_CASE("every retry condition maps to its own proto value and back", "[mapping]") {
  std::set<int> seen;
  for (tg::config::RetryOn condition : tg::config::all_retry_conditions) {
    const v1::RetryOn proto = to_proto(condition);
    CHECK(proto != v1::RETRY_ON_UNSPECIFIED);
    CHECK(seen.insert(proto).second);
    CHECK(from_proto(proto) == condition);
  }
  CHECK_FALSE(from_proto(v1::RETRY_ON_UNSPECIFIED).has_value());
  CHECK_FALSE(from_proto(static_cast<v1::RetryOn>(999)).has_value());
}

TEST_CASE("admin states and health read from proto, unknown values as the defaults", "[mapping]") {
  CHECK(from_proto(v1::ADMIN_STATE_DRAINING) == tg::config::AdminState::draining);
  CHECK(from_proto(v1::ADMIN_STATE_DISABLED) == tg::config::AdminState::disabled);
  CHECK(from_proto(v1::ADMIN_STATE_ACTIVE) == tg::config::AdminState::active);
  CHECK(from_proto(v1::ADMIN_STATE_UNSPECIFIED) == tg::config::AdminState::active);
  CHECK(from_proto(v1::HEALTH_HEALTHY) == tg::config::Health::healthy);
  CHECK(from_proto(v1::HEALTH_UNHEALTHY) == tg::config::Health::unhealthy);
  CHECK(from_proto(v1::HEALTH_UNSPECIFIED) == tg::config::Health::unknown);
  CHECK(from_proto(static_cast<v1::Health>(999)) == tg::config::Health::unknown);
}
