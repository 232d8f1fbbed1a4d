#include "ingest/reports.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <ctime>
#include <initializer_list>
#include <string_view>

namespace tg::control::ingest {
namespace {

namespace json = boost::json;

// Parses `body` as one JSON object; a FieldError "body" otherwise.
std::variant<json::object, FieldError> object_of(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return FieldError{"body", "not JSON: " + ec.message()};
  if (!value.is_object()) return FieldError{"body", "must be a JSON object"};
  return std::move(value.as_object());
}

std::string path(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

std::optional<FieldError> only_keys(const json::object& object, const std::string& prefix,
                                    std::initializer_list<std::string_view> keys) {
  for (const auto& entry : object) {
    const std::string_view key(entry.key().data(), entry.key().size());
    bool known = false;
    for (std::string_view k : keys) known = known || k == key;
    if (known) continue;
    std::string list;
    for (std::string_view k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
    return FieldError{path(prefix, key), "unknown field (known: " + list + ")"};
  }
  return std::nullopt;
}

// A string field: required or not, non-empty when present, at most `max` bytes.
std::optional<FieldError> string_field(const json::object& object, const std::string& prefix, std::string_view key,
                                       bool required, std::size_t max, std::string& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) return FieldError{path(prefix, key), "required"};
    return std::nullopt;
  }
  if (!value->is_string()) return FieldError{path(prefix, key), "must be a string"};
  const json::string& text = value->as_string();
  if (required && text.empty()) return FieldError{path(prefix, key), "must not be empty"};
  if (text.size() > max)
    return FieldError{path(prefix, key), "longer than " + std::to_string(max) + " bytes"};
  out.assign(text.data(), text.size());
  return std::nullopt;
}

// A number field (integer or not): required; at least 0.
std::optional<FieldError> number_field(const json::object& object, const std::string& prefix, std::string_view key,
                                       bool required, double& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) return FieldError{path(prefix, key), "required"};
    return std::nullopt;
  }
  if (!value->is_number()) return FieldError{path(prefix, key), "must be a number"};
  const double number = value->to_number<double>();
  if (!std::isfinite(number) || number < 0) return FieldError{path(prefix, key), "must be a number >= 0"};
  out = number;
  return std::nullopt;
}

std::optional<FieldError> integer_field(const json::object& object, const std::string& prefix, std::string_view key,
                                        bool required, std::int64_t max, std::int64_t& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) return FieldError{path(prefix, key), "required"};
    return std::nullopt;
  }
  std::int64_t number = 0;
  if (value->is_int64()) number = value->as_int64();
  else if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(max))
    number = static_cast<std::int64_t>(value->as_uint64());
  else if (value->is_double() && std::floor(value->as_double()) == value->as_double() && value->as_double() >= 0 &&
           value->as_double() <= static_cast<double>(max))
    number = static_cast<std::int64_t>(value->as_double());
  else
    return FieldError{path(prefix, key), "must be a whole number"};
  if (number < 0 || number > max)
    return FieldError{path(prefix, key), "must be between 0 and " + std::to_string(max)};
  out = number;
  return std::nullopt;
}

// An optional JSON object, kept as its serialized text.
std::optional<FieldError> detail_field(const json::object& object, const std::string& prefix, std::string& out) {
  const json::value* value = object.if_contains("detail");
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_object()) return FieldError{path(prefix, "detail"), "must be a JSON object"};
  out = json::serialize(*value);
  if (out.size() > max_detail_bytes)
    return FieldError{path(prefix, "detail"), "larger than " + std::to_string(max_detail_bytes) + " bytes"};
  return std::nullopt;
}

bool is_level(std::string_view level) {
  return level == "debug" || level == "info" || level == "warning" || level == "error" || level == "critical";
}

// Times before 2000 or after 2100 are mistakes (seconds for milliseconds, say).
constexpr std::int64_t min_time_ms = 946'684'800'000;    // 2000-01-01
constexpr std::int64_t max_time_ms = 4'102'444'800'000;  // 2100-01-01

