// Delta updates applied to the served snapshot by structural sharing
// (Snapshot::apply, through to_table_change as tg-proxy does) against the
// snapshot built whole from the same table: over random sequences of
// registry changes, at every version, the same routing decisions for a
// fixed set of requests, the same pick sets, the same rings and Maglev
// tables; and the workers' per-instance state and breakers of unchanged
// instances are kept.
#include "subscription/table_convert.hpp"

#include "table/snapshot.hpp"
#include "table/table_entries.hpp"
#include "table/worker_table.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>

namespace v1 = tenantgate::v1;
using tg::proxy::LocalPtr;
using tg::proxy::Snapshot;
using tg::proxy::TableChange;
using tg::proxy::WorkerTable;
namespace table = tg::table;

namespace {

// The registry side: the table as entries, changed object by object, and the
// delta between two versions as tg-control sends it (upserts of every entry
// new or changed, removals of every key gone).
struct Registry {
  table::TableEntries entries;

  void put(const v1::Service& s) { entries.set(table::services, s.name(), table::encode_entry(table::services, s)); }
  void put(const v1::Instance& i) { entries.set(table::instances, i.id(), table::encode_entry(table::instances, i)); }
  void put(const v1::Route& r) { entries.set(table::routes, r.name(), table::encode_entry(table::routes, r)); }
  template <class T>
  T get(table::EntryKind kind, const std::string& key) const {
    T out;
    const std::string_view body = table::entry_body(*entries.find(kind, key));
    REQUIRE(out.ParseFromArray(body.data(), static_cast<int>(body.size())));
    return out;
  }
  std::vector<std::string> keys(table::EntryKind kind) const {
    std::vector<std::string> out;
    for (const auto& [key, entry] : entries.of(kind)) out.push_back(key);
    return out;
  }

