#include "config/references.hpp"

#include "config/yaml_reader.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace tg::config {

ConfigError unknown_reference(const ReferenceSite& site, std::string_view what, const std::string& name,
                              const std::vector<std::string>& known, std::string_view section) {
  std::string problem = "unknown " + std::string(what) + " \"" + name + '"';
  if (auto guess = closest_match(name, known)) problem += " (did you mean \"" + *guess + "\"?)";
  if (known.empty()) {
    problem += "; no " + std::string(section) + " are declared";
  } else {
    problem += "; it must be declared under " + std::string(section);
  }
  return ConfigError{site.location, site.path.empty() ? problem : site.path + ": " + problem};
}

std::vector<ConfigError> unresolved_references(const std::vector<const Config*>& configs) {
  std::set<std::string> tenant_set, service_set;
  for (const Config* config : configs) {
    for (const Tenant& t : config->tenants) tenant_set.insert(t.id);
    for (const Service& s : config->services) service_set.insert(s.name);
  }
  const std::vector<std::string> tenants(tenant_set.begin(), tenant_set.end());
  const std::vector<std::string> services(service_set.begin(), service_set.end());
  std::vector<ConfigError> errors;
  for (const Config* config : configs) {
    std::vector<ConfigError> own;
    for (const Service& s : config->services)
      if (!s.tenant.empty() && !tenant_set.contains(s.tenant))
        own.push_back(unknown_reference(s.tenant_site, "tenant", s.tenant, tenants, "tenants"));
    for (const Route& r : config->routes)
      if (!service_set.contains(r.service))
        own.push_back(unknown_reference(r.service_site, "service", r.service, services, "services"));
    std::stable_sort(own.begin(), own.end(), [](const ConfigError& a, const ConfigError& b) {
      return std::tie(a.location.line, a.location.column) < std::tie(b.location.line, b.location.column);
    });
    errors.insert(errors.end(), own.begin(), own.end());
  }
  return errors;
}

}  // namespace tg::config
