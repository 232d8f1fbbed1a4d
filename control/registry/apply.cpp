// Declarative application of YAML documents: Admin.Apply and the startup
// config files share this code and the ownership rule (docs/control-plane.md, Ownership; the rule is
// spelled out in registry.hpp above apply_documents).
#include "config/loader.hpp"
#include "registry/convert.hpp"
#include "registry/operation.hpp"
#include "registry/validate.hpp"

#include <google/protobuf/util/message_differencer.h>

#include <set>

namespace tg::control {
namespace {

using detail::quoted;
using Key = std::pair<ObjectKind, std::string>;

std::string location_prefix(const config::SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": ";
}

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
      tx_.put(std::move(desired));
      return {};
    }
    const T& existing = it->second;
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
};

}  // namespace

Status Registry::apply_documents(const std::vector<Document>& documents, const ApplyOptions& options,
                                 const WriteContext& context, std::vector<v1::Change>* changes, CommitBatch* batch,
                                 std::vector<std::string>* warnings) {
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
        v1::Instance object = to_proto(instance, service.name);
        object.set_health(v1::HEALTH_HEALTHY);  // no TTL, no active check yet
        object.set_health_reason("no health check");
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
  // Children before parents.
  if (options.prune) {
    applier.prune(ObjectKind::route, routes_, files);
    applier.prune(ObjectKind::instance, instances_, files);
    applier.prune(ObjectKind::service, services_, files);
    applier.prune(ObjectKind::tenant, tenants_, files);
  }
  if (Status status = applier.check(); !status.ok()) return status;
  if (changes) *changes = applier.tx().changes();
  if (!options.dry_run) *batch = applier.tx().commit();
  return {};
}

Status Registry::apply(const v1::ApplyRequest& request, const WriteContext& context, v1::ApplyResponse* out,
                       CommitBatch* batch) {
  // Parsing runs on the owner loop; the cap bounds how long one apply holds it
  // (about a second for the largest document).
  if (request.yaml().size() > max_apply_bytes)
    return Status::invalid("yaml", std::to_string(request.yaml().size()) + " bytes; at most " +
                                       std::to_string(max_apply_bytes / (1024 * 1024)) +
                                       " MiB per apply (split the document, or use --config files)");
  const std::string file = request.file_name().empty() ? "<apply>" : request.file_name();
  config::LoadResult loaded = config::load_string(request.yaml(), file, config::Reader::control);
  if (!loaded.ok()) return Status{Code::invalid_argument, loaded.error_text()};
  ApplyOptions options;
  options.kind = v1::Source::KIND_APPLY;
  options.prune = request.prune();
  options.take_ownership = request.take_ownership();
  options.dry_run = request.dry_run();
  std::vector<v1::Change> changes;
  if (Status status = apply_documents({Document{&*loaded.config, file}}, options, context, &changes, batch, nullptr);
      !status.ok())
    return status;
  for (auto& change : changes) *out->add_changes() = std::move(change);
  out->set_committed(!request.dry_run());
  out->set_revision(revision_);
  return {};
}

}  // namespace tg::control
