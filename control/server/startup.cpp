#include "server/startup.hpp"

#include "config/loader.hpp"
#include "config/references.hpp"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <map>
#include <stdexcept>

namespace tg::control {
namespace {

std::string position(const config::SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

}  // namespace

std::vector<std::string> expand_config_paths(const std::vector<std::string>& arguments) {
  std::vector<std::string> paths;
  for (const std::string& argument : arguments) {
    std::error_code ec;
    if (std::filesystem::is_directory(argument, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : std::filesystem::directory_iterator(argument, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".yaml") found.push_back(entry.path().string());
      if (ec) throw std::runtime_error(argument + ": cannot list the directory: " + ec.message());
      std::sort(found.begin(), found.end());
      paths.insert(paths.end(), found.begin(), found.end());
    } else {
      paths.push_back(argument);  // a missing file is reported by the loader
    }
  }
  // A file named twice (itself and through its directory) is one file.
  std::vector<std::string> unique;
  std::vector<std::filesystem::path> seen;
  for (const std::string& path : paths) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    if (ec) canonical = path;
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    seen.push_back(canonical);
    unique.push_back(path);
  }
  return unique;
}

bool load_config_files(const std::vector<std::string>& paths, ConfigFiles& out, std::string& errors,
                       std::vector<std::string>* warnings) {
  errors.clear();
  for (const std::string& path : paths) {
    config::LoadResult result = config::load_file(path, config::Reader::control);
    if (!result.ok()) {
      errors += result.error_text();
      if (!errors.empty() && errors.back() != '\n') errors += '\n';
      continue;
    }
    if (warnings)
      for (const auto& warning : result.warnings) warnings->push_back(warning.to_string());
    out.paths.push_back(path);
    out.configs.push_back(std::move(*result.config));
  }
  if (!errors.empty()) return false;
  // Names are global: one declaration across all files.
  std::map<std::pair<std::string, std::string>, config::SourceLocation> first;
  auto declare = [&](const char* kind, const std::string& name, const config::SourceLocation& where) {
    auto [it, inserted] = first.emplace(std::make_pair(std::string(kind), name), where);
    if (!inserted)
      errors += position(where) + ": " + kind + " \"" + name + "\" is also declared at " + position(it->second) +
                "; names are global, one file must own it\n";
  };
  for (const config::Config& c : out.configs) {
    for (const auto& t : c.tenants) declare("tenant", t.id, t.location);
    for (const auto& s : c.services) {
      declare("service", s.name, s.location);
      for (const auto& i : s.instances) declare("instance", i.id, i.location);
    }
    for (const auto& r : c.routes) declare("route", r.name, r.location);
  }
  // Settings of the process: one file sets them.
  const config::Retention* retention = nullptr;
  for (const config::Config& c : out.configs) {
    if (!c.retention) continue;
    if (retention)
      errors += position(c.retention->location) + ": retention is also set at " + position(retention->location) +
                "; set it in one file\n";
    else
      retention = &*c.retention;
  }
  return errors.empty();
}

EffectiveRetention effective_retention(const ConfigFiles& files, std::optional<std::chrono::milliseconds> events_flag,
                                       std::optional<std::chrono::milliseconds> audit_flag,
                                       std::optional<std::chrono::milliseconds> rollups_flag) {
  using std::chrono::hours;
  EffectiveRetention out{{hours(24 * 30), "default"},
                         {hours(24 * 14), "default"},
                         {hours(24 * 90), "default"},
                         {hours(24 * 180), "default"}};
  for (const config::Config& c : files.configs) {
    if (!c.retention) continue;  // load_config_files allows one
    const std::string where = position(c.retention->location);
    const auto take = [&where](const std::optional<config::Duration>& value, RetentionSetting& setting) {
      if (value) setting = {*value, where};
    };
    take(c.retention->rollups, out.rollups);
    take(c.retention->events, out.events);
    take(c.retention->alert_history, out.alert_history);
    take(c.retention->audit, out.audit);
  }
  if (events_flag) out.events = {*events_flag, "--events-retention"};
  if (audit_flag) out.audit = {*audit_flag, "--audit-retention"};
  if (rollups_flag) out.rollups = {*rollups_flag, "--rollups-retention"};
  return out;
}

bool check_config_references(const ConfigFiles& files, std::string& errors) {
  std::vector<const config::Config*> configs;
  for (const config::Config& c : files.configs) configs.push_back(&c);
  const auto problems = config::unresolved_references(configs);
  for (const auto& problem : problems) errors += problem.to_string() + "\n";
  return problems.empty();
}

int check_config_files(const std::vector<std::string>& arguments, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths;
  try {
    paths = expand_config_paths(arguments);
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return 1;
  }
  ConfigFiles files;
  std::string errors;
  std::vector<std::string> warnings;
  const bool loaded = load_config_files(paths, files, errors, &warnings);
  for (const auto& warning : warnings) err << warning << "\n";
  if (!loaded || !check_config_references(files, errors)) {
    err << errors;
    return 1;
  }
  for (std::size_t i = 0; i < files.paths.size(); ++i)
    out << files.paths[i] << ": ok (" << files.configs[i].services.size() << " services, "
        << files.configs[i].routes.size() << " routes)\n";
  if (files.paths.empty()) out << "no config files (an empty directory?): ok\n";
  return 0;
}

namespace {

std::string source_text(const v1::Meta& meta) {
  const v1::Source& source = meta.source();
  return source.line() ? source.file() + ":" + std::to_string(source.line()) : source.file();
}

// The file (and line) that declares an object of the registry, "" if none.
std::string declared_at(const Registry& registry, ObjectKind kind, const std::string& name) {
  auto find = [&](const auto& table) -> std::string {
    auto it = table.find(name);
    return it == table.end() ? std::string{} : source_text(it->second.meta());
  };
  switch (kind) {
    case ObjectKind::tenant: return find(registry.tenants());
    case ObjectKind::service: return find(registry.services());
    case ObjectKind::instance: return find(registry.instances());
    case ObjectKind::route: return find(registry.routes());
  }
  return {};
}

}  // namespace

Status apply_config_files(Registry& registry, const ConfigFiles& files, CommitBatch* batch, StartupReport* report) {
  StartupReport unused;
  if (!report) report = &unused;
  std::vector<Document> documents;
  for (std::size_t i = 0; i < files.paths.size(); ++i) documents.push_back(Document{&files.configs[i], files.paths[i]});
  ApplyOptions options;
  options.kind = v1::Source::KIND_CONFIG_FILE;
  options.prune = true;
  // Where each object deleted by the prune was declared, read before it goes.
  std::map<std::pair<ObjectKind, std::string>, std::string> before;
  for (ObjectKind kind : all_object_kinds) {
    auto remember = [&](const auto& table) {
      for (const auto& [name, object] : table)
        if (object.meta().source().kind() == v1::Source::KIND_CONFIG_FILE)
          before[{kind, name}] = source_text(object.meta());
    };
    switch (kind) {
      case ObjectKind::tenant: remember(registry.tenants()); break;
      case ObjectKind::service: remember(registry.services()); break;
      case ObjectKind::instance: remember(registry.instances()); break;
      case ObjectKind::route: remember(registry.routes()); break;
    }
  }
  const Registry::TombstoneMap tombstones_before = registry.tombstones();
  std::vector<v1::Change> changes;
  Status status = registry.apply_documents(documents, options, WriteContext{system_actor, "startup"}, &changes, batch,
                                           &report->warnings);
  if (!status.ok()) return status;
  for (const v1::Change& change : changes) {
    const auto kind = object_kind_from_string(change.kind());
    if (!kind) continue;
    switch (change.action()) {
      case v1::Change::ACTION_CREATE:
        report->changes.push_back("created " + change.kind() + " " + change.name() + " (" +
                                  declared_at(registry, *kind, change.name()) + ")");
        break;
      case v1::Change::ACTION_UPDATE:
        report->changes.push_back("updated " + change.kind() + " " + change.name() + " (" +
                                  declared_at(registry, *kind, change.name()) + ")");
        break;
      case v1::Change::ACTION_DELETE:
        report->changes.push_back("deleted " + change.kind() + " " + change.name() + " (no longer in " +
                                  before[{*kind, change.name()}] + ")");
        break;
      default: break;
    }
  }
  for (const TombstoneKey& key : batch->cleared_tombstones) {
    auto it = tombstones_before.find({key.kind, key.name});
    if (it == tombstones_before.end()) continue;
    const bool recreated = !declared_at(registry, key.kind, key.name).empty();
    report->changes.push_back("dropped the tombstone of " + std::string(to_string(key.kind)) + " " + key.name + " (" +
                              (recreated ? "declared again by " + declared_at(registry, key.kind, key.name)
                                         : "no longer in " + it->second.file) +
                              ")");
  }
  return {};
}

}  // namespace tg::control
