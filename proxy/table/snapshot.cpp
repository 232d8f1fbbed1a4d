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

// The breakers of `s`'s services with `outlier`: taken over from `previous`
// for the same instance id, endpoint and service name (as the workers carry
// their InstanceRuntime over), else new and closed.
void attach_breakers(Snapshot& s, const Snapshot* previous) {
  std::unordered_map<std::string_view, const ServiceDef*> old_services;
  if (previous && previous->instance_ids)
    for (const ServiceDef& svc : previous->services)
      if (svc.breakers) old_services.emplace(svc.name, &svc);
  for (ServiceDef& def : s.services) {
    if (!def.outlier) continue;
    const auto old = old_services.find(def.name);
    if (old == old_services.end()) {
      def.breakers = std::make_shared<resilience::ServiceBreakers>();
    } else {
      def.breakers = old->second->breakers;
    }
    for (std::uint32_t index : def.members) {
      InstanceDef& inst = s.instances[index];
      if (old != old_services.end()) {
        const auto found = previous->instance_ids->find(inst.id);
        if (found != previous->instance_ids->end()) {
          const InstanceDef& before = previous->instances[found->second];
          if (before.breaker && before.endpoint == inst.endpoint &&
              previous->services[before.service].name == def.name) {
            inst.breaker = before.breaker;
            continue;
          }
        }
      }
      inst.breaker = std::make_shared<resilience::BreakerCell>(def.breakers);
    }
  }
}

// A health flip unhealthy -> healthy closes the breaker at once (life-of-a-request.md).
// Done here, before any worker serves `after`, once for the proxy.
void close_recovered(const Snapshot& before, const Snapshot& after) {
  if (!before.instance_ids) return;
  for (const InstanceDef& inst : after.instances) {
    if (!inst.breaker || inst.health != config::Health::healthy) continue;
    const auto found = before.instance_ids->find(inst.id);
    if (found == before.instance_ids->end()) continue;
    const InstanceDef& was = before.instances[found->second];
    if (was.health != config::Health::unhealthy || was.breaker != inst.breaker) continue;
    const resilience::BreakerCell::Change change = inst.breaker->close_on_health();
    if (change.transition.happened())
      resilience::log_transition(after.services[inst.service].name, inst.id, inst.address, change.transition, 0);
  }
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
  routing::StringMap<std::uint32_t> service_index;
  for (const config::Service& svc : config.services) {
    ServiceDef def;
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
    if (!policy_supported(svc.lb)) {
      error = "service " + svc.name + ": lb policy '" + std::string(config::to_string(svc.lb)) +
              "' is not supported by tg-proxy: it needs the control plane's link assignment "
              "(Discovery.AssignLink), which does not exist yet; use ring_hash or maglev with the same "
              "hash_key for stickiness without it";
      return nullptr;
    }
    const auto service_pos = static_cast<std::uint32_t>(s->services.size());
    // Instances ordered by id, so every proxy with the same table builds the
    // same order (hash policies depend on it).
    std::vector<const config::Instance*> ordered;
    for (const config::Instance& inst : svc.instances) ordered.push_back(&inst);
    std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->id < b->id; });
    for (const config::Instance* inst : ordered) {
      InstanceDef idef;
      idef.id = inst->id;
      idef.address = inst->address;
      idef.weight = std::max<std::uint32_t>(1, inst->weight);
      idef.service = service_pos;
      idef.admin_state = inst->admin_state;
      idef.health = inst->health;
      idef.health_reason = inst->health_reason;
      if (!resolve(*inst, idef.endpoint, error)) return nullptr;
      def.members.push_back(static_cast<std::uint32_t>(s->instances.size()));
      s->instances.push_back(std::move(idef));
    }
    build_balancing(*s, def);
    service_index.emplace(svc.name, service_pos);
    s->services.push_back(std::move(def));
  }
  for (const config::Route& r : config.routes) {
    auto it = service_index.find(r.service);
    if (it == service_index.end()) {
      error = "route " + r.name + ": unknown service " + r.service;
      return nullptr;
    }
    RouteDef def{r.name, it->second, r.rewrite.strip_prefix, r.match, r.reject_encoded_slashes};
    def.auth_required = r.auth == config::RouteAuth::required;
    def.auth_forward = r.auth_forward;
    def.auth_tenant = s->auth->tenant_index(s->services[it->second].tenant);
    s->routes.push_back(std::move(def));
  }
  s->table = std::make_shared<const routing::RouteTable>(routing::RouteTable::build(config.routes));
  auto ids = std::make_shared<routing::StringMap<std::uint32_t>>();
  ids->reserve(s->instances.size());
  for (std::uint32_t i = 0; i < s->instances.size(); ++i) ids->emplace(s->instances[i].id, i);
  s->instance_ids = std::move(ids);
  static std::atomic<std::uint64_t> layouts{0};
  s->layout = ++layouts;
  attach_breakers(*s, previous);
  if (previous) close_recovered(*previous, *s);
  return s;
}

std::shared_ptr<const Snapshot> Snapshot::with_states(const Snapshot& base,
                                                      const std::vector<InstanceStateChange>& changes,
                                                      std::uint64_t version, TableVersion control) {
  auto s = std::make_shared<Snapshot>(base);
  s->version = version;
  s->control = control;
  std::vector<bool> touched(s->services.size(), false);
  for (const InstanceStateChange& change : changes) {
    auto found = s->instance_ids->find(change.id);
    if (found == s->instance_ids->end()) continue;
    InstanceDef& inst = s->instances[found->second];
    inst.admin_state = change.admin_state;
    inst.health = change.health;
    inst.health_reason = change.health_reason;
    touched[inst.service] = true;
  }
  for (std::size_t i = 0; i < s->services.size(); ++i)
    if (touched[i]) build_balancing(*s, s->services[i]);
  close_recovered(base, *s);
  return s;
}

std::string Snapshot::to_json(const std::unordered_map<std::string, InstanceLoad>* load) const {
  namespace json = boost::json;
  json::object root;
  root["version"] = version;
  if (!control.empty())
    root["control_version"] = std::to_string(control.generation) + "." + std::to_string(control.counter);
  root["source"] = source;
  json::array service_list;
  for (std::size_t pos = 0; pos < services.size(); ++pos) {
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
  json::array route_list;
  for (const RouteDef& r : routes) {
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
    route_list.push_back(std::move(o));
  }
  root["routes"] = std::move(route_list);
  // Credential names and kinds, JWT issuers and key ids: never a hash or secret.
  if (auth) root["tenants"] = auth->describe();
  return json::serialize(root);
}

}  // namespace tg::proxy
