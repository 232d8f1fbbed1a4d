// Declarative application of YAML documents: Admin.Apply and the startup
// config files share this code and the ownership rule (docs/control-plane.md, Ownership; the rule is
// spelled out in registry.hpp above apply_documents).
#include "config/loader.hpp"
#include "config/references.hpp"
#include "registry/convert.hpp"
#include "registry/operation.hpp"
#include "registry/validate.hpp"

#include <google/protobuf/util/message_differencer.h>

#include <set>

namespace tg::control {
namespace {

using detail::quoted;
using Key = std::pair<ObjectKind, std::string>;

std::string position_of(const config::SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::string location_prefix(const config::SourceLocation& where) { return position_of(where) + ": "; }

template <class T>
bool same_content(T a, T b) {
  a.clear_meta();
  b.clear_meta();
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

bool same_source(const v1::Source& a, const v1::Source& b) {
  return a.kind() == b.kind() && a.file() == b.file() && a.line() == b.line();
}

const std::string& key_of(const v1::Tenant& t) { return t.id(); }
const std::string& key_of(const v1::Service& s) { return s.name(); }
const std::string& key_of(const v1::Instance& i) { return i.id(); }
const std::string& key_of(const v1::Route& r) { return r.name(); }

Status normalise(v1::Tenant& t) { return normalise_tenant(t); }
Status normalise(v1::Service& s) { return normalise_service(s); }
Status normalise(v1::Instance& i) { return normalise_instance(i); }
Status normalise(v1::Route& r) { return normalise_route(r); }

// Fields of an instance that are state, not declaration: a re-applied file
// keeps them (an admin may have drained a file-declared instance).
void keep_operational_state(const v1::Instance& existing, v1::Instance& desired) {
  desired.set_admin_state(existing.admin_state());
  desired.set_health(existing.health());
  desired.set_health_reason(existing.health_reason());
  desired.set_health_changed_unix_ms(existing.health_changed_unix_ms());
  desired.set_heartbeat_ttl_ms(existing.heartbeat_ttl_ms());
  desired.set_last_heartbeat_unix_ms(existing.last_heartbeat_unix_ms());
}
// Credentials declared again keep their creation time.
void keep_operational_state(const v1::Tenant& existing, v1::Tenant& desired) {
  carry_credential_times(existing, desired);
}
template <class T>
void keep_operational_state(const T&, T&) {}

class Applier {
 public:
  Applier(Registry& registry, const ApplyOptions& options, const WriteContext& context,
          std::vector<std::string>* warnings)
      : options_(options), tx_(registry, context), warnings_(warnings) {}

  Transaction& tx() { return tx_; }

  template <class T>
  Status stage(ObjectKind kind, T desired, const config::SourceLocation& where, const std::string& file,
               const std::map<std::string, T>& existing_table) {
    desired.clear_meta();
    if (Status status = normalise(desired); !status.ok())
      return Status{status.code, location_prefix(where) + status.message};
    const std::string name = key_of(desired);
    v1::Source& source = *desired.mutable_meta()->mutable_source();
    source.set_kind(options_.kind);
    source.set_file(file);
    source.set_line(static_cast<std::uint32_t>(where.line));
    where_[Key{kind, name}] = where;
    declared_.insert(Key{kind, name});
    auto it = existing_table.find(name);
    if (it == existing_table.end()) {
      if (options_.kind == v1::Source::KIND_CONFIG_FILE && skip_tombstoned(kind, name, where, file)) return {};
      if (Status status = check_keys(desired, static_cast<const T*>(nullptr), where); !status.ok()) return status;
      tx_.put(std::move(desired));
      return {};
    }
    const T& existing = it->second;
    if (Status status = check_keys(desired, &existing, where); !status.ok()) return status;
    const v1::Source& owner = existing.meta().source();
    const bool mine = owner.kind() == options_.kind && owner.file() == file;
    if (!mine) {
      const std::string what = std::string(to_string(kind)) + " " + quoted(name);
      if (options_.kind == v1::Source::KIND_CONFIG_FILE) {
        if (owner.kind() != v1::Source::KIND_CONFIG_FILE) {
          // Taken over through the API (or an apply): the file no longer manages it.
          if (warnings_)
            warnings_->push_back(location_prefix(where) + what + " is managed by " + describe_source(owner) +
                                 " since it was taken over; this declaration is skipped");
          skipped_.insert(Key{kind, name});
          return {};
        }
        // Another config file declared it before and no longer does (two
        // current files declaring one name are refused before this point).
      } else if (!options_.take_ownership) {
        return Status::precondition(location_prefix(where) + what + " is owned by " + describe_source(owner) +
                                    "; pass take_ownership to take it over");
      }
    }
    keep_operational_state(existing, desired);
    if (same_content(desired, existing) && same_source(owner, source)) {
      tx_.note_unchanged(kind, name);
      return {};
    }
    tx_.put(std::move(desired));
    return {};
  }

  // An apply (not startup) refuses a tenant whose new jwt settings name key
  // files that cannot be read or hold no usable keys.
  Status check_keys(const v1::Tenant& desired, const v1::Tenant* existing, const config::SourceLocation& where) const {
    if (options_.kind == v1::Source::KIND_CONFIG_FILE) return {};
    Status status = tx_.registry().check_key_files(desired, existing, "tenant.jwt");
    if (!status.ok()) status.message = location_prefix(where) + "tenant " + quoted(desired.id()) + ": " + status.message;
    return status;
  }
  template <class T>
  Status check_keys(const T&, const T*, const config::SourceLocation&) const {
    return {};
  }

  // Startup: a declaration of an object deleted through the API from this
  // same file is skipped (with a warning naming the way back).
  bool skip_tombstoned(ObjectKind kind, const std::string& name, const config::SourceLocation& where,
                       const std::string& file) {
    const Tombstone* tombstone = tx_.registry().tombstone(kind, name);
    if (!tombstone || tombstone->file != file) return false;
    skipped_.insert(Key{kind, name});
    if (warnings_)
      warnings_->push_back(std::string(to_string(kind)) + " " + name + ": deleted through the API at " +
                           format_utc(tombstone->deleted_unix_ms) + " by " + tombstone->actor +
                           " (tombstone); not recreated from " + position_of(where) +
                           " - remove it from the file, or create it again through the API or tgctl apply to "
                           "take it back");
    return true;
  }

  bool skipped(ObjectKind kind, const std::string& name) const { return skipped_.contains(Key{kind, name}); }

  // Tombstones of `files` whose object none of them declares any more are dropped.
  void drop_stale_tombstones(const std::set<std::string>& files) {
    for (const auto& [key, tombstone] : tx_.registry().tombstones())
      if (files.contains(tombstone.file) && !skipped_.contains(key) && !declared_.contains(key))
        tx_.clear_tombstone(key.first, key.second);
  }

  // Deletes objects of `table` owned (this kind) by one of `files` and not declared.
  template <class T>
  void prune(ObjectKind kind, const std::map<std::string, T>& table, const std::set<std::string>& files) {
    for (const auto& [name, object] : table) {
      const v1::Source& owner = object.meta().source();
      if (owner.kind() != options_.kind || !files.contains(owner.file())) continue;
      if (declared_.contains(Key{kind, name})) continue;
      tx_.erase(kind, name);
    }
  }

  // References written in the documents that the final view cannot resolve,
  // worded and placed as the loader does for one file (config/references.hpp).
  Status check_references(const std::vector<Document>& documents) const {
    // Candidates for "did you mean": what the final view holds.
    std::set<std::string> tenants, services;
    for (const auto& [id, object] : tx_.registry().tenants())
      if (tx_.tenant(id)) tenants.insert(id);
    for (const auto& [name, object] : tx_.registry().services())
      if (tx_.service(name)) services.insert(name);
    for (const Document& doc : documents) {
      for (const auto& t : doc.config->tenants)
        if (tx_.tenant(t.id)) tenants.insert(t.id);
      for (const auto& s : doc.config->services)
        if (tx_.service(s.name)) services.insert(s.name);
    }
    std::vector<config::ConfigError> errors;
    for (const Document& doc : documents) {
      for (const auto& service : doc.config->services) {
        if (service.tenant.empty() || skipped(ObjectKind::service, service.name) || tx_.tenant(service.tenant))
          continue;
        errors.push_back(config::unknown_reference(service.tenant_site, "tenant", service.tenant,
                                                   {tenants.begin(), tenants.end()}, "tenants"));
      }
      for (const auto& route : doc.config->routes) {
        if (skipped(ObjectKind::route, route.name) || tx_.service(route.service)) continue;
        config::ConfigError error = config::unknown_reference(route.service_site, "service", route.service,
                                                              {services.begin(), services.end()}, "services");
        if (const Tombstone* t = tx_.registry().tombstone(ObjectKind::service, route.service))
          error.message += " (it was deleted through the API at " + format_utc(t->deleted_unix_ms) + ")";
        errors.push_back(std::move(error));
      }
    }
    if (errors.empty()) return {};
    std::string text;
    for (const auto& error : errors) text += (text.empty() ? "" : "\n") + error.to_string();
    return Status::not_found(text);
  }

  // A located check of the final view.
  Status check() const {
    ObjectKind kind{};
    std::string name;
    Status status = tx_.check(&kind, &name);
    if (status.ok()) return status;
    if (auto it = where_.find(Key{kind, name}); it != where_.end()) {
      status.message = location_prefix(it->second) + std::string(to_string(kind)) + " " + quoted(name) + ": " +
                       status.message;
    } else {
      status.message = std::string(to_string(kind)) + " " + quoted(name) + ": " + status.message;
    }
    return status;
  }

 private:
  const ApplyOptions& options_;
  Transaction tx_;
  std::vector<std::string>* warnings_;
  std::map<Key, config::SourceLocation> where_;
  std::set<Key> declared_;
  std::set<Key> skipped_;  // declarations not applied: a tombstone, or taken over
};

}  // namespace

Status Registry::apply_documents(const std::vector<Document>& documents, const ApplyOptions& options,
                                 const WriteContext& context, std::vector<v1::Change>* changes, CommitBatch* batch,
                                 std::vector<std::string>* warnings, std::unique_ptr<Transaction>* staged) {
  Applier applier(*this, options, context, warnings);
  std::set<std::string> files;
  const std::int64_t now = clock_.unix_ms();
  // Parents before children, so the change list reads in dependency order.
  for (const Document& doc : documents) {
    files.insert(doc.file);
    for (const auto& tenant : doc.config->tenants)
      if (Status s = applier.stage(ObjectKind::tenant, to_proto(tenant), tenant.location, doc.file, tenants_); !s.ok())
        return s;
  }
  for (const Document& doc : documents)
    for (const auto& service : doc.config->services)
      if (Status s = applier.stage(ObjectKind::service, to_proto(service), service.location, doc.file, services_);
          !s.ok())
        return s;
  for (const Document& doc : documents) {
    for (const auto& service : doc.config->services) {
      for (const auto& instance : service.instances) {
        if (applier.skipped(ObjectKind::service, service.name) && tombstone(ObjectKind::service, service.name)) {
          if (warnings)
            warnings->push_back("instance " + instance.id + ": not recreated from " + position_of(instance.location) +
                                " - its service " + service.name + " was deleted through the API (tombstone)");
          continue;
        }
        v1::Instance object = to_proto(instance, service.name);
        // A new instance of a checked service gets traffic once its first
        // check passes; an existing one keeps its health (keep_operational_state).
        object.set_health(service.health_check ? v1::HEALTH_UNHEALTHY : v1::HEALTH_HEALTHY);
        object.set_health_reason(service.health_check ? awaiting_check_reason : "no health check");
        object.set_health_changed_unix_ms(now);
        if (Status s = applier.stage(ObjectKind::instance, std::move(object), instance.location, doc.file, instances_);
            !s.ok())
          return s;
      }
    }
  }
  for (const Document& doc : documents)
    for (const auto& route : doc.config->routes)
      if (Status s = applier.stage(ObjectKind::route, to_proto(route), route.location, doc.file, routes_); !s.ok())
        return s;
  if (Status status = applier.check_references(documents); !status.ok()) return status;
  if (options.kind == v1::Source::KIND_CONFIG_FILE) applier.drop_stale_tombstones(files);
  // Children before parents.
  if (options.prune) {
    applier.prune(ObjectKind::route, routes_, files);
    applier.prune(ObjectKind::instance, instances_, files);
    applier.prune(ObjectKind::service, services_, files);
    applier.prune(ObjectKind::tenant, tenants_, files);
  }
  if (Status status = applier.check(); !status.ok()) return status;
  if (changes) *changes = applier.tx().changes();
  if (options.dry_run) return {};
  if (staged) {
    *staged = std::make_unique<Transaction>(std::move(applier.tx()));
    return {};
  }
  *batch = applier.tx().commit();
  return {};
}

Status Registry::parse_apply(const v1::ApplyRequest& request, config::LoadResult* parsed) {
  // The cap bounds how long one apply occupies the apply thread (about a
  // second for the largest document) and what a caller may send at all.
  if (request.yaml().size() > max_apply_bytes)
    return Status::invalid("yaml", std::to_string(request.yaml().size()) + " bytes; at most " +
                                       std::to_string(max_apply_bytes / (1024 * 1024)) +
                                       " MiB per apply (split the document, or use --config files)");
  if (Status status = check_size("file_name", request.file_name(), size_limits::file_name); !status.ok())
    return status;
  const std::string file = request.file_name().empty() ? "<apply>" : request.file_name();
  *parsed = config::load_string(request.yaml(), file, config::Reader::control);
  if (!parsed->ok()) return Status{Code::invalid_argument, parsed->error_text()};
  const config::Config& config = *parsed->config;
  // A setting of the process, read from the --config files at start only.
  if (config.retention) {
    const config::SourceLocation& at = config.retention->location;
    return Status{Code::invalid_argument, at.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                                              ": retention is a tg-control setting read from its --config files at "
                                              "start; Apply changes registry objects only (remove the section)"};
  }
  std::size_t objects = config.tenants.size() + config.services.size() + config.routes.size();
  for (const auto& service : config.services) objects += service.instances.size();
  if (objects > size_limits::apply_objects)
    return Status::invalid("yaml", std::to_string(objects) + " objects; at most " +
                                       std::to_string(size_limits::apply_objects) +
                                       " per apply (split the document)");
  return {};
}

namespace {

ApplyOptions apply_options(const v1::ApplyRequest& request) {
  ApplyOptions options;
  options.kind = v1::Source::KIND_APPLY;
  options.prune = request.prune();
  options.take_ownership = request.take_ownership();
  options.dry_run = request.dry_run();
  return options;
}

}  // namespace

Status Registry::stage_apply(const v1::ApplyRequest& request, const config::Config& config,
                             const WriteContext& context, std::vector<v1::Change>* changes,
                             std::unique_ptr<Transaction>* staged) {
  const std::string file = request.file_name().empty() ? "<apply>" : request.file_name();
  return apply_documents({Document{&config, file}}, apply_options(request), context, changes, nullptr, nullptr,
                         staged);
}

Status Registry::apply(const v1::ApplyRequest& request, const WriteContext& context, v1::ApplyResponse* out,
                       CommitBatch* batch) {
  config::LoadResult loaded;
  if (Status status = parse_apply(request, &loaded); !status.ok()) return status;
  const std::string file = request.file_name().empty() ? "<apply>" : request.file_name();
  std::vector<v1::Change> changes;
  if (Status status = apply_documents({Document{&*loaded.config, file}}, apply_options(request), context, &changes,
                                      batch, nullptr);
      !status.ok())
    return status;
  for (auto& change : changes) *out->add_changes() = std::move(change);
  out->set_committed(!request.dry_run());
  out->set_revision(revision_);
  return {};
}

}  // namespace tg::control
