// Startup configuration files (--config): expansion, loading with the shared
// YAML loader, the cross-file name check, and their application to the
// registry under the ownership rule (Registry::apply_documents, KIND_CONFIG_FILE,
// prune on: objects a file owns but no longer holds are deleted).
#pragma once

#include "config/model.hpp"
#include "registry/registry.hpp"

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace tg::control {

struct ConfigFiles {
  std::vector<std::string> paths;
  std::vector<config::Config> configs;  // parallel to paths
};

// Each argument is a file, or a directory standing for its *.yaml files in
// name order. A file reached twice is kept once (its first spelling). Throws
// std::runtime_error when a directory cannot be listed.
std::vector<std::string> expand_config_paths(const std::vector<std::string>& arguments);

// Loads every file. On error returns false with `errors` holding
// "FILE:LINE:COLUMN: message" lines: the loader's, a name declared by two
// files ("... also declared at OTHER:LINE:COLUMN"), and `retention:` set by
// more than one file. `warnings`, when given, gets the settings written but
// not enforced yet, one line each.
bool load_config_files(const std::vector<std::string>& paths, ConfigFiles& out, std::string& errors,
                       std::vector<std::string>* warnings = nullptr);

// tg-control --check: references across all files (a route's service, a
// service's tenant) must resolve among the files themselves, worded as
// tg-proxy --check words them (config/references.hpp). Appends
// "FILE:LINE:COLUMN: message" lines to `errors`; false when there are any.
bool check_config_references(const ConfigFiles& files, std::string& errors);

// tg-control --check: expands, loads and checks the files (names across
// files, references among them) without a database or ports. Writes
// FILE:LINE:COLUMN errors and not-enforced-setting warnings to `err`, and
// "FILE: ok (N services, M routes)" per file to `out` when all are good (the
// line tg-proxy --check prints). Returns the exit code: 0 good, 1 bad.
int check_config_files(const std::vector<std::string>& arguments, std::ostream& out, std::ostream& err);

// The history limits in effect (0 = kept forever), each with where it came
// from: the flag when given on the command line, else the `retention:` of
// the config files, else the default (DESIGN's rollups 30d, events 14d,
// alert_history 90d, audit 180d). alert_history is kept for the feature that
// will read it; nothing enforces it yet.
struct RetentionSetting {
  std::chrono::milliseconds value{0};
  std::string source;  // "--events-retention", "FILE:LINE:COLUMN" (the retention: value) or "default"
};
struct EffectiveRetention {
  RetentionSetting rollups, events, alert_history, audit;
};
EffectiveRetention effective_retention(const ConfigFiles& files, std::optional<std::chrono::milliseconds> events_flag,
                                       std::optional<std::chrono::milliseconds> audit_flag,
                                       std::optional<std::chrono::milliseconds> rollups_flag = std::nullopt);

// What startup did, for the log: one line per object changed and per
// tombstone dropped, "created route acme-host (deploy/acme.yaml:12)".
struct StartupReport {
  std::vector<std::string> warnings;  // declarations skipped (taken over, tombstone)
  std::vector<std::string> changes;
};

// Applies all files in one transaction (method "startup", actor "tg-control").
Status apply_config_files(Registry& registry, const ConfigFiles& files, CommitBatch* batch, StartupReport* report);

}  // namespace tg::control
