#include "runtime/snapshot.hpp"

#include "balancing/balancer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>

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

// The per-policy structures, over the instances in id order (positions are
// indices into def.instances), so every proxy with this table builds the
// same ring or Maglev table.
void build_balancing(const Snapshot& s, ServiceDef& def) {
  for (std::uint32_t index : def.instances)
    if (s.instances[index].weight != s.instances[def.instances.front()].weight) def.equal_weights = false;
  if (def.policy != config::LbPolicy::ring_hash && def.policy != config::LbPolicy::ip_hash &&
      def.policy != config::LbPolicy::maglev)
    return;
  std::vector<balancing::HashMember> members;
  members.reserve(def.instances.size());
  for (std::uint32_t index : def.instances) members.push_back({s.instances[index].id, s.instances[index].weight});
  if (def.policy == config::LbPolicy::maglev) def.maglev = balancing::MaglevTable::build(members);
  else def.ring = balancing::HashRing::build(members);
}

std::string duration_text(config::Duration d) { return std::to_string(d.count()) + "ms"; }

std::string to_json(const Snapshot& s, const config::Config& config) {
  namespace json = boost::json;
  json::object root;
  root["version"] = s.version;
  root["source"] = s.source;
  json::array services;
  for (const config::Service& svc : config.services) {
    json::object o;
    o["name"] = svc.name;
    o["tenant"] = svc.tenant;
    o["lb"] = std::string(config::to_string(svc.lb));
    if (config::uses_hash_key(svc.lb)) {
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
                               {"max_body", svc.limits.max_body}};
    json::array instances;
    for (const config::Instance& inst : svc.instances)
      instances.push_back(json::object{{"id", inst.id}, {"address", inst.address}, {"weight", inst.weight}});
    o["instances"] = std::move(instances);
    services.push_back(std::move(o));
  }
  root["services"] = std::move(services);
  json::array routes;
  for (const config::Route& r : config.routes) {
    json::object m;
    if (!r.match.host.empty()) m["host"] = r.match.host;
    if (!r.match.path_exact.empty()) m["path"] = r.match.path_exact;
    else m["path_prefix"] = r.match.path_prefix.empty() ? "/" : r.match.path_prefix;
    if (!r.match.method.empty()) m["method"] = r.match.method;
    if (r.match.header) m["header"] = json::object{{"name", r.match.header->name}, {"value", r.match.header->value}};
    json::object o{{"name", r.name}, {"service", r.service}, {"match", std::move(m)}};
    if (!r.rewrite.strip_prefix.empty()) o["rewrite"] = json::object{{"strip_prefix", r.rewrite.strip_prefix}};
    routes.push_back(std::move(o));
  }
  root["routes"] = std::move(routes);
  return json::serialize(root);
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(const config::Config& config, std::uint64_t version,
                                                std::string source, std::string& error) {
  auto s = std::make_shared<Snapshot>();
  s->version = version;
  s->source = std::move(source);
  routing::StringMap<std::uint32_t> service_index;
  for (const config::Service& svc : config.services) {
    ServiceDef def;
    def.name = svc.name;
    def.tenant = svc.tenant;
    def.policy = svc.lb;
    def.timeouts = svc.timeouts;
    def.limits = svc.limits;
    def.retry = svc.retry;
    def.hash_key = svc.hash_key;
    if (!balancing::supported(svc.lb)) {
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
    std::uint64_t total = 0;
    for (const config::Instance* inst : ordered) {
      InstanceDef idef;
      idef.id = inst->id;
      idef.address = inst->address;
      idef.weight = std::max<std::uint32_t>(1, inst->weight);
      idef.service = service_pos;
      if (!resolve(*inst, idef.endpoint, error)) return nullptr;
      def.instances.push_back(static_cast<std::uint32_t>(s->instances.size()));
      total += idef.weight;
      def.cumulative_weight.push_back(total);
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
    s->routes.push_back(RouteDef{r.name, it->second, r.rewrite.strip_prefix});
  }
  s->table = routing::RouteTable::build(config.routes);
  s->json = to_json(*s, config);
  return s;
}

}  // namespace tg::proxy
