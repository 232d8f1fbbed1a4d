// The YAML loader's entry points, the document's top level (docs/configuration.md) and
// the checks that span the whole file.
//
// Order of work: parse the YAML (syntax errors stop here), report duplicate
// keys anywhere in the document, read the sections (each bad field is
// reported and reading goes on), then check names and references across
// sections, so a route may name a service declared further down. Errors come
// back sorted by position; a Config only when there are none.
#include "config/loader.hpp"

#include "config/references.hpp"
#include "config/sections.hpp"
#include "config/unenforced.hpp"
#include "config/yaml_errors.hpp"
#include "config/yaml_reader.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>

namespace tg::config {
namespace {

void read_document(Diagnostics& diagnostics, const YAML::Node& root, Reader reader, ParsedConfig& parsed) {
  if (root.IsNull()) return;  // empty file: empty Config
  const Value top{root, diagnostics.locate(root.Mark()), std::string{}};
  if (!root.IsMap()) {
    diagnostics.error(top.location, "the top level must be a mapping with the keys tenants, services and routes; got " +
                                        describe(root));
    return;
  }
  auto each = [&diagnostics, &parsed](void (*read_item)(Diagnostics&, const Value&, ParsedConfig&)) {
    return [&diagnostics, &parsed, read_item](const Value& section) {
      read_sequence(diagnostics, section, [&](const Value& item) { read_item(diagnostics, item, parsed); });
    };
  };
  const auto retention = [&diagnostics, &parsed, reader](const Value& section) {
    if (reader != Reader::control) return;  // the proxy ignores it
    read_retention(diagnostics, section, parsed.config.retention.emplace());
  };
  // The control-only sections: the proxy ignores them whatever they hold.
  const auto control_only = [&diagnostics, &parsed,
                             reader](void (*read_item)(Diagnostics&, const Value&, ParsedConfig&)) {
    return [&diagnostics, &parsed, reader, read_item](const Value& section) {
      if (reader != Reader::control) return;
      read_sequence(diagnostics, section, [&](const Value& item) { read_item(diagnostics, item, parsed); });
    };
  };
  read_mapping(diagnostics, top, {
      {"tenants", each(&read_tenant)},
      {"services", each(&read_service)},
      {"routes", each(&read_route)},
      {"alert_rules", control_only(&read_alert_rule)},
      {"notifiers", control_only(&read_notifier)},
      {"retention", retention},
  });
}

std::string position_text(const SourceLocation& location) {
  return "line " + std::to_string(location.line) + ", column " + std::to_string(location.column);
}

void report_at(Diagnostics& diagnostics, const NameUse& use, const std::string& problem) {
  diagnostics.error(use.location, use.path.empty() ? problem : use.path + ": " + problem);
}

void check_unique(Diagnostics& diagnostics, const std::vector<NameUse>& uses, std::string_view what) {
  std::map<std::string, const NameUse*> first;
  for (const auto& use : uses) {
    const auto [it, inserted] = first.emplace(use.name, &use);
    if (inserted) continue;
    std::string problem = "duplicate " + std::string(what) + " \"" + use.name + '"';
    if (use.defaulted) problem += " (the default id <service>/<address>; give one of the instances an explicit id)";
    problem += "; first declared at " + position_text(it->second->location);
    report_at(diagnostics, use, problem);
  }
}

void check_resolved(Diagnostics& diagnostics, const std::vector<NameUse>& refs,
                    const std::vector<NameUse>& declared, std::string_view what, std::string_view section) {
  std::set<std::string> names;
  for (const auto& use : declared) names.insert(use.name);
  const std::vector<std::string> candidates(names.begin(), names.end());
  for (const auto& ref : refs) {
    if (names.contains(ref.name)) continue;
    ConfigError error = unknown_reference(ReferenceSite{ref.location, ref.path}, what, ref.name, candidates, section);
    diagnostics.error(std::move(error.location), std::move(error.message));
  }
}

// Duplicate names (tenant ids, service names, route names, instance ids, each
// unique across the whole file) and references to undeclared tenants/services.
// The control plane resolves references against its whole registry (a route
// may name a service that another file or the Admin API created), so for
// Reader::control only uniqueness is checked here.
void check_references(Diagnostics& diagnostics, const ParsedConfig& parsed, Reader reader) {
  check_unique(diagnostics, parsed.tenant_ids, "tenant id");
  check_unique(diagnostics, parsed.service_names, "service name");
  check_unique(diagnostics, parsed.route_names, "route name");
  check_unique(diagnostics, parsed.instance_ids, "instance id");
  check_unique(diagnostics, parsed.jwt_issuers, "jwt issuer");
  check_unique(diagnostics, parsed.alert_rule_names, "alert rule name");
  check_unique(diagnostics, parsed.notifier_names, "notifier name");
  // A rule's notifiers are declared beside it, in the same document.
  check_resolved(diagnostics, parsed.notifier_refs, parsed.notifier_names, "notifier", "notifiers");
  if (reader == Reader::control) return;
  check_resolved(diagnostics, parsed.tenant_refs, parsed.tenant_ids, "tenant", "tenants");
  check_resolved(diagnostics, parsed.service_refs, parsed.service_names, "service", "services");
  // `auth: required` admits the credentials of the service's tenant: a
  // service without one could admit nobody.
  for (const Route& route : parsed.config.routes) {
    if (route.auth != RouteAuth::required) continue;
    for (const Service& service : parsed.config.services) {
      if (service.name != route.service || !service.tenant.empty()) continue;
      diagnostics.error(route.service_site.location, route.service_site.path + ": route \"" + route.name +
                                                         "\" has auth: required, but its service \"" +
                                                         service.name + "\" has no tenant");
    }
  }
}

}  // namespace

void read_tenant(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed) {
  Tenant tenant;
  tenant.location = value.location;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"id",
       [&](const Value& id) {
         if (auto text = read_name(diagnostics, id)) {
           tenant.id = *text;
           parsed.tenant_ids.push_back(NameUse{*text, id.location, id.path});
         }
       },
       Presence::required},
      {"labels",
       [&](const Value& labels) {
         if (auto map = read_labels(diagnostics, labels)) tenant.labels = std::move(*map);
       }},
      {"credentials", [&](const Value& list) { read_credentials(diagnostics, list, tenant.credentials); }},
      {"jwt",
       [&](const Value& jwt) {
         read_jwt(diagnostics, jwt, tenant.jwt.emplace());
         if (!tenant.jwt->issuer.empty())
           parsed.jwt_issuers.push_back(NameUse{tenant.jwt->issuer, jwt.location, jwt.path + ".issuer"});
       }},
      {"limits", [&](const Value& limits) { read_tenant_limits(diagnostics, limits, tenant.limits); }},
  });
  if (!is_mapping) return;
  parsed.config.tenants.push_back(std::move(tenant));
}

LoadResult load_string(std::string_view text, const std::string& file_name, Reader reader) {
  Diagnostics diagnostics(file_name);
  ParsedConfig parsed;
  const std::optional<YAML::Node> root = parse_document(diagnostics, text);
  if (root) {
    if (check_duplicate_keys(diagnostics, *root)) {
      read_document(diagnostics, *root, reader, parsed);
      check_references(diagnostics, parsed, reader);
    }
  }
  LoadResult result;
  result.errors = diagnostics.take_sorted();
  if (result.errors.empty()) {
    result.config = std::move(parsed.config);
    if (root) result.warnings = unenforced_settings(*root, file_name);
  }
  return result;
}

LoadResult load_file(const std::string& path, Reader reader) {
  auto cannot_read = [&path](int error_number) {
    LoadResult result;
    result.errors.push_back(
        ConfigError{SourceLocation{path, 0, 0}, std::string("cannot read the file: ") + std::strerror(error_number)});
    return result;
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return cannot_read(errno);
  std::string text;
  char buffer[64 * 1024];
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    text.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file.get())) return cannot_read(errno);  // e.g. EISDIR for a directory
  return load_string(text, path, reader);
}

}  // namespace tg::config
