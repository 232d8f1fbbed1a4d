// YAML → config::Config, with validation (docs/configuration.md).
//
// Every problem is reported as "FILE:LINE:COLUMN: message" (1-based), and the
// loader collects all problems it can find in one pass rather than stopping at
// the first. A Config is returned only when there are no errors.
#pragma once

#include "config/model.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

struct ConfigError {
  SourceLocation location;
  std::string message;

  // "FILE:LINE:COLUMN: message"
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;    // set only when errors is empty
  std::vector<ConfigError> errors;
  // Settings written but not enforced yet (config/unenforced.hpp), messages
  // starting "warning: "; only for a file without errors.
  std::vector<ConfigError> warnings;

  bool ok() const { return errors.empty(); }
  // All errors joined with '\n'.
  std::string error_text() const;
  // All warnings, one per line (each ends with '\n'); empty when none.
  std::string warning_text() const;
};

// Which sections the caller understands. The proxy ignores the control-only
// sections (alert_rules, notifiers, retention); the control plane reads them
// (retention today; alert_rules and notifiers are accepted unread). With
// Reader::control, references to tenants and services need not be declared in
// the same document: tg-control resolves them against its registry.
enum class Reader { proxy, control };

LoadResult load_file(const std::string& path, Reader reader = Reader::proxy);
LoadResult load_string(std::string_view text, const std::string& file_name,
                       Reader reader = Reader::proxy);

// Value parsers, exposed for reuse and tests. Return false on a bad value.
bool parse_duration(std::string_view text, Duration& out);   // "250ms", "5s", "1m", "2h", "1d", "1.5s"
bool parse_size(std::string_view text, std::uint64_t& out);  // "512", "64KiB", "10MiB", "1GiB"
// "host:port" or "[v6]:port"; host may be an IP literal or a DNS name.
bool parse_address(std::string_view text, std::string& host, std::uint16_t& port);

}  // namespace tg::config