  static v1::TableDelta diff(const table::TableEntries& before, const table::TableEntries& after) {
    v1::TableDelta delta;
    std::string upserts;
    for (std::size_t k = 0; k < table::kEntryKinds; ++k) {
      const auto kind = static_cast<table::EntryKind>(k);
      for (const auto& [key, entry] : after.of(kind)) {
        const std::string* was = before.find(kind, key);
        if (!was || *was != entry) upserts += entry;
      }
      for (const auto& [key, entry] : before.of(kind)) {
        if (after.find(kind, key)) continue;
        switch (kind) {
          case table::tenants: delta.add_removed_tenants(key); break;
          case table::services: delta.add_removed_services(key); break;
          case table::instances: delta.add_removed_instances(key); break;
          case table::routes: delta.add_removed_routes(key); break;
        }
      }
    }
    delta.set_upserts(upserts);
    return delta;
  }
};

std::shared_ptr<const Snapshot> build_whole(const table::TableEntries& entries, std::uint64_t version) {
  v1::Table pushed;
  REQUIRE(pushed.ParseFromString(entries.serialize()));
  tg::config::Config config;
  std::string error;
  INFO(error);
  REQUIRE(tg::proxy::subscription::to_config(pushed, config, error));
  auto s = Snapshot::build(config, version, "whole", error, {1, version});
  INFO(error);
  REQUIRE(s != nullptr);
  return s;
}

// A fixed set of requests: hosts, paths, methods and a routing header.
struct Request {
  std::string host, path, method, tenant;
};
std::vector<Request> requests() {
  std::vector<Request> out;
  for (const char* host : {"a.test", "b.test", "x.c.test", "other.test"})
    for (const char* path : {"/", "/api", "/api/v1", "/static/x"})
      for (const char* method : {"GET", "POST"})
        for (const char* tenant : {"", "t1", "t2"}) out.push_back({host, path, method, tenant});
  return out;
}

std::string route_of(const Snapshot& s, const Request& r) {
  const std::string header = "x-tenant" + r.tenant;
  tg::proxy::http::HeaderField field;
  field.name = {0, 8};
  field.value = {8, static_cast<std::uint32_t>(r.tenant.size())};
  tg::proxy::routing::RouteQuery query;
  query.host = r.host;
  query.path = r.path;
  query.method = r.method;
  if (!r.tenant.empty()) {
    query.headers = &field;
    query.header_count = 1;
    query.base = header.data();
  }
  const std::int32_t at = s.table->match(query);
  if (at < 0) return "-";
  const tg::proxy::RouteDef& route = s.routes[static_cast<std::size_t>(at)];
  return route.name + ">" + s.services[route.service].name + ">" + route.strip_prefix;
}

// Everything a request can observe of a snapshot, by name and id (not by
// position): routing decisions, services with their members, pick sets and
// hash structures, instances.
std::string observed(const Snapshot& s) {
  std::ostringstream out;
  for (const Request& r : requests()) out << r.host << r.path << r.method << r.tenant << "=" << route_of(s, r) << "\n";
  std::map<std::string, std::uint32_t> services;
  for (std::uint32_t i = 0; i < s.services.size(); ++i) services[s.services[i].name] = i;
  for (const auto& [name, pos] : services) {
    const tg::proxy::ServiceDef& svc = s.services[pos];
    out << "service " << name << " lb " << static_cast<int>(svc.policy) << " outlier " << svc.outlier << " panic "
        << svc.panic << " equal " << svc.equal_weights << " members";
    for (std::uint32_t m : svc.members) out << " " << s.instances[m].id;
    out << " picks";
    for (std::uint32_t m : svc.instances) out << " " << s.instances[m].id;
    out << " weights";
    for (std::uint64_t w : svc.cumulative_weight) out << " " << w;
    out << " hashed";
    for (std::uint64_t key = 0; key < 64; ++key) {
      const std::uint64_t hash = key * 0x9E3779B97F4A7C15ull;
      std::uint32_t at = tg::proxy::hashing::kNoPosition;
      if (svc.policy == tg::config::LbPolicy::maglev) at = svc.maglev.find(hash);
      if (svc.policy == tg::config::LbPolicy::ring_hash) at = svc.ring.find(hash);
      out << " " << (at == tg::proxy::hashing::kNoPosition ? std::string("-") : s.instances[svc.instances[at]].id);
    }
    out << "\n";
  }
  std::map<std::string, std::uint32_t> instances;
  for (std::uint32_t i = 0; i < s.instances.size(); ++i) instances[s.instances[i].id] = i;
  for (const auto& [id, pos] : instances) {
    const tg::proxy::InstanceDef& inst = s.instances[pos];
    out << "instance " << id << " " << inst.address << " w" << inst.weight << " " << s.services[inst.service].name
        << " " << static_cast<int>(inst.admin_state) << static_cast<int>(inst.health) << " breaker "
        << (inst.breaker != nullptr) << "\n";
  }
  out << s.services.size() << " services, " << s.instances.size() << " instances, " << s.routes.size() << " routes\n";
  return out.str();
}

// A worker table matches its snapshot position by position.
void check_worker_table(const WorkerTable& w) {
  const Snapshot& s = *w.snapshot;
  REQUIRE(w.instances.size() == s.instances.size());
  REQUIRE(w.routes.size() == s.routes.size());
  REQUIRE(w.services.size() == s.services.size());
  for (std::uint32_t i = 0; i < s.instances.size(); ++i) {
    CHECK(w.instances[i]->id == s.instances[i].id);
    CHECK(w.instances[i]->endpoint == s.instances[i].endpoint);
    CHECK(w.instances[i]->service == s.services[s.instances[i].service].name);
    if (s.instances[i].breaker) CHECK(w.instances[i]->breaker == s.instances[i].breaker);
  }
  for (std::uint32_t i = 0; i < s.routes.size(); ++i) CHECK(w.routes[i]->name == s.routes[i].name);
  for (std::uint32_t i = 0; i < s.services.size(); ++i) CHECK(w.services[i]->name == s.services[i].name);
}

const v1::LbPolicy kPolicies[] = {v1::LB_POLICY_ROUND_ROBIN, v1::LB_POLICY_LEAST_REQUEST, v1::LB_POLICY_RING_HASH,
                                  v1::LB_POLICY_MAGLEV, v1::LB_POLICY_WEIGHTED};

}  // namespace

