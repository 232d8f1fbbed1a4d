#include "registry/registry.hpp"

#include "text/quoted.hpp"

#include <ctime>
#include <stdexcept>

namespace tg::control {
namespace {

constexpr std::size_t max_named_problems = 10;

struct LoadProblems {
  std::vector<std::string> lines;
  std::size_t count = 0;
  void add(std::string line) {
    if (lines.size() < max_named_problems) lines.push_back(std::move(line));
    ++count;
  }
};

// Parses each row and checks that its key columns are the ones inside its
// body (a damaged key or body shows here; a body that no longer parses too).
template <class T, class Key, class Parent>
std::map<std::string, T> load_table(const std::vector<std::string>& bodies, const std::vector<StoredKey>& keys,
                                    const char* what, Key key, Parent parent, LoadProblems& problems) {
  if (keys.size() != bodies.size())
    throw std::logic_error(std::string("the store returned ") + std::to_string(bodies.size()) + " " + what +
                           " bodies but " + std::to_string(keys.size()) + " keys");
  std::map<std::string, T> table;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const StoredKey& row = keys[i];
    T object;
    if (!object.ParseFromString(bodies[i])) {
      problems.add(std::string(what) + " " + quoted(row.name) + ": its body is unreadable");
      continue;
    }
    if (key(object) != row.name) {
      problems.add(std::string(what) + " " + quoted(row.name) + ": the row's key differs from the name in its body (" +
                   quoted(key(object)) + ")");
      continue;
    }
    if (parent(object) != row.parent) {
      problems.add(std::string(what) + " " + quoted(row.name) + ": the row's parent column " + quoted(row.parent) +
                   " differs from its body's " + quoted(parent(object)));
      continue;
    }
    table.emplace(row.name, std::move(object));
  }
  return table;
}

template <class T, class Parents, class Parent>
void check_parents(const std::map<std::string, T>& table, const char* what, const Parents& parents,
                   const char* parent_what, Parent parent, LoadProblems& problems) {
  for (const auto& [name, object] : table) {
    const std::string& p = parent(object);
    if (p.empty() && std::string_view(what) == "service") continue;  // a service without a tenant
    if (!parents.contains(p))
      problems.add(std::string(what) + " " + quoted(name) + ": its " + parent_what + " " + quoted(p) +
                   " is not in the store");
  }
}

}  // namespace

Registry::Registry(const Clock& clock) : clock_(clock) {}

void Registry::load(const LoadedState& state) {
  // Built apart and checked whole before anything replaces the current state:
  // a registry with a row missing (a damaged page) or a row damaged would be
  // published to every proxy as if it were true.
  LoadProblems problems;
  const auto tenant_id = [](const v1::Tenant& t) -> const std::string& { return t.id(); };
  const auto no_parent = [](const v1::Tenant&) { return std::string(); };
  const auto service_name = [](const v1::Service& s) -> const std::string& { return s.name(); };
  const auto service_tenant = [](const v1::Service& s) -> const std::string& { return s.tenant(); };
  const auto instance_id = [](const v1::Instance& i) -> const std::string& { return i.id(); };
  const auto instance_service = [](const v1::Instance& i) -> const std::string& { return i.service(); };
  const auto route_name = [](const v1::Route& r) -> const std::string& { return r.name(); };
  const auto route_service = [](const v1::Route& r) -> const std::string& { return r.service(); };
  auto tenants = load_table<v1::Tenant>(state.tenants, state.tenant_keys, "tenant", tenant_id, no_parent, problems);
  auto services =
      load_table<v1::Service>(state.services, state.service_keys, "service", service_name, service_tenant, problems);
  auto instances = load_table<v1::Instance>(state.instances, state.instance_keys, "instance", instance_id,
                                            instance_service, problems);
  auto routes = load_table<v1::Route>(state.routes, state.route_keys, "route", route_name, route_service, problems);
  check_parents(services, "service", tenants, "tenant", service_tenant, problems);
  check_parents(instances, "instance", services, "service", instance_service, problems);
  check_parents(routes, "route", services, "service", route_service, problems);
  if (problems.count) {
    std::string message = "the registry in the store is inconsistent (" + std::to_string(problems.count) +
                          " problem(s)); refusing to load it:";
    for (const auto& line : problems.lines) message += "\n  " + line;
    if (problems.count > problems.lines.size())
      message += "\n  ... and " + std::to_string(problems.count - problems.lines.size()) + " more";
    throw std::runtime_error(message);
  }
  revision_ = state.revision;
  ++serial_;
  generation_ = state.generation;
  tenants_ = std::move(tenants);
  services_ = std::move(services);
  instances_ = std::move(instances);
  routes_ = std::move(routes);
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
