// A balancer table as its elements (discovery.proto, `Table`): per kind a
// sorted map key → entry, where an entry is one element of the serialized
// table — field tag, length, object — and the key is the object's id
// (tenants, instances) or name (services, routes), its field 1.
//
// Both ends of the table stream hold the table this way: tg-control
// (control/stream/table_state.*) to publish versions without re-serializing
// every object, and to send only the entries changed since the version a
// proxy serves (a delta update); tg-proxy (proxy/subscription) to apply such
// a delta and check the result against the update's digest. The digest
// (table_digest.hpp) is kept current per entry, and the serialized table is
// the concatenation of the entries.
#pragma once

#include "tenantgate/v1/discovery.pb.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::table {

// The repeated fields of `Table`, in field order: field number = kind + 1.
enum EntryKind : std::size_t { tenants = 0, services = 1, instances = 2, routes = 3 };
inline constexpr std::size_t kEntryKinds = 4;
std::string_view to_string(EntryKind kind);  // "tenant", "service", ...

// One element of `Table` field `kind`: tag, length, then `message` encoded
// deterministically (map fields in key order), so equal objects encode to
// equal bytes and "unchanged" is a byte comparison, on both ends.
std::string encode_entry(EntryKind kind, const google::protobuf::MessageLite& message);
// The object inside an entry (after its tag and length).
std::string_view entry_body(std::string_view entry);

// What apply() changed, to put back when the result is refused.
struct EntryUndo {
  struct Step {
    EntryKind kind;
    std::string key;
    std::optional<std::string> before;  // nullopt: the key was absent
  };
  std::vector<Step> steps;
};

class TableEntries {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;

  // Sets the entry of `key` (inserted or replaced).
  void set(EntryKind kind, const std::string& key, std::string entry);
  // Removes the entry of `key`; false when there was none.
  bool erase(EntryKind kind, std::string_view key);
  const std::string* find(EntryKind kind, std::string_view key) const;
  const Map& of(EntryKind kind) const { return entries_[kind]; }
  void clear();

  std::uint64_t digest() const { return digest_; }
  std::size_t bytes() const;  // of the serialized table
  std::size_t size(EntryKind kind) const { return entries_[kind].size(); }
  // The serialized `Table`: every entry, kind by kind, in key order.
  std::string serialize() const;

  // Replaces the content with the elements of a serialized `Table`. False
  // (and `error` set, the content cleared) when it is not a sequence of
  // entries of the four kinds, each with a key, every key once.
  bool load(std::string_view table, std::string& error);

  // Applies a delta update: its removals (a key not here is skipped: it was
  // added after the base and removed again), then its upserts (a serialized
  // `Table` of entries to set). What changed is recorded in `undo`. False,
  // with `error`, when the upserts are malformed: the caller undoes. Whether
  // the result is the table the delta stands for, the digest tells.
  bool apply(const ::tenantgate::v1::TableDelta& delta, EntryUndo& undo, std::string& error);
  // Puts back what apply() changed, newest first.
  void undo(EntryUndo& undo);
  // The states of a health update into the instance entries, encoded as
  // tg-control encodes them, so the digest stays the table's. Ids not here
  // are skipped.
  void apply(const ::tenantgate::v1::HealthUpdate& health);

 private:
  std::array<Map, kEntryKinds> entries_;
  std::array<std::size_t, kEntryKinds> bytes_{};
  std::uint64_t digest_ = 0;
};

// An entry split off a serialized table.
struct SplitEntry {
  EntryKind kind;
  std::string_view key;
  std::string_view entry;
};
// The entries of a serialized `Table`, in order; false with `error` when it
// is malformed (a field other than the four, a bad length, an object without
// its key).
bool split_entries(std::string_view table, std::vector<SplitEntry>& out, std::string& error);

}  // namespace tg::table
