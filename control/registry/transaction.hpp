// One registry change in the making: staged puts and erases over the current
// registry, a final view for validation, and the commit that applies them to
// memory and produces the CommitBatch (mutations + audit rows + revision).
//
// Staging changes nothing: dropping a Transaction without commit() leaves the
// registry as it was (errors, dry runs). check() verifies referential
// integrity of the final view for everything staged, so a single operation
// and a whole apply share one set of rules:
//   service → its tenant exists (when set)      instance, route → service exists
//   tenant deleted → no service names it         service deleted → no route or instance uses it
#pragma once

#include "registry/registry.hpp"

#include <optional>
#include <utility>

namespace tg::control {

class Transaction {
 public:
  Transaction(Registry& registry, WriteContext context);

  const Registry& registry() const { return *registry_; }

  // The final view: the staged object, or the registry's, or nullptr.
  const v1::Tenant* tenant(const std::string& id) const;
  const v1::Service* service(const std::string& name) const;
  const v1::Instance* instance(const std::string& id) const;
  const v1::Route* route(const std::string& name) const;

  // Stage an upsert. Sets meta created/updated times and revision; the
  // caller sets meta.source.
  void put(v1::Tenant object);
  void put(v1::Service object);
  void put(v1::Instance object);
  void put(v1::Route object);
  void erase(ObjectKind kind, const std::string& name);
  // An Admin delete: like erase, and when a config file owns the object
  // (the call took ownership) commit() records a tombstone, so startup does
  // not recreate it from that file.
  void erase_through_api(ObjectKind kind, const std::string& name);
  // Record an object an apply left as it was (listed as ACTION_UNCHANGED).
  void note_unchanged(ObjectKind kind, const std::string& name);

  // The first referential problem of the final view, and the object it
  // concerns (for located messages); OK when none.
  Status check(ObjectKind* kind = nullptr, std::string* name = nullptr) const;

  // Staged changes in staging order, JSON before/after (meta included).
  std::vector<v1::Change> changes() const;
  bool has_changes() const;

  // Drop the tombstone of (kind, name) at commit, without touching the object
  // (startup: its file no longer declares it).
  void clear_tombstone(ObjectKind kind, const std::string& name);

  // Applies to the registry (revision + 1) and returns the batch; empty batch
  // and no revision change when nothing was staged. Call after check().
  // Every object put clears its tombstone (created again through the API, an
  // apply or a file: it is managed again).
  CommitBatch commit();

  // Moves the staged changes onto `target`, a registry this transaction's
  // registry was copied from (or a copy of) and that has not changed since:
  // equal serial(), else std::logic_error. Lets an apply be computed on a
  // copy off the owner loop and committed on the live registry.
  void rebase(Registry& target);

 private:
  template <class T>
  using Overlay = std::map<std::string, std::optional<T>>;
  struct Touch {
    ObjectKind kind;
    std::string name;
    bool unchanged;
    bool through_api = false;  // erase_through_api
  };
  void touch(ObjectKind kind, const std::string& name, bool unchanged);
  void stamp(v1::Meta* meta, const v1::Meta* previous) const;
  const v1::Meta* base_meta(ObjectKind kind, const std::string& name) const;
  bool final_exists(ObjectKind kind, const std::string& name) const;
  void commit_tombstones(CommitBatch& batch);

  Registry* registry_;
  WriteContext context_;
  std::int64_t now_unix_ms_;
  Overlay<v1::Tenant> tenants_;
  Overlay<v1::Service> services_;
  Overlay<v1::Instance> instances_;
  Overlay<v1::Route> routes_;
  std::vector<Touch> order_;
  std::vector<TombstoneKey> cleared_tombstones_;
  std::map<std::pair<ObjectKind, std::string>, std::size_t> touched_;  // → index in order_ (large applies)
};

}  // namespace tg::control