TEST_CASE("deltas applied by structural sharing route, pick and hash as the table built whole",
          "[proxy][control][delta]") {
  const auto seed = GENERATE(1u, 2u, 3u, 4u, 5u);
  std::mt19937 random(seed);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  int next = 0;
  Registry registry;
  auto new_service = [&] {
    v1::Service s;
    s.set_name("s" + std::to_string(next++));
    s.set_lb_policy(kPolicies[pick(5)]);
    if (pick(2)) s.mutable_outlier()->set_consecutive_failures(1 + pick(3));
    registry.put(s);
  };
  auto new_instance = [&](const std::string& service) {
    v1::Instance i;
    i.set_id("i" + std::to_string(next++));
    i.set_service(service);
    i.set_address("127.0.0.1:" + std::to_string(9000 + pick(50)));
    i.set_weight(1 + pick(3));
    registry.put(i);
  };
  const char* hosts[] = {"a.test", "b.test", "*.c.test", ""};
  const char* prefixes[] = {"/", "/api", "/api/v1", "/static"};
  auto new_route = [&](const std::string& name, const std::string& service) {
    v1::Route r;
    r.set_name(name);
    r.set_service(service);
    r.mutable_match()->set_host(hosts[pick(4)]);
    r.mutable_match()->set_path_prefix(prefixes[pick(4)]);
    if (pick(4) == 0) r.mutable_match()->set_method(pick(2) ? "GET" : "POST");
    if (pick(4) == 0) {
      r.mutable_match()->mutable_header()->set_name("x-tenant");
      r.mutable_match()->mutable_header()->set_value(pick(2) ? "t1" : "t2");
    }
    if (pick(3) == 0) r.mutable_rewrite()->set_strip_prefix("/api");
    registry.put(r);
  };
  for (int i = 0; i < 6; ++i) new_service();
  for (const std::string& svc : registry.keys(table::services))
    for (int i = 0; i < 3; ++i) new_instance(svc);
  for (int i = 0; i < 12; ++i) new_route("r" + std::to_string(next++), registry.keys(table::services)[pick(6)]);

  // The proxy: the applied table as entries, the snapshot it serves and one
  // worker's table.
  table::TableEntries proxy_entries = registry.entries;
  std::shared_ptr<const Snapshot> served = build_whole(proxy_entries, 1);
  LocalPtr<WorkerTable> worker = WorkerTable::build(served, nullptr);
  std::uint64_t version = 1;
  for (int round = 0; round < 150; ++round) {
    const table::TableEntries before = registry.entries;
    const int changes = 1 + pick(4);
    for (int c = 0; c < changes; ++c) {
      const std::vector<std::string> services = registry.keys(table::services);
      const std::vector<std::string> instances = registry.keys(table::instances);
      const std::vector<std::string> routes = registry.keys(table::routes);
      switch (pick(10)) {
        case 0: new_service(); break;
        case 1: {  // a service's settings
          auto s = registry.get<v1::Service>(table::services, services[pick(static_cast<int>(services.size()))]);
          s.set_lb_policy(kPolicies[pick(5)]);
          if (pick(2)) s.clear_outlier(); else s.mutable_outlier()->set_consecutive_failures(1 + pick(3));
          registry.put(s);
          break;
        }
        case 2: {  // a service nothing refers to any more
          for (const std::string& name : services) {
            bool used = false;
            for (const std::string& id : instances)
              used |= registry.get<v1::Instance>(table::instances, id).service() == name;
            for (const std::string& r : routes) used |= registry.get<v1::Route>(table::routes, r).service() == name;
            if (!used) {
              registry.entries.erase(table::services, name);
              break;
            }
          }
          break;
        }
        case 3:
        case 4: new_instance(services[pick(static_cast<int>(services.size()))]); break;
        case 5:
          if (!instances.empty()) registry.entries.erase(table::instances, instances[pick(static_cast<int>(instances.size()))]);
          break;
        case 6: {  // an instance's state, weight, address or service
          if (instances.empty()) break;
          auto i = registry.get<v1::Instance>(table::instances, instances[pick(static_cast<int>(instances.size()))]);
          switch (pick(4)) {
            case 0: i.set_health(pick(2) ? v1::HEALTH_UNHEALTHY : v1::HEALTH_HEALTHY); break;
            case 1: i.set_admin_state(pick(2) ? v1::ADMIN_STATE_DRAINING : v1::ADMIN_STATE_ACTIVE); break;
            case 2: i.set_weight(1 + pick(3)); break;
            default:
              if (pick(2)) i.set_address("127.0.0.1:" + std::to_string(9000 + pick(50)));
              else i.set_service(services[pick(static_cast<int>(services.size()))]);
              break;
          }
          registry.put(i);
          break;
        }
        case 7: new_route("r" + std::to_string(next++), services[pick(static_cast<int>(services.size()))]); break;
        case 8:
          if (!routes.empty()) registry.entries.erase(table::routes, routes[pick(static_cast<int>(routes.size()))]);
          break;
        default:
          if (!routes.empty())
            new_route(routes[pick(static_cast<int>(routes.size()))], services[pick(static_cast<int>(services.size()))]);
          break;
      }
    }
    const v1::TableDelta delta = Registry::diff(before, registry.entries);
    ++version;
    table::EntryUndo undo;
    std::string error;
    REQUIRE(proxy_entries.apply(delta, undo, error));
    REQUIRE(proxy_entries.digest() == registry.entries.digest());

    // In-flight state of every instance before the change, by id.
    std::map<std::string, std::pair<const tg::proxy::InstanceRuntime*, std::string>> runtime;
    for (std::uint32_t i = 0; i < served->instances.size(); ++i) {
      worker->instances[i]->in_flight = 1000 + i;
      runtime[served->instances[i].id] = {worker->instances[i].get(), served->instances[i].address};
    }
    std::map<std::string, const void*> breakers;
    for (const tg::proxy::InstanceDef& inst : served->instances)
      if (inst.breaker) breakers[inst.id] = inst.breaker.get();

    const std::string before_text = observed(*served);
    TableChange change;
    REQUIRE(tg::proxy::subscription::to_table_change(delta, change, error));
    auto next_snapshot = Snapshot::apply(*served, change, version, {1, version}, error);
    INFO("round " << round << ": " << error);
    REQUIRE(next_snapshot != nullptr);
    auto whole = build_whole(proxy_entries, version);
    CHECK(observed(*next_snapshot) == observed(*whole));
    CHECK(observed(*served) == before_text);  // the base is unchanged

    LocalPtr<WorkerTable> next_worker = WorkerTable::build(next_snapshot, worker.get());
    check_worker_table(*next_worker);
    for (std::uint32_t i = 0; i < next_snapshot->instances.size(); ++i) {
      const tg::proxy::InstanceDef& inst = next_snapshot->instances[i];
      auto was = runtime.find(inst.id);
      if (was == runtime.end() || was->second.second != inst.address) continue;
      const std::string& service = next_snapshot->services[inst.service].name;
      if (was->second.first->service != service) continue;
      // Same id, address and service: the same state, in-flight count included.
      CHECK(next_worker->instances[i].get() == was->second.first);
      if (inst.breaker && breakers.count(inst.id)) CHECK(inst.breaker.get() == breakers[inst.id]);
    }
    served = next_snapshot;
    worker = next_worker;
  }
}

