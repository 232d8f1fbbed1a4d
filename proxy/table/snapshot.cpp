#include "table/snapshot.hpp"

#include "observability/access_log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <string_view>
#include <unordered_map>

namespace tg::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

bool resolve(const config::Instance& instance, tcp::endpoint& out, std::string& error) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(instance.host, ec);
  if (!ec) {
    out = tcp::endpoint(ip, instance.port);
    return true;
  }
  asio::io_context ctx;
  tcp::resolver resolver(ctx);
  auto results = resolver.resolve(instance.host, std::to_string(instance.port), ec);
  if (ec || results.empty()) {
    error = "instance " + instance.id + ": cannot resolve '" + instance.host + "': " +
            (ec ? ec.message() : std::string("no address"));
    return false;
  }
  out = results.begin()->endpoint();
  return true;
}

// The pick set of a service (docs/life-of-a-request.md, phase 5): active instances that are
// not unhealthy; in panic (fewer than half of the active members pickable)
// every active member. Draining and disabled instances get no new requests.
void choose_instances(const Snapshot& s, ServiceDef& def) {
  def.instances.clear();
  def.cumulative_weight.clear();
  def.equal_weights = true;
  def.panic = false;
  std::size_t active = 0;
  for (std::uint32_t index : def.members) {
    const InstanceDef& inst = s.instances[index];
    if (inst.admin_state != config::AdminState::active) continue;
    ++active;
    if (inst.health != config::Health::unhealthy) def.instances.push_back(index);
  }
  if (def.instances.size() * 2 < active) {
    def.panic = true;
    def.instances.clear();
    for (std::uint32_t index : def.members)
      if (s.instances[index].admin_state == config::AdminState::active) def.instances.push_back(index);
  }
  std::uint64_t total = 0;
  for (std::uint32_t index : def.instances) {
    total += s.instances[index].weight;
    def.cumulative_weight.push_back(total);
    if (s.instances[index].weight != s.instances[def.instances.front()].weight) def.equal_weights = false;
  }
}

// The per-policy structures, over the pick set in id order (positions are
// indices into def.instances), so every proxy with this table builds the
// same ring or Maglev table.
void build_balancing(const Snapshot& s, ServiceDef& def) {
  choose_instances(s, def);
  def.ring = {};
  def.maglev = {};
  if (def.policy != config::LbPolicy::ring_hash && def.policy != config::LbPolicy::ip_hash &&
      def.policy != config::LbPolicy::maglev)
    return;
  std::vector<hashing::HashMember> members;
  members.reserve(def.instances.size());
  for (std::uint32_t index : def.instances) members.push_back({s.instances[index].id, s.instances[index].weight});
  if (def.policy == config::LbPolicy::maglev) def.maglev = hashing::MaglevTable::build(members);
  else def.ring = hashing::HashRing::build(members);
}

std::string duration_text(config::Duration d) { return std::to_string(d.count()) + "ms"; }

// The breakers of the service at `pos` and its members: with `outlier`,
// taken over from `previous` for the same instance id, endpoint and service
// name (as the workers carry their InstanceRuntime over), else new and
// closed; without, none.
void attach_breakers(Snapshot& s, std::uint32_t pos, const Snapshot* previous) {
  const ServiceDef& now = s.services[pos];
  if (!now.outlier) {
    if (now.breakers) s.services.mutate(pos).breakers = nullptr;
    for (std::uint32_t index : now.members)
      if (s.instances[index].breaker) s.instances.mutate(index).breaker = nullptr;
    return;
  }
  const ServiceDef* old = nullptr;
  if (previous) {
    const std::uint32_t* found = previous->service_ids.find(now.name);
    if (found && previous->services[*found].breakers) old = &previous->services[*found];
  }
  // The previous table's count for this service, else the one it has (a
  // snapshot apply() derives keeps it), else a new one.
  if (old && now.breakers != old->breakers) {
    s.services.mutate(pos).breakers = old->breakers;
  } else if (!old && !now.breakers) {
    s.services.mutate(pos).breakers = std::make_shared<resilience::ServiceBreakers>();
  }
  const ServiceDef& def = s.services[pos];
  for (std::uint32_t index : def.members) {
    const InstanceDef& inst = s.instances[index];
    std::shared_ptr<resilience::BreakerCell> cell;
    if (old) {
      const std::uint32_t* found = previous->instance_ids.find(inst.id);
      if (found) {
        const InstanceDef& before = previous->instances[*found];
        if (before.breaker && before.endpoint == inst.endpoint && previous->services[before.service].name == def.name)
          cell = before.breaker;
      }
    }
    if (!cell) cell = std::make_shared<resilience::BreakerCell>(def.breakers);
    if (inst.breaker != cell) s.instances.mutate(index).breaker = std::move(cell);
  }
}

