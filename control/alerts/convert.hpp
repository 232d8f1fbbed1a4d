// Alert rules and notifiers between the config model (YAML) and
// alerting.proto, and the checks every rule and notifier passes whether it
// comes from a file or the Admin API (the same limits and messages).
#pragma once

#include "status.hpp"

#include "config/model.hpp"

#include "tenantgate/v1/alerting.pb.h"

#include <string>

namespace tg::control::alerts {

namespace v1 = ::tenantgate::v1;

// meta.source: KIND_CONFIG_FILE with `file` and the item's line.
v1::AlertRule to_proto(const config::AlertRuleConfig& rule, const std::string& file);
v1::Notifier to_proto(const config::NotifierConfig& notifier, const std::string& file);

// OK, or INVALID_ARGUMENT naming the field ("rule.condition.metric: ...").
// Defaults applied in place first (window 1 m, notifier repeat 4 h, timeout
// 10 s). Notifier names are resolved by the caller.
Status check_rule(v1::AlertRule& rule);
Status check_notifier(v1::Notifier& notifier);

}  // namespace tg::control::alerts
