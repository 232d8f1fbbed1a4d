// Shared helpers for the config loader tests: load a YAML string as the file
// "t.yaml" and look at the errors as the user would see them.
#pragma once

#include "config/loader.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace tg::config::test {

inline LoadResult load(std::string_view yaml, Reader reader = Reader::proxy) {
  return load_string(yaml, "t.yaml", reader);
}

// Every error as "t.yaml:LINE:COLUMN: message", in the order reported.
inline std::vector<std::string> errors_of(std::string_view yaml, Reader reader = Reader::proxy) {
  std::vector<std::string> lines;
  for (const auto& error : load(yaml, reader).errors) lines.push_back(error.to_string());
  return lines;
}

// A configuration that must load without errors.
inline Config load_ok(std::string_view yaml, Reader reader = Reader::proxy) {
  LoadResult result = load(yaml, reader);
  INFO(result.error_text());
  REQUIRE(result.ok());
  REQUIRE(result.config.has_value());
  return *result.config;
}

// The only error of a configuration that must fail with exactly one error.
inline std::string single_error(std::string_view yaml) {
  const auto errors = errors_of(yaml);
  CAPTURE(errors);
  REQUIRE(errors.size() == 1);
  return errors.front();
}

}  // namespace tg::config::test