// A health flip unhealthy -> healthy closes the breaker at once (life-of-a-request.md).
// Done here, before any worker serves `after`, once for the proxy.
void close_recovered(const Snapshot& before, const Snapshot& after, std::uint32_t index) {
  const InstanceDef& inst = after.instances[index];
  if (!inst.breaker || inst.health != config::Health::healthy) return;
  const std::uint32_t* found = before.instance_ids.find(inst.id);
  if (!found) return;
  const InstanceDef& was = before.instances[*found];
  if (was.health != config::Health::unhealthy || was.breaker != inst.breaker) return;
  const resilience::BreakerCell::Change change = inst.breaker->close_on_health();
  if (change.transition.happened())
    resilience::log_transition(after.services[inst.service].name, inst.id, inst.address, change.transition, 0);
}

// A service's settings (no members yet); false with `error` for a policy
// tg-proxy does not serve.
bool make_service(const config::Service& svc, ServiceDef& def, std::string& error) {
  if (!policy_supported(svc.lb)) {
    error = "service " + svc.name + ": lb policy '" + std::string(config::to_string(svc.lb)) +
            "' is not supported by tg-proxy: it needs the control plane's link assignment "
            "(Discovery.AssignLink), which does not exist yet; use ring_hash or maglev with the same "
            "hash_key for stickiness without it";
    return false;
  }
  def.name = svc.name;
  def.tenant = svc.tenant;
  def.tenant_json = json_escaped(svc.tenant);
  def.policy = svc.lb;
  def.timeouts = svc.timeouts;
  def.limits = svc.limits;
  def.retry = svc.retry;
  def.outlier = svc.outlier.has_value();
  if (svc.outlier) def.breaker = resilience::BreakerPolicy::from(*svc.outlier);
  def.hash_key = svc.hash_key;
  return true;
}

bool make_instance(const config::Instance& inst, std::uint32_t service, InstanceDef& def, std::string& error) {
  def.id = inst.id;
  def.address = inst.address;
  def.weight = std::max<std::uint32_t>(1, inst.weight);
  def.service = service;
  def.admin_state = inst.admin_state;
  def.health = inst.health;
  def.health_reason = inst.health_reason;
  return resolve(inst, def.endpoint, error);
}

std::uint64_t next_layout() {
  static std::atomic<std::uint64_t> layouts{0};
  return ++layouts;
}

void remove_value(std::vector<std::uint32_t>& list, std::uint32_t value) {
  auto it = std::find(list.begin(), list.end(), value);
  if (it != list.end()) list.erase(it);
}

