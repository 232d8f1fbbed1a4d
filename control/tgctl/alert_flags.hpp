// Flag values of the alerting commands (commands_alerts.cpp) → proto field
// values. Each parser throws UsageError naming the flag and the accepted
// forms when the text is not one of them.
#pragma once

#include "tenantgate/v1/alerting.pb.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::tgctl {

// "> >= < <= == !=" (as given; surrounding blanks trimmed).
std::string parse_alert_op(std::string_view text, std::string_view flag);

// A finite number: "0.05", "250", "1e3".
double parse_double(std::string_view text, std::string_view flag);

// An alert id: a positive whole number.
std::uint64_t parse_alert_id(std::string_view text);

// "tenant=acme", "tenant!=acme", "severity=~warning|info", "service!~web-.*".
// The name must not be empty; the value may be.
tenantgate::v1::Matcher parse_matcher(std::string_view text, std::string_view flag);
// The matcher as typed: "severity=~warning|info".
std::string matcher_text(const tenantgate::v1::Matcher& matcher);

// A point in time given absolutely: "2026-11-22T06:00:00Z" or Unix ms (no
// "ago" forms: a silence ends in the future).
std::int64_t parse_absolute_time_unix_ms(std::string_view text, std::string_view flag);

}  // namespace tg::tgctl
