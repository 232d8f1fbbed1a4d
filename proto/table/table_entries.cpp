#include "table/table_entries.hpp"

#include "table/table_digest.hpp"
#include "table/wire.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <iterator>
#include <utility>

namespace tg::table {
namespace {

// Field 1 of an object (its id or name), as a length-delimited field; nullopt
// when absent or when the object is not well-formed wire format.
std::optional<std::string_view> object_key(std::string_view object) {
  std::size_t at = 0;
  std::optional<std::string_view> key;
  while (at < object.size()) {
    std::uint64_t tag = 0, value = 0;
    if (!wire::read_varint(object, at, tag)) return std::nullopt;
    switch (tag & 7) {
      case 0:
        if (!wire::read_varint(object, at, value)) return std::nullopt;
        break;
      case 1:
        if (object.size() - at < 8) return std::nullopt;
        at += 8;
        break;
      case 5:
        if (object.size() - at < 4) return std::nullopt;
        at += 4;
        break;
      case 2:
        if (!wire::read_varint(object, at, value) || value > object.size() - at) return std::nullopt;
        if ((tag >> 3) == 1) key = object.substr(at, value);
        at += value;
        break;
      default:
        return std::nullopt;
    }
  }
  return key;
}

// Each entry of `table` in order, given to `fn(kind, key, entry)`.
template <class Fn>
bool for_each_entry(std::string_view table, std::string& error, Fn&& fn) {
  std::size_t at = 0;
  while (at < table.size()) {
    const std::size_t start = at;
    std::uint64_t field = 0;
    std::string_view payload;
    if (!wire::read_element(table, at, field, payload)) {
      error = "byte " + std::to_string(start) + ": not a length-delimited element";
      return false;
    }
    if (field < 1 || field > kEntryKinds) {
      error = "byte " + std::to_string(start) + ": field " + std::to_string(field) + " is not a table entry";
      return false;
    }
    const auto kind = static_cast<EntryKind>(field - 1);
    const auto key = object_key(payload);
    if (!key || key->empty()) {
      error = "byte " + std::to_string(start) + ": a " + std::string(to_string(kind)) + " without its " +
              (kind == tenants || kind == instances ? "id" : "name");
      return false;
    }
    if (!fn(kind, *key, table.substr(start, at - start))) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(EntryKind kind) {
  switch (kind) {
    case tenants: return "tenant";
    case services: return "service";
    case instances: return "instance";
    case routes: return "route";
  }
  return "?";
}

std::string encode_entry(EntryKind kind, const google::protobuf::MessageLite& message) {
  const std::size_t size = message.ByteSizeLong();
  std::string out;
  out.reserve(size + 12);
  wire::append_varint(out, (static_cast<std::uint64_t>(kind + 1) << 3) | 2);
  wire::append_varint(out, size);
  const std::size_t head = out.size();
  out.resize(head + size);
  google::protobuf::io::ArrayOutputStream stream(out.data() + head, static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeWithCachedSizes(&coded);
  return out;
}

std::string_view entry_body(std::string_view entry) {
  std::size_t at = 0;
  std::uint64_t field = 0;
  std::string_view payload;
  return wire::read_element(entry, at, field, payload) ? payload : std::string_view();
}

bool split_entries(std::string_view table, std::vector<SplitEntry>& out, std::string& error) {
  out.clear();
  return for_each_entry(table, error, [&](EntryKind kind, std::string_view key, std::string_view entry) {
    out.push_back({kind, key, entry});
    return true;
  });
}

void TableEntries::set(EntryKind kind, const std::string& key, std::string entry) {
  Map& map = entries_[kind];
  // Keys in order (a table being loaded or built): inserted at the end
  // without a search.
  const bool last = map.empty() || std::prev(map.end())->first < key;
  auto [it, inserted] = last ? std::pair{map.emplace_hint(map.end(), key, std::string()), true} : map.try_emplace(key);
  if (!inserted) {
    bytes_[kind] -= it->second.size();
    digest_ -= element_digest(it->second);
  }
  bytes_[kind] += entry.size();
  digest_ += element_digest(entry);
  it->second = std::move(entry);
}

bool TableEntries::erase(EntryKind kind, std::string_view key) {
  auto it = entries_[kind].find(key);
  if (it == entries_[kind].end()) return false;
  bytes_[kind] -= it->second.size();
  digest_ -= element_digest(it->second);
  entries_[kind].erase(it);
  return true;
}

const std::string* TableEntries::find(EntryKind kind, std::string_view key) const {
  auto it = entries_[kind].find(key);
  return it == entries_[kind].end() ? nullptr : &it->second;
}

void TableEntries::clear() {
  for (auto& map : entries_) map.clear();
  bytes_ = {};
  digest_ = 0;
}

std::size_t TableEntries::bytes() const {
  std::size_t total = 0;
  for (std::size_t b : bytes_) total += b;
  return total;
}

std::string TableEntries::serialize() const {
  std::string out;
  out.reserve(bytes());
  for (const auto& map : entries_)
    for (const auto& [key, entry] : map) out += entry;
  return out;
}

bool TableEntries::load(std::string_view table, std::string& error) {
  clear();
  const bool ok = for_each_entry(table, error, [&](EntryKind kind, std::string_view key, std::string_view entry) {
    if (find(kind, key)) {
      error = "the " + std::string(to_string(kind)) + " \"" + std::string(key) + "\" appears twice";
      return false;
    }
    set(kind, std::string(key), std::string(entry));
    return true;
  });
  if (!ok) clear();
  return ok;
}

bool TableEntries::apply(const ::tenantgate::v1::TableDelta& delta, EntryUndo& undo, std::string& error) {
  const google::protobuf::RepeatedPtrField<std::string>* removed[kEntryKinds] = {
      &delta.removed_tenants(), &delta.removed_services(), &delta.removed_instances(), &delta.removed_routes()};
  for (std::size_t k = 0; k < kEntryKinds; ++k) {
    const auto kind = static_cast<EntryKind>(k);
    for (const std::string& key : *removed[k]) {
      auto it = entries_[kind].find(key);
      if (it == entries_[kind].end()) continue;  // added after the base and removed again
      undo.steps.push_back({kind, key, it->second});
      erase(kind, key);
    }
  }
  return for_each_entry(delta.upserts(), error, [&](EntryKind kind, std::string_view key, std::string_view entry) {
    std::string owned_key(key);
    const std::string* before = find(kind, key);
    undo.steps.push_back({kind, owned_key, before ? std::optional<std::string>(*before) : std::nullopt});
    set(kind, owned_key, std::string(entry));
    return true;
  });
}

void TableEntries::apply(const ::tenantgate::v1::HealthUpdate& health) {
  for (const ::tenantgate::v1::InstanceState& state : health.instances()) {
    const std::string* entry = find(instances, state.id());
    if (!entry) continue;
    ::tenantgate::v1::Instance instance;
    const std::string_view body = entry_body(*entry);
    if (!instance.ParseFromArray(body.data(), static_cast<int>(body.size()))) continue;
    instance.set_health(state.health());
    instance.set_health_reason(state.health_reason());
    instance.set_admin_state(state.admin_state());
    set(instances, state.id(), encode_entry(instances, instance));
  }
}

void TableEntries::undo(EntryUndo& undo) {
  for (auto step = undo.steps.rbegin(); step != undo.steps.rend(); ++step) {
    if (step->before) {
      set(step->kind, step->key, std::move(*step->before));
    } else {
      erase(step->kind, step->key);
    }
  }
  undo.steps.clear();
}

}  // namespace tg::table
