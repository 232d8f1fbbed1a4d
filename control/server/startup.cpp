#include "server/startup.hpp"

#include "config/loader.hpp"

#include <algorithm>
#include <filesystem>
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

bool load_config_files(const std::vector<std::string>& paths, ConfigFiles& out, std::string& errors) {
  errors.clear();
  for (const std::string& path : paths) {
    config::LoadResult result = config::load_file(path, config::Reader::control);
    if (!result.ok()) {
      errors += result.error_text();
      if (!errors.empty() && errors.back() != '\n') errors += '\n';
      continue;
    }
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
  return errors.empty();
}

Status apply_config_files(Registry& registry, const ConfigFiles& files, CommitBatch* batch,
                          std::vector<std::string>* warnings) {
  std::vector<Document> documents;
  for (std::size_t i = 0; i < files.paths.size(); ++i) documents.push_back(Document{&files.configs[i], files.paths[i]});
  ApplyOptions options;
  options.kind = v1::Source::KIND_CONFIG_FILE;
  options.prune = true;
  return registry.apply_documents(documents, options, WriteContext{system_actor, "startup"}, nullptr, batch,
                                  warnings);
}

}  // namespace tg::control