std::optional<FieldError> time_field(const json::object& object, const std::string& prefix,
                                     std::optional<std::int64_t>& out) {
  const json::value* value = object.if_contains("time");
  if (value == nullptr || value->is_null()) return std::nullopt;
  std::optional<std::int64_t> ms;
  if (value->is_string()) {
    ms = parse_rfc3339(value->as_string());
    if (!ms) return FieldError{path(prefix, "time"), "not an RFC 3339 time (2026-12-03T16:28:46Z)"};
  } else if (value->is_int64()) {
    ms = value->as_int64();
  } else if (value->is_uint64()) {
    ms = max_time_ms + 1;
  } else {
    return FieldError{path(prefix, "time"), "must be unix milliseconds or an RFC 3339 string"};
  }
  if (*ms < min_time_ms || *ms > max_time_ms)
    return FieldError{path(prefix, "time"), "out of range (unix milliseconds between 2000 and 2100)"};
  out = ms;
  return std::nullopt;
}

std::optional<FieldError> event_of(const json::value& value, const std::string& prefix, EventReport& event) {
  if (!value.is_object()) return FieldError{prefix.empty() ? "body" : prefix, "must be a JSON object"};
  const json::object& object = value.as_object();
  if (auto e = only_keys(object, prefix,
                         {"service", "instance", "kind", "level", "message", "detail", "fingerprint", "time"}))
    return e;
  if (auto e = string_field(object, prefix, "service", true, max_name_bytes, event.service)) return e;
  if (auto e = string_field(object, prefix, "instance", false, max_name_bytes, event.instance)) return e;
  if (auto e = string_field(object, prefix, "kind", true, max_name_bytes, event.kind)) return e;
  if (auto e = string_field(object, prefix, "level", true, 16, event.level)) return e;
  if (!is_level(event.level))
    return FieldError{path(prefix, "level"), "\"" + event.level + "\": must be debug, info, warning, error or critical"};
  if (auto e = string_field(object, prefix, "message", true, max_message_bytes, event.message)) return e;
  if (auto e = detail_field(object, prefix, event.detail_json)) return e;
  if (auto e = string_field(object, prefix, "fingerprint", false, 256, event.fingerprint)) return e;
  return time_field(object, prefix, event.time_unix_ms);
}

}  // namespace

std::string json_quote(std::string_view text) { return json::serialize(json::string(text)); }

