// Error collection for the YAML loader, and the checks that look at the YAML
// document itself rather than at what it means: syntax, one document only,
// duplicate keys in any mapping.
#pragma once

#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

// Collects located errors for one file. The loader keeps going after an error,
// so everything a file gets wrong is reported in one run.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file);

  const std::string& file() const { return file_; }
  // yaml-cpp marks are 0-based; ours are 1-based. A null mark gives line 0,
  // which ConfigError prints as "FILE: message".
  SourceLocation locate(const YAML::Mark& mark) const;

  void error(SourceLocation location, std::string message);
  bool has_errors() const { return !errors_.empty(); }

  // Errors in file order (line, then column; equal positions keep the order
  // they were reported in), without exact repeats (an alias can make the same
  // node be read twice).
  std::vector<ConfigError> take_sorted();

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// Parses `text` as one YAML document. An empty document (empty file, only
// comments, only "---") is a null node. Syntax errors and a second non-empty
// document are reported and give nullopt.
std::optional<YAML::Node> parse_document(Diagnostics& diagnostics, std::string_view text);

// Reports every mapping key that repeats an earlier key of the same mapping,
// and every key that is not a plain string, anywhere in the document,
// sections the reader ignores included. yaml-cpp 0.7 would silently keep one
// of the values. Returns false when the document nests too deeply or expands
// (through aliases) into too many nodes to check; that is reported too.
bool check_duplicate_keys(Diagnostics& diagnostics, const YAML::Node& root);

}  // namespace tg::config
