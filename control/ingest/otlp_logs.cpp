#include "ingest/otlp_logs.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace tg::control::ingest {
namespace {

namespace json = boost::json;

// An OTLP 64-bit integer: a JSON number or a decimal string.
std::optional<std::int64_t> int64_of(const json::value& value) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64()) return static_cast<std::int64_t>(value.as_uint64() / 2);  // out of range anyway
  if (value.is_double()) return static_cast<std::int64_t>(value.as_double());
  if (value.is_string()) {
    const json::string& text = value.as_string();
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc() && end == text.data() + text.size()) return out;
    std::uint64_t big = 0;
    auto [end2, ec2] = std::from_chars(text.data(), text.data() + text.size(), big);
    if (ec2 == std::errc() && end2 == text.data() + text.size()) return static_cast<std::int64_t>(big / 2);
  }
  return std::nullopt;
}

// AnyValue -> plain JSON.
json::value plain(const json::value& any) {
  if (!any.is_object()) return nullptr;
  const json::object& o = any.as_object();
  if (auto* v = o.if_contains("stringValue")) return *v;
  if (auto* v = o.if_contains("boolValue")) return *v;
  if (auto* v = o.if_contains("intValue")) {
    if (auto n = int64_of(*v)) return *n;
    return *v;
  }
  if (auto* v = o.if_contains("doubleValue")) return *v;
  if (auto* v = o.if_contains("bytesValue")) return *v;  // base64, as sent
  if (auto* v = o.if_contains("arrayValue"); v && v->is_object()) {
    json::array out;
    if (auto* values = v->as_object().if_contains("values"); values && values->is_array())
      for (const auto& item : values->as_array()) out.push_back(plain(item));
    return out;
  }
  if (auto* v = o.if_contains("kvlistValue"); v && v->is_object()) {
    json::object out;
    if (auto* values = v->as_object().if_contains("values"); values && values->is_array())
      for (const auto& kv : values->as_array())
        if (kv.is_object())
          if (auto* key = kv.as_object().if_contains("key"); key && key->is_string())
            out[key->as_string()] = kv.as_object().if_contains("value") ? plain(kv.as_object().at("value")) : nullptr;
    return out;
  }
  return nullptr;
}

// attributes[] (KeyValue) -> object; a FieldError when it is not a list of them.
std::optional<FieldError> attributes_of(const json::object& holder, const std::string& at, json::object& out) {
  const json::value* list = holder.if_contains("attributes");
  if (list == nullptr || list->is_null()) return std::nullopt;
  if (!list->is_array()) return FieldError{at + ".attributes", "must be an array of {key, value}"};
  const json::array& array = list->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string here = at + ".attributes[" + std::to_string(i) + "]";
    if (!array[i].is_object()) return FieldError{here, "must be an object {key, value}"};
    const json::object& kv = array[i].as_object();
    const json::value* key = kv.if_contains("key");
    if (key == nullptr || !key->is_string()) return FieldError{here + ".key", "must be a string"};
    const json::value* value = kv.if_contains("value");
    out[key->as_string()] = value ? plain(*value) : json::value(nullptr);
  }
  return std::nullopt;
}

std::string text_of(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string().data(), value.as_string().size());
  if (value.is_null()) return {};
  return json::serialize(value);
}

std::string clip(std::string text, std::size_t max) {
  if (text.size() > max) text.resize(max);
  return text;
}

const json::array* array_field(const json::object& o, std::string_view key, const std::string& at,
                               std::optional<FieldError>& error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_array()) error = FieldError{at.empty() ? std::string(key) : at + "." + std::string(key), "must be an array"};
  return v->is_array() ? &v->as_array() : nullptr;
}

}  // namespace

std::string level_of_severity(std::int64_t n) {
  if (n >= 21) return "critical";
  if (n >= 17) return "error";
  if (n >= 13) return "warning";
  if (n >= 9) return "info";
  return "debug";
}