TEST_CASE("a delta shares what it does not change with the snapshot it applies on", "[proxy][control][delta]") {
  Registry registry;
  for (int s = 0; s < 100; ++s) {
    v1::Service svc;
    svc.set_name("s" + std::to_string(1000 + s));
    registry.put(svc);
    for (int i = 0; i < 5; ++i) {
      v1::Instance inst;
      inst.set_id(svc.name() + "-" + std::to_string(i));
      inst.set_service(svc.name());
      inst.set_address("10.0." + std::to_string(s) + "." + std::to_string(i) + ":8080");
      registry.put(inst);
    }
    v1::Route route;
    route.set_name("r" + std::to_string(1000 + s));
    route.set_service(svc.name());
    route.mutable_match()->set_host(svc.name() + ".test");
    registry.put(route);
  }
  auto base = build_whole(registry.entries, 1);
  const table::TableEntries before = registry.entries;
  v1::Instance added;
  added.set_id("s1050-9");
  added.set_service("s1050");
  added.set_address("10.9.9.9:8080");
  registry.put(added);
  TableChange change;
  std::string error;
  REQUIRE(tg::proxy::subscription::to_table_change(Registry::diff(before, registry.entries), change, error));
  auto next = Snapshot::apply(*base, change, 2, {1, 2}, error);
  REQUIRE(next != nullptr);
  CHECK(next->table == base->table);  // no route changed: the route index is the same object
  CHECK(next->instances.size() == base->instances.size() + 1);
  // 501 instances in chunks of 64: only the last chunk (the new one) differs.
  CHECK(next->instances.shared_chunks(base->instances) == base->instances.size() / 64);
  // 100 services in chunks of 16: only the chunk of s1050 is copied.
  CHECK(next->services.shared_chunks(base->services) == (base->services.size() + 15) / 16 - 1);
  REQUIRE(next->change != nullptr);
  CHECK(next->change->base_layout == base->layout);
  CHECK(next->change->instances.size() == 6);  // s1050's members: its five and the new one
  CHECK(next->change->routes.empty());
}

TEST_CASE("a delta that leaves a reference dangling is refused and the base kept", "[proxy][control][delta]") {
  Registry registry;
  v1::Service svc;
  svc.set_name("web");
  registry.put(svc);
  v1::Instance inst;
  inst.set_id("web-1");
  inst.set_service("web");
  inst.set_address("127.0.0.1:9001");
  registry.put(inst);
  auto base = build_whole(registry.entries, 1);
  std::string error;
  {
    TableChange change;
    change.removed_services.push_back("web");
    CHECK(Snapshot::apply(*base, change, 2, {1, 2}, error) == nullptr);
    CHECK(error == "instance web-1: unknown service 'web'");
  }
  {
    TableChange change;
    tg::config::Route route;
    route.name = "r";
    route.service = "api";
    route.match.path_prefix = "/";
    change.routes.push_back(route);
    CHECK(Snapshot::apply(*base, change, 2, {1, 2}, error) == nullptr);
    CHECK(error == "route r: unknown service 'api'");
  }
  {
    TableChange change;
    change.instances.push_back({"api", {}});
    change.instances.back().instance.id = "api-1";
    CHECK(Snapshot::apply(*base, change, 2, {1, 2}, error) == nullptr);
    CHECK(error == "instance api-1: unknown service 'api'");
  }
  CHECK(base->instances.size() == 1);
  CHECK(base->services[0].members.size() == 1);
}