void replace_value(std::vector<std::uint32_t>& list, std::uint32_t from, std::uint32_t to) {
  std::replace(list.begin(), list.end(), from, to);
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(const config::Config& config, std::uint64_t version,
                                                std::string source, std::string& error, TableVersion control,
                                                const Snapshot* previous) {
  auto s = std::make_shared<Snapshot>();
  s->version = version;
  s->control = control;
  s->source = std::move(source);
  s->auth = auth::AuthIndex::build(config, previous ? previous->auth.get() : nullptr);
  for (const config::Service& svc : config.services) {
    ServiceDef def;
    if (!make_service(svc, def, error)) return nullptr;
    const auto service_pos = static_cast<std::uint32_t>(s->services.size());
    // Instances ordered by id, so every proxy with the same table builds the
    // same order (hash policies depend on it).
    std::vector<const config::Instance*> ordered;
    for (const config::Instance& inst : svc.instances) ordered.push_back(&inst);
    std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->id < b->id; });
    for (const config::Instance* inst : ordered) {
      InstanceDef idef;
      if (!make_instance(*inst, service_pos, idef, error)) return nullptr;
      const auto index = static_cast<std::uint32_t>(s->instances.size());
      def.members.push_back(index);
      s->instance_ids.set(idef.id, index);
      s->instances.push_back(std::move(idef));
    }
    build_balancing(*s, def);
    s->service_ids.set(svc.name, service_pos);
    s->services.push_back(std::move(def));
  }
  for (const config::Route& r : config.routes) {
    const std::uint32_t* service = s->service_ids.find(r.service);
    if (!service) {
      error = "route " + r.name + ": unknown service " + r.service;
      return nullptr;
    }
    s->route_ids.set(r.name, static_cast<std::uint32_t>(s->routes.size()));
    RouteDef def{r.name, *service, r.rewrite.strip_prefix, r.match, r.reject_encoded_slashes};
    def.auth_required = r.auth == config::RouteAuth::required;
    def.auth_forward = r.auth_forward;
    def.auth_tenant = s->auth->tenant_index(s->services[*service].tenant);
    s->routes.push_back(std::move(def));
  }
  s->table = std::make_shared<const routing::RouteTable>(routing::RouteTable::build(config.routes));
  s->layout = next_layout();
  for (std::uint32_t pos = 0; pos < s->services.size(); ++pos) attach_breakers(*s, pos, previous);
  s->limits = limits::TableLimits::build(config, previous ? previous->limits.get() : nullptr);
  if (previous)
    for (std::uint32_t i = 0; i < s->instances.size(); ++i) close_recovered(*previous, *s, i);
  return s;
}