std::optional<std::int64_t> parse_rfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto digits = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > t.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, year) || t.size() < 20 || t[4] != '-' || !digits(5, 2, month) || t[7] != '-' ||
      !digits(8, 2, day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(11, 2, hour) || t[13] != ':' ||
      !digits(14, 2, minute) || t[16] != ':' || !digits(17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::size_t i = 19;
  std::int64_t millis = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int places = 0;
    const std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (places < 3) {
        millis = millis * 10 + (t[i] - '0');
        ++places;
      }
      ++i;
    }
    if (i == start) return std::nullopt;
    while (places++ < 3) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int oh, om;
    if (!digits(i + 1, 2, oh) || i + 3 >= t.size() || t[i + 3] != ':' || !digits(i + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (t[i] == '+' ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::int64_t seconds = static_cast<std::int64_t>(timegm(&tm)) - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::variant<std::vector<EventReport>, FieldError> parse_events(std::string_view body) {
  auto parsed = object_of(body);
  if (auto* error = std::get_if<FieldError>(&parsed)) return std::move(*error);
  const json::object& object = std::get<json::object>(parsed);
  std::vector<EventReport> events;
  if (const json::value* list = object.if_contains("events")) {
    if (auto e = only_keys(object, "", {"events"})) return *e;
    if (!list->is_array()) return FieldError{"events", "must be an array of events"};
    const json::array& array = list->as_array();
    if (array.empty()) return FieldError{"events", "must hold at least one event"};
    if (array.size() > max_events_per_request)
      return FieldError{"events", "holds " + std::to_string(array.size()) + " events; at most " +
                                      std::to_string(max_events_per_request) + " per request"};
    events.resize(array.size());
    for (std::size_t i = 0; i < array.size(); ++i)
      if (auto e = event_of(array[i], "events[" + std::to_string(i) + "]", events[i])) return *e;
    return events;
  }
  events.emplace_back();
  if (auto e = event_of(object, "", events.back())) return *e;
  return events;
}

std::variant<StatusReport, FieldError> parse_status(std::string_view body) {
  auto parsed = object_of(body);
  if (auto* error = std::get_if<FieldError>(&parsed)) return std::move(*error);
  const json::object& object = std::get<json::object>(parsed);
  StatusReport status;
  if (auto e = only_keys(object, "", {"instance", "cpu", "memory_bytes", "restarts", "load", "detail"})) return *e;
  if (auto e = string_field(object, "", "instance", true, max_name_bytes, status.instance)) return *e;
  if (auto e = number_field(object, "", "cpu", true, status.cpu)) return *e;
  constexpr std::int64_t max_int = static_cast<std::int64_t>(1) << 53;  // exact in a double
  if (auto e = integer_field(object, "", "memory_bytes", true, max_int, status.memory_bytes)) return *e;
  if (auto e = integer_field(object, "", "restarts", true, max_int, status.restarts)) return *e;
  if (auto e = number_field(object, "", "load", true, status.load)) return *e;
  if (auto e = detail_field(object, "", status.detail_json)) return *e;
  return status;
}

std::variant<RegisterReport, FieldError> parse_register(std::string_view body) {
  auto parsed = object_of(body);
  if (auto* error = std::get_if<FieldError>(&parsed)) return std::move(*error);
  const json::object& object = std::get<json::object>(parsed);
  RegisterReport report;
  if (auto e = only_keys(object, "", {"service", "address", "id", "weight", "labels", "ttl_ms"})) return *e;
  if (auto e = string_field(object, "", "service", true, max_name_bytes, report.service)) return *e;
  if (auto e = string_field(object, "", "address", true, max_name_bytes, report.address)) return *e;
  if (auto e = string_field(object, "", "id", false, max_name_bytes, report.id)) return *e;
  std::int64_t weight = 0;
  if (auto e = integer_field(object, "", "weight", false, 10000, weight)) return *e;
  report.weight = static_cast<std::uint32_t>(weight);
  std::int64_t ttl = static_cast<std::int64_t>(report.ttl_ms);
  if (auto e = integer_field(object, "", "ttl_ms", false, 24 * 3600 * 1000, ttl)) return *e;
  report.ttl_ms = static_cast<std::uint64_t>(ttl);
  if (const json::value* labels = object.if_contains("labels"); labels && !labels->is_null()) {
    if (!labels->is_object()) return FieldError{"labels", "must be an object of strings"};
    for (const auto& entry : labels->as_object()) {
      const std::string key(entry.key().data(), entry.key().size());
      if (!entry.value().is_string()) return FieldError{"labels." + key, "must be a string"};
      const json::string& value = entry.value().as_string();
      report.labels.emplace_back(key, std::string(value.data(), value.size()));
    }
  }
  return report;
}

std::variant<InstanceReport, FieldError> parse_instance(std::string_view body) {
  auto parsed = object_of(body);
  if (auto* error = std::get_if<FieldError>(&parsed)) return std::move(*error);
  const json::object& object = std::get<json::object>(parsed);
  InstanceReport report;
  if (auto e = only_keys(object, "", {"instance"})) return *e;
  if (auto e = string_field(object, "", "instance", true, max_name_bytes, report.instance)) return *e;
  return report;
}

}  // namespace tg::control::ingest
