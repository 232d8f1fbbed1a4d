// Flag values → proto field values. Each parser throws UsageError naming the
// flag and the accepted forms when the text is not one of them.
#pragma once

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace tg::tgctl {

// "KEY=VALUE" (VALUE may be empty and may hold '='); KEY must not be empty.
std::pair<std::string, std::string> parse_key_value(std::string_view text, std::string_view flag);

// A duration as in the YAML files ("250ms", "5s", "1.5m", "2h", "1d", "0") in
// milliseconds.
std::uint64_t parse_duration_ms(std::string_view text, std::string_view flag);

// A size as in the YAML files ("65536", "64KiB", "10MiB", "1GiB") in bytes.
std::uint64_t parse_size_bytes(std::string_view text, std::string_view flag);

// A value of `type` given by its short name, case-insensitive: with prefix
// "LB_POLICY_", "least_request" and "LB_POLICY_LEAST_REQUEST" both name
// LB_POLICY_LEAST_REQUEST; "503" with "RETRY_ON_" names RETRY_ON_503. The
// UNSPECIFIED value is never accepted.
int parse_enum(const google::protobuf::EnumDescriptor& type, std::string_view prefix,
               std::string_view text, std::string_view flag);

// The short, lower-case name of an enum value: "least_request" for
// LB_POLICY_LEAST_REQUEST with prefix "LB_POLICY_"; "-" for UNSPECIFIED.
std::string enum_short_name(const google::protobuf::EnumDescriptor& type, std::string_view prefix,
                            int value);

// A point in time, in UTC Unix milliseconds:
//   "2026-11-22T06:00:00Z" or with fractional seconds (RFC 3339, UTC only),
//   "1763791200000"        Unix milliseconds,
//   "15m", "2h", "1d"      that long before now_unix_ms.
std::int64_t parse_time_unix_ms(std::string_view text, std::int64_t now_unix_ms,
                                std::string_view flag);

// "2026-11-22T06:00:00.123Z"; "-" for 0.
std::string format_time_unix_ms(std::int64_t unix_ms);

// "250ms", "5s", "90m", "2h": the largest unit that is exact; "0" for 0.
std::string format_duration_ms(std::uint64_t ms);

}  // namespace tg::tgctl
