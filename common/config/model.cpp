// Names of the model's enumerations and the text form of load errors.
//
// The names here are the YAML spellings; the loader, the docs and anything that
// prints a Config (the proxy's /config page) share them.
#include "config/loader.hpp"
#include "config/model.hpp"

#include <array>
#include <utility>

namespace tg::config {
namespace {

constexpr std::array<std::pair<LbPolicy, std::string_view>, 8> lb_policy_names{{
    {LbPolicy::round_robin, "round_robin"},
    {LbPolicy::weighted, "weighted"},
    {LbPolicy::least_request, "least_request"},
    {LbPolicy::ip_hash, "ip_hash"},
    {LbPolicy::ring_hash, "ring_hash"},
    {LbPolicy::maglev, "maglev"},
    {LbPolicy::peak_ewma, "peak_ewma"},
    {LbPolicy::sticky_link, "sticky_link"},
}};

constexpr std::array<std::pair<RetryOn, std::string_view>, 6> retry_on_names{{
    {retry_connect_failure, "connect_failure"},
    {retry_reset, "reset"},
    {retry_timeout, "timeout"},
    {retry_502, "502"},
    {retry_503, "503"},
    {retry_504, "504"},
}};

}  // namespace

std::string_view to_string(LbPolicy policy) {
  for (const auto& [value, name] : lb_policy_names) {
    if (value == policy) return name;
  }
  return "unknown";
}

std::optional<LbPolicy> lb_policy_from_string(std::string_view name) {
  for (const auto& [value, text] : lb_policy_names) {
    if (text == name) return value;
  }
  return std::nullopt;
}

bool uses_hash_key(LbPolicy policy) {
  return policy == LbPolicy::ring_hash || policy == LbPolicy::maglev ||
         policy == LbPolicy::sticky_link;
}

std::string_view to_string(RetryOn condition) {
  for (const auto& [value, name] : retry_on_names) {
    if (value == condition) return name;
  }
  return "unknown";
}

std::optional<RetryOn> retry_on_from_string(std::string_view name) {
  for (const auto& [value, text] : retry_on_names) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::string_view to_string(HealthCheck::Type type) {
  return type == HealthCheck::Type::tcp ? "tcp" : "http";
}

std::string_view to_string(AdminState state) {
  switch (state) {
    case AdminState::active: return "active";
    case AdminState::draining: return "draining";
    case AdminState::disabled: return "disabled";
  }
  return "active";
}

std::string_view to_string(Health health) {
  switch (health) {
    case Health::unknown: return "unknown";
    case Health::healthy: return "healthy";
    case Health::unhealthy: return "unhealthy";
  }
  return "unknown";
}

// Problems that have no position in the file (it could not be read) print as
// "FILE: message"; everything else as "FILE:LINE:COLUMN: message".
std::string ConfigError::to_string() const {
  std::string text = location.file;
  if (location.line > 0) {
    text += ':' + std::to_string(location.line) + ':' + std::to_string(location.column);
  }
  text += ": ";
  text += message;
  return text;
}

std::string LoadResult::error_text() const {
  std::string text;
  for (const auto& error : errors) {
    if (!text.empty()) text += '\n';
    text += error.to_string();
  }
  return text;
}

std::string LoadResult::warning_text() const {
  std::string text;
  for (const auto& warning : warnings) text += warning.to_string() + '\n';
  return text;
}

}  // namespace tg::config
