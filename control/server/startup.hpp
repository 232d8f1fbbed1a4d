// Startup configuration files (--config): expansion, loading with the shared
// YAML loader, the cross-file name check, and their application to the
// registry under the ownership rule (Registry::apply_documents, KIND_CONFIG_FILE,
// prune on: objects a file owns but no longer holds are deleted).
#pragma once

#include "config/model.hpp"
#include "registry/registry.hpp"

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
// "FILE:LINE:COLUMN: message" lines: the loader's, and a name declared by
// two files ("... also declared at OTHER:LINE:COLUMN").
bool load_config_files(const std::vector<std::string>& paths, ConfigFiles& out, std::string& errors);

// Applies all files in one transaction (method "startup", actor "tg-control").
// Warnings (objects taken over through the API) are returned for logging.
Status apply_config_files(Registry& registry, const ConfigFiles& files, CommitBatch* batch,
                          std::vector<std::string>* warnings);

}  // namespace tg::control