std::shared_ptr<const Snapshot> Snapshot::apply(const Snapshot& base, const TableChange& change,
                                                std::uint64_t version, TableVersion control, std::string& error) {
  auto s = std::make_shared<Snapshot>(base);
  s->version = version;
  s->control = control;
  auto moved = std::make_shared<LayoutChange>();
  moved->base_layout = base.layout;
  std::vector<std::string> touched;  // names of services whose members or settings changed
  std::vector<std::string> touched_routes;  // names of routes added, removed, changed or moved

  // 1. Routes removed: the last route takes the place of each.
  for (const std::string& name : change.removed_routes) {
    const std::uint32_t* found = s->route_ids.find(name);
    if (!found) continue;
    const std::uint32_t pos = *found;
    const auto last = static_cast<std::uint32_t>(s->routes.size() - 1);
    touched_routes.push_back(name);
    s->route_ids.erase(name);
    if (pos != last) {
      s->routes.mutate(pos) = s->routes[last];
      s->route_ids.set(s->routes[pos].name, pos);
      touched_routes.push_back(s->routes[pos].name);
      moved->routes.push_back(pos);
    }
    s->routes.pop_back();
  }
  // 2. Instances removed, likewise; their services and the moved one's change.
  for (const std::string& id : change.removed_instances) {
    const std::uint32_t* found = s->instance_ids.find(id);
    if (!found) continue;
    const std::uint32_t pos = *found;
    const auto last = static_cast<std::uint32_t>(s->instances.size() - 1);
    const std::uint32_t service = s->instances[pos].service;
    remove_value(s->services.mutate(service).members, pos);
    touched.push_back(s->services[service].name);
    s->instance_ids.erase(id);
    if (pos != last) {
      const std::uint32_t other = s->instances[last].service;
      replace_value(s->services.mutate(other).members, last, pos);
      touched.push_back(s->services[other].name);
      s->instances.mutate(pos) = s->instances[last];
      s->instance_ids.set(s->instances[pos].id, pos);
      moved->instances.push_back(pos);
    }
    s->instances.pop_back();
  }
  // 3. Services upserted: settings replaced, members kept.
  for (const config::Service& svc : change.services) {
    ServiceDef def;
    if (!make_service(svc, def, error)) return nullptr;
    const std::uint32_t* found = s->service_ids.find(svc.name);
    if (found) {
      ServiceDef& target = s->services.mutate(*found);
      def.members = std::move(target.members);
      def.breakers = std::move(target.breakers);
      target = std::move(def);
      moved->services.push_back(*found);
    } else {
      const auto pos = static_cast<std::uint32_t>(s->services.size());
      s->service_ids.set(svc.name, pos);
      s->services.append(std::move(def));
      moved->services.push_back(pos);
    }
    touched.push_back(svc.name);
  }
  // 4. Instances upserted.
  for (const TableChange::Instance& upsert : change.instances) {
    const config::Instance& inst = upsert.instance;
    const std::uint32_t* service = s->service_ids.find(upsert.service);
    if (!service) {
      error = "instance " + inst.id + ": unknown service '" + upsert.service + "'";
      return nullptr;
    }
    InstanceDef def;
    if (!make_instance(inst, *service, def, error)) return nullptr;
    const std::uint32_t* found = s->instance_ids.find(inst.id);
    std::uint32_t pos;
    if (found) {
      pos = *found;
      const std::uint32_t before = s->instances[pos].service;
      if (before != *service) {
        remove_value(s->services.mutate(before).members, pos);
        touched.push_back(s->services[before].name);
        s->services.mutate(*service).members.push_back(pos);
      }
      InstanceDef& target = s->instances.mutate(pos);
      def.breaker = std::move(target.breaker);  // attach_breakers decides whether it stays
      target = std::move(def);
    } else {
      pos = static_cast<std::uint32_t>(s->instances.size());
      s->instance_ids.set(inst.id, pos);
      s->instances.append(std::move(def));
      s->services.mutate(*service).members.push_back(pos);
    }
    touched.push_back(upsert.service);
    moved->instances.push_back(pos);
  }
  // 5. Routes upserted.
  for (const config::Route& r : change.routes) {
    const std::uint32_t* service = s->service_ids.find(r.service);
    if (!service) {
      error = "route " + r.name + ": unknown service '" + r.service + "'";
      return nullptr;
    }
    RouteDef def{r.name, *service, r.rewrite.strip_prefix, r.match, r.reject_encoded_slashes};
    def.auth_required = r.auth == config::RouteAuth::required;
    def.auth_forward = r.auth_forward;
    if (s->auth) def.auth_tenant = s->auth->tenant_index(s->services[*service].tenant);
    const std::uint32_t* found = s->route_ids.find(r.name);
    std::uint32_t pos;
    if (found) {
      pos = *found;
      s->routes.mutate(pos) = std::move(def);
    } else {
      pos = static_cast<std::uint32_t>(s->routes.size());
      s->route_ids.set(r.name, pos);
      s->routes.append(std::move(def));
    }
    moved->routes.push_back(pos);
    touched_routes.push_back(r.name);
  }
  // 6. Services removed: nothing may still refer to them; the last service
  // takes the place of each (its members and routes follow).
  for (const std::string& name : change.removed_services) {
    const std::uint32_t* found = s->service_ids.find(name);
    if (!found) continue;
    const std::uint32_t pos = *found;
    if (!s->services[pos].members.empty()) {
      error = "instance " + s->instances[s->services[pos].members.front()].id + ": unknown service '" + name + "'";
      return nullptr;
    }
    const auto last = static_cast<std::uint32_t>(s->services.size() - 1);
    for (std::uint32_t r = 0; r < s->routes.size(); ++r) {
      if (s->routes[r].service == pos) {
        error = "route " + s->routes[r].name + ": unknown service '" + name + "'";
        return nullptr;
      }
    }
    s->service_ids.erase(name);
    if (pos != last) {
      s->services.mutate(pos) = s->services[last];
      s->service_ids.set(s->services[pos].name, pos);
      for (std::uint32_t index : s->services[pos].members) {
        s->instances.mutate(index).service = pos;
        moved->instances.push_back(index);
      }
      for (std::uint32_t r = 0; r < s->routes.size(); ++r) {
        if (s->routes[r].service != last) continue;
        s->routes.mutate(r).service = pos;
        moved->routes.push_back(r);
      }
      moved->services.push_back(pos);
    }
    s->services.pop_back();
  }
  // 7. The services touched: members in id order, pick set, balancing
  // structures and breakers anew; every member counts as changed.
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const std::string& name : touched) {
    const std::uint32_t* found = s->service_ids.find(name);
    if (!found) continue;
    const std::uint32_t pos = *found;
    ServiceDef& def = s->services.mutate(pos);
    std::sort(def.members.begin(), def.members.end(),
              [&](std::uint32_t a, std::uint32_t b) { return s->instances[a].id < s->instances[b].id; });
    build_balancing(*s, def);
    attach_breakers(*s, pos, &base);
    moved->services.push_back(pos);
    for (std::uint32_t index : s->services[pos].members) moved->instances.push_back(index);
  }
  // 8. The route index: the routes touched leave it as the base had them
  // and enter it as they are now; only the entries of their hosts are built
  // again, with a pushed table's precedence (name order).
  if (!touched_routes.empty()) {
    std::sort(touched_routes.begin(), touched_routes.end());
    touched_routes.erase(std::unique(touched_routes.begin(), touched_routes.end()), touched_routes.end());
    std::vector<routing::RouteTable::Entry> removed, added;
    for (const std::string& name : touched_routes) {
      if (const std::uint32_t* was = base.route_ids.find(name))
        removed.push_back({base.routes[*was].name, &base.routes[*was].match, *was});
      if (const std::uint32_t* now = s->route_ids.find(name))
        added.push_back({s->routes[*now].name, &s->routes[*now].match, *now});
    }
    s->table = std::make_shared<const routing::RouteTable>(base.table->with_changes(removed, added));
  }
  auto tidy = [](std::vector<std::uint32_t>& list, std::size_t size) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    while (!list.empty() && list.back() >= size) list.pop_back();
  };
  tidy(moved->instances, s->instances.size());
  tidy(moved->routes, s->routes.size());
  tidy(moved->services, s->services.size());
  for (std::uint32_t index : moved->instances) close_recovered(base, *s, index);
  s->layout = next_layout();
  s->change = std::move(moved);
  return s;
}