std::variant<OtlpLogs, FieldError> parse_otlp_logs(std::string_view body) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return FieldError{"body", "not JSON: " + ec.message()};
  if (!root.is_object()) return FieldError{"body", "must be a JSON object (ExportLogsServiceRequest)"};
  std::optional<FieldError> error;
  OtlpLogs out;
  const json::array* resources = array_field(root.as_object(), "resourceLogs", "", error);
  if (error) return *error;
  if (resources == nullptr) return out;  // an empty request is valid
  for (std::size_t r = 0; r < resources->size(); ++r) {
    const std::string at_r = "resourceLogs[" + std::to_string(r) + "]";
    if (!(*resources)[r].is_object()) return FieldError{at_r, "must be an object"};
    const json::object& resource_logs = (*resources)[r].as_object();
    json::object resource_attributes;
    if (const json::value* resource = resource_logs.if_contains("resource"); resource && resource->is_object())
      if (auto e = attributes_of(resource->as_object(), at_r + ".resource", resource_attributes)) return *e;
    std::string service, instance;
    if (auto* v = resource_attributes.if_contains("service.name")) service = text_of(*v);
    if (auto* v = resource_attributes.if_contains("service.instance.id")) instance = text_of(*v);
    const json::array* scopes = array_field(resource_logs, "scopeLogs", at_r, error);
    if (error) return *error;
    if (scopes == nullptr) continue;
    for (std::size_t s = 0; s < scopes->size(); ++s) {
      const std::string at_s = at_r + ".scopeLogs[" + std::to_string(s) + "]";
      if (!(*scopes)[s].is_object()) return FieldError{at_s, "must be an object"};
      const json::array* records = array_field((*scopes)[s].as_object(), "logRecords", at_s, error);
      if (error) return *error;
      if (records == nullptr) continue;
      for (std::size_t i = 0; i < records->size(); ++i) {
        const std::string at = at_s + ".logRecords[" + std::to_string(i) + "]";
        if (!(*records)[i].is_object()) return FieldError{at, "must be an object"};
        const json::object& record = (*records)[i].as_object();
        std::int64_t severity = 0;
        if (const json::value* v = record.if_contains("severityNumber"); v && !v->is_null()) {
          auto n = v->is_string() ? std::optional<std::int64_t>() : int64_of(*v);
          if (!n) return FieldError{at + ".severityNumber", "must be an integer (the enum's number)"};
          severity = *n;
        }
        json::object attributes;
        if (auto e = attributes_of(record, at, attributes)) return *e;
        std::optional<std::int64_t> nanos;
        for (const char* key : {"timeUnixNano", "observedTimeUnixNano"}) {
          const json::value* v = record.if_contains(key);
          if (v == nullptr || v->is_null()) continue;
          auto n = int64_of(*v);
          if (!n) return FieldError{at + "." + key, "must be a 64-bit integer (as a string or a number)"};
          if (*n > 0 && !nanos) nanos = *n;
        }
        const json::value body_value = record.if_contains("body") ? plain(record.at("body")) : json::value(nullptr);
        const json::value* type = attributes.if_contains("exception.type");
        if (type == nullptr && severity < 13) {
          ++out.below_level;
          continue;
        }
        if (service.empty()) {
          ++out.rejected;
          out.rejected_message = "records without the resource attribute service.name cannot be taken";
          continue;
        }
        EventReport event;
        event.service = clip(service, max_name_bytes);
        event.instance = clip(instance, max_name_bytes);
        if (type != nullptr) {
          event.kind = clip(text_of(*type), max_name_bytes);
          if (event.kind.empty()) event.kind = "exception";
          event.level = severity >= 13 ? level_of_severity(severity) : "error";
          const json::value* message = attributes.if_contains("exception.message");
          event.message = message ? text_of(*message) : text_of(body_value);
          attributes.erase("exception.type");
          attributes.erase("exception.message");
        } else {
          event.kind = "log";
          event.level = level_of_severity(severity);
          event.message = text_of(body_value);
        }
        if (event.message.empty()) event.message = "(no message)";
        event.message = clip(std::move(event.message), max_message_bytes);
        json::object detail = std::move(attributes);
        if (!body_value.is_null()) detail["body"] = body_value;
        if (const json::value* v = record.if_contains("severityText"); v && v->is_string() && !v->as_string().empty())
          detail["severity_text"] = *v;
        for (const auto& [key, name] : {std::pair{"traceId", "trace_id"}, std::pair{"spanId", "span_id"}})
          if (const json::value* v = record.if_contains(key); v && v->is_string() && !v->as_string().empty())
            detail[name] = *v;
        event.detail_json = json::serialize(detail);
        if (event.detail_json.size() > max_detail_bytes) event.detail_json = "{\"truncated\":true}";
        if (nanos) event.time_unix_ms = *nanos / 1'000'000;
        out.events.push_back(std::move(event));
      }
    }
  }
  return out;
}

}  // namespace tg::control::ingest
