#include "registry/registry.hpp"

#include <ctime>
#include <stdexcept>

namespace tg::control {
namespace {

template <class T, class Key>
void load_table(const std::vector<std::string>& bodies, std::map<std::string, T>& table, Key key,
                const char* what) {
  table.clear();
  for (const std::string& body : bodies) {
    T object;
    if (!object.ParseFromString(body)) throw std::runtime_error(std::string("unreadable ") + what + " in the store");
    std::string name = key(object);
    table.emplace(std::move(name), std::move(object));
  }
}

}  // namespace

Registry::Registry(const Clock& clock) : clock_(clock) {}

void Registry::load(const LoadedState& state) {
  revision_ = state.revision;
  generation_ = state.generation;
  load_table(state.tenants, tenants_, [](const v1::Tenant& t) { return t.id(); }, "tenant");
  load_table(state.services, services_, [](const v1::Service& s) { return s.name(); }, "service");
  load_table(state.instances, instances_, [](const v1::Instance& i) { return i.id(); }, "instance");
  load_table(state.routes, routes_, [](const v1::Route& r) { return r.name(); }, "route");
  tombstones_.clear();
  for (const Tombstone& t : state.tombstones) tombstones_[{t.kind, t.name}] = t;
  heartbeat_deadlines_.clear();
  const auto now = clock_.steady();
  for (const auto& [id, instance] : instances_)
    if (instance.heartbeat_ttl_ms() > 0)
      heartbeat_deadlines_[id] = now + std::chrono::milliseconds(instance.heartbeat_ttl_ms());
}

const Tombstone* Registry::tombstone(ObjectKind kind, const std::string& name) const {
  auto it = tombstones_.find({kind, name});
  return it == tombstones_.end() ? nullptr : &it->second;
}

std::string format_utc(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string describe_source(const v1::Source& source) {
  const std::string line = source.line() ? " (line " + std::to_string(source.line()) + ")" : "";
  switch (source.kind()) {
    case v1::Source::KIND_CONFIG_FILE: return "the config file " + source.file() + line;
    case v1::Source::KIND_APPLY: return "tgctl apply -f " + source.file() + line;
    case v1::Source::KIND_API: return "the Admin API";
    default: return "an unknown source";
  }
}

Status check_editable(const v1::Meta& meta, bool take_ownership, std::string_view kind, const std::string& name) {
  if (meta.source().kind() != v1::Source::KIND_CONFIG_FILE || take_ownership) return {};
  return Status::precondition(std::string(kind) + " \"" + name + "\" is owned by " + describe_source(meta.source()) +
                              "; change it there, or pass take_ownership to manage it through the API from now on");
}

}  // namespace tg::control
