// The value rules of config/rules.hpp over a whole Config, for a model that
// did not come from the YAML loader (the proxy's conversion of a table pushed
// by tg-control): the same ranges and syntax, so a pushed table can hold
// nothing a configuration file could not.
//
// Each error names its object and field, e.g.
//   service "web": timeouts.connect: too large (at most 365d)
#pragma once

#include "config/model.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tg::config {

// Every broken rule, in document order (tenants, services with their
// instances, routes); empty when the Config keeps them all.
std::vector<std::string> validate(const Config& config);

// The first broken rule, or nullopt.
std::optional<std::string> first_error(const Config& config);

}  // namespace tg::config
