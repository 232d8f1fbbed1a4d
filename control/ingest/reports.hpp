// The JSON bodies of POST /v1/ingest/... (docs/api.md, "Ingest"): parsed and
// validated whole, with no registry at hand (the worker thread does it); the
// tenant checks come after, on the owner loop (ingest_service.hpp).
//
// A problem is a FieldError naming the field as a path into the body
// ("events[3].level", "cpu"; "body" when it is not JSON at all). Unknown
// keys are refused, as in the YAML config: a misspelt field is an error,
// not silently dropped data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tg::control::ingest {

struct FieldError {
  std::string field;
  std::string message;
};

// Bounds of what one request may hold.
inline constexpr std::size_t max_events_per_request = 1000;
inline constexpr std::size_t max_message_bytes = 8 * 1024;
inline constexpr std::size_t max_detail_bytes = 64 * 1024;
inline constexpr std::size_t max_name_bytes = 253;  // service, instance, kind

struct EventReport {
  std::string service, instance, kind, level, message;
  std::string detail_json = "{}";
  std::string fingerprint;                  // empty: the normalised message groups it
  std::optional<std::int64_t> time_unix_ms;  // empty: when received
};

struct StatusReport {
  std::string instance;
  double cpu = 0;  // cores in use (1.5 = one and a half)
  std::int64_t memory_bytes = 0;
  std::int64_t restarts = 0;
  double load = 0;  // the container's own load figure (links use it)
  std::string detail_json = "{}";
};

struct RegisterReport {
  std::string service, address, id;
  std::uint32_t weight = 0;  // 0 = 1
  std::vector<std::pair<std::string, std::string>> labels;
  std::uint64_t ttl_ms = default_ttl_ms;  // heartbeat TTL; 0 = none expected
  static constexpr std::uint64_t default_ttl_ms = 30'000;
};

// {instance} of /heartbeat and /deregister.
struct InstanceReport {
  std::string instance;
};

// One event, or {"events": [...]} (1..max_events_per_request of them).
std::variant<std::vector<EventReport>, FieldError> parse_events(std::string_view body);
std::variant<StatusReport, FieldError> parse_status(std::string_view body);
std::variant<RegisterReport, FieldError> parse_register(std::string_view body);
std::variant<InstanceReport, FieldError> parse_instance(std::string_view body);

// RFC 3339 ("2026-12-03T16:28:46Z", "...46.123+01:00") to unix ms; nullopt
// when it is not one.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace tg::control::ingest
