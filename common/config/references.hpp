// References between objects (a route's service, a service's tenant) that do
// not resolve: one wording and one position for every binary that finds one.
//
// tg-proxy's loader resolves them within its file; tg-control --check across
// all its --config files; tg-control's startup and Admin.Apply against the
// registry the files are applied to. All of them report through
// unknown_reference, at the value of the referring key (`service:`,
// `tenant:`), so the same mistake reads the same everywhere:
//   FILE:LINE:COLUMN: routes[0].service: unknown service "acme-wbe" (did you
//   mean "acme-web"?); it must be declared under services
#pragma once

#include "config/loader.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

// `what`: "service" | "tenant"; `section`: "services" | "tenants"; `known`:
// the names that do resolve (for "did you mean" and "none are declared").
ConfigError unknown_reference(const ReferenceSite& site, std::string_view what, const std::string& name,
                              const std::vector<std::string>& known, std::string_view section);

// Every unresolved reference of `configs` against the names all of them
// declare (tg-control --check: the files as one set). Sorted by file order
// of `configs`, then position.
std::vector<ConfigError> unresolved_references(const std::vector<const Config*>& configs);

}  // namespace tg::config
