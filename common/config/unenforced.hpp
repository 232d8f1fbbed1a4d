// Settings the loader accepts and validates but that nothing enforces yet.
//
// One list, read by every binary that loads YAML (tg-proxy --check and
// startup and SIGHUP reload, tg-control --check and startup), so an operator
// is told once per written key that it has no effect today. The change that
// enforces a setting deletes its line in unenforced.cpp (and its test).
#pragma once

#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <vector>

namespace tg::config {

// One warning per listed key written in the document, at the key:
//   FILE:LINE:COLUMN: warning: services[acme].limits.max_pending_per_instance
//   is accepted but not enforced yet (no pending queue: ...)
// Items of a section are named by their `name` (or index when it has none).
std::vector<ConfigError> unenforced_settings(const YAML::Node& root, const std::string& file);

}  // namespace tg::config
