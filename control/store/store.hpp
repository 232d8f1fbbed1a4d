// The storage boundary of the registry (docs/control-plane.md).
//
// The registry logic produces CommitBatches (serialized objects to upsert or
// delete, audit rows, the new revision); a Store makes a group of batches
// durable in ONE transaction and says so only after COMMIT returned. Objects
// are opaque bytes here (serialized tenantgate.v1 messages) plus the key of
// their parent, so the store can enforce referential integrity without knowing
// protobuf.
//
// Two implementations: SqliteStore (the product) and MemoryStore (logic tests:
// the same code path minus SQLite). Stores are used from one thread at a time
// (the writer thread; at startup, the main thread before it starts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::control {

enum class ObjectKind { tenant, service, instance, route };
inline constexpr ObjectKind all_object_kinds[] = {ObjectKind::tenant, ObjectKind::service, ObjectKind::instance,
                                                  ObjectKind::route};
// "tenant" | "service" | "instance" | "route" (audit rows, Change.kind).
std::string_view to_string(ObjectKind kind);

struct Mutation {
  ObjectKind kind = ObjectKind::tenant;
  std::string name;                 // id or name
  std::string parent;               // service: tenant ("" = none); instance, route: service; tenant: ""
  std::optional<std::string> body;  // serialized object; nullopt = delete
};

struct AuditRecord {
  std::int64_t time_unix_ms = 0;
  std::string actor;
  std::string method;
  std::string kind;
  std::string name;
  std::string before_json;  // empty when created
  std::string after_json;   // empty when deleted
};

// One registry change (one Admin write, one apply, one startup file, one TTL
// sweep): everything in it commits together or not at all.
struct CommitBatch {
  std::uint64_t revision = 0;  // the registry revision this batch produces
  std::vector<Mutation> mutations;
  std::vector<AuditRecord> audit;

  bool empty() const { return mutations.empty() && audit.empty(); }
};

struct LoadedState {
  std::uint64_t revision = 0;
  std::uint64_t generation = 0;
  // Serialized objects per kind, ordered by key.
  std::vector<std::string> tenants, services, instances, routes;
};

struct AuditQuery {
  std::string actor, kind, name, method;  // empty = any
  std::int64_t since_unix_ms = 0;         // inclusive; 0 = no bound
  std::int64_t until_unix_ms = 0;         // exclusive; 0 = no bound
  std::uint32_t limit = 100;
  std::uint64_t before_id = 0;  // 0 = from the newest
};

struct AuditRow {
  std::uint64_t id = 0;
  AuditRecord record;
};

class Store {
 public:
  virtual ~Store() = default;

  // Everything committed so far.
  virtual LoadedState load() = 0;

  // Increments the stored generation, commits it, returns the new value. Called
  // once per process start so versions (generation, counter) never repeat, even
  // after a database restore.
  virtual std::uint64_t begin_generation() = 0;

  // Commits all batches in one transaction (in order); the stored revision
  // becomes the last batch's. Throws std::exception on failure, having rolled
  // back: then nothing of `batches` is stored.
  virtual void commit(const std::vector<CommitBatch>& batches) = 0;

  // Newest first, at most query.limit rows.
  virtual std::vector<AuditRow> list_audit(const AuditQuery& query) = 0;
};

}  // namespace tg::control