std::shared_ptr<const Snapshot> Snapshot::with_states(const Snapshot& base,
                                                      const std::vector<InstanceStateChange>& changes,
                                                      std::uint64_t version, TableVersion control) {
  auto s = std::make_shared<Snapshot>(base);
  s->version = version;
  s->control = control;
  std::vector<std::uint32_t> touched;
  std::vector<std::uint32_t> changed;
  for (const InstanceStateChange& change : changes) {
    const std::uint32_t* found = s->instance_ids.find(change.id);
    if (!found) continue;
    InstanceDef& inst = s->instances.mutate(*found);
    inst.admin_state = change.admin_state;
    inst.health = change.health;
    inst.health_reason = change.health_reason;
    touched.push_back(inst.service);
    changed.push_back(*found);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (std::uint32_t pos : touched) build_balancing(*s, s->services.mutate(pos));
  for (std::uint32_t index : changed) close_recovered(base, *s, index);
  return s;
}

std::string Snapshot::to_json(const std::unordered_map<std::string, InstanceLoad>* load) const {
  namespace json = boost::json;
  json::object root;
  root["version"] = version;
  if (!control.empty())
    root["control_version"] = std::to_string(control.generation) + "." + std::to_string(control.counter);
  root["source"] = source;
  // A pushed table lists its services and routes in name order, as tg-control
  // sends them, whichever positions delta updates gave them.
  auto listing = [&](const auto& list) {
    std::vector<std::uint32_t> order(list.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    if (!control.empty())
      std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return list[a].name < list[b].name; });
    return order;
  };
  json::array service_list;
  for (std::uint32_t pos : listing(services)) {
    const ServiceDef& svc = services[pos];
    json::object o;
    o["name"] = svc.name;
    o["tenant"] = svc.tenant;
    o["lb"] = std::string(config::to_string(svc.policy));
    if (config::uses_hash_key(svc.policy)) {
      switch (svc.hash_key.kind) {
        case config::HashKey::Kind::header: o["hash_key"] = json::object{{"header", svc.hash_key.name}}; break;
        case config::HashKey::Kind::cookie: o["hash_key"] = json::object{{"cookie", svc.hash_key.name}}; break;
        case config::HashKey::Kind::client_ip: o["hash_key"] = json::object{{"client_ip", true}}; break;
      }
    }
    o["timeouts"] = json::object{{"connect", duration_text(svc.timeouts.connect)},
                                 {"response_headers", duration_text(svc.timeouts.response_headers)},
                                 {"idle", duration_text(svc.timeouts.idle)}};
    o["limits"] = json::object{{"max_connections_per_instance", svc.limits.max_connections_per_instance},
                               {"max_pending_per_instance", svc.limits.max_pending_per_instance},
                               {"pending_timeout", duration_text(svc.limits.pending_timeout)},
                               {"max_body", svc.limits.max_body}};
    if (svc.panic) o["panic"] = true;
    json::array list;
    for (std::uint32_t index : svc.members) {
      const InstanceDef& inst = instances[index];
      json::object i{{"id", inst.id}, {"address", inst.address}, {"weight", inst.weight}};
      if (inst.admin_state != config::AdminState::active)
        i["admin_state"] = std::string(config::to_string(inst.admin_state));
      if (inst.health != config::Health::unknown) i["health"] = std::string(config::to_string(inst.health));
      if (!inst.health_reason.empty()) i["health_reason"] = inst.health_reason;
      i["pickable"] = std::find(svc.instances.begin(), svc.instances.end(), index) != svc.instances.end();
      if (load) {
        auto it = load->find(inst.id);
        i["in_flight"] = it == load->end() ? 0 : it->second.in_flight;
        i["connections"] = it == load->end() ? 0 : it->second.connections;
      }
      list.push_back(std::move(i));
    }
    o["instances"] = std::move(list);
    service_list.push_back(std::move(o));
  }
  root["services"] = std::move(service_list);
  // Limits by route name and tenant id (a pushed table's positions move).
  std::unordered_map<std::string_view, const limits::RouteLimitDef*> route_limits;
  if (limits)
    for (const limits::RouteLimitDef& def : limits->limited())
      if (def.source) route_limits.emplace(def.route, &def);
  json::array route_list;
  for (std::uint32_t pos : listing(routes)) {
    const RouteDef& r = routes[pos];
    json::object m;
    if (!r.match.host.empty()) m["host"] = r.match.host;
    if (!r.match.path_exact.empty()) m["path"] = r.match.path_exact;
    else m["path_prefix"] = r.match.path_prefix.empty() ? "/" : r.match.path_prefix;
    if (!r.match.method.empty()) m["method"] = r.match.method;
    if (r.match.header) m["header"] = json::object{{"name", r.match.header->name}, {"value", r.match.header->value}};
    json::object o{{"name", r.name}, {"service", services[r.service].name}, {"match", std::move(m)}};
    if (!r.strip_prefix.empty()) o["rewrite"] = json::object{{"strip_prefix", r.strip_prefix}};
    if (r.reject_encoded_slashes) o["reject_encoded_slashes"] = true;
    if (r.auth_required) o["auth"] = "required";
    if (r.auth_forward) o["auth_forward"] = true;
    if (auto it = route_limits.find(r.name); it != route_limits.end()) o["rate_limit"] = limits::describe(*it->second->source);
    route_list.push_back(std::move(o));
  }
  root["routes"] = std::move(route_list);
  // Credential names and kinds, JWT issuers and key ids: never a hash or secret.
  if (auth) root["tenants"] = auth->describe();
  // Tenant limits in force (those of tenants some route serves), on the
  // tenant's entry.
  if (limits && !limits->tenants().empty()) {
    json::array& tenants = root["tenants"].is_array() ? root["tenants"].as_array() : root["tenants"].emplace_array();
    for (const limits::TenantLimitDef& def : limits->tenants()) {
      auto entry = std::find_if(tenants.begin(), tenants.end(), [&](const json::value& t) {
        return t.as_object().at("id").as_string() == def.id;
      });
      if (entry == tenants.end()) entry = tenants.insert(tenants.end(), json::object{{"id", def.id}});
      entry->as_object()["limits"] = limits::describe(def.source);
    }
  }
  return json::serialize(root);
}

}  // namespace tg::proxy
