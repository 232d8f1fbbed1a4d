// The immutable configuration root a worker serves from (DESIGN §5 Config).
//
// Built from a validated config::Config off the workers (main thread), then
// posted to each worker as shared_ptr<const Snapshot>. Nothing in it changes
// after build(); per-worker mutable state lives in WorkerTable.
#pragma once

#include "balancing/hash_ring.hpp"
#include "balancing/maglev.hpp"
#include "config/model.hpp"
#include "routing/route_table.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tg::proxy {

struct InstanceDef {
  std::string id;
  std::string address;  // as configured
  boost::asio::ip::tcp::endpoint endpoint;
  std::uint32_t weight = 1;
  std::uint32_t service = 0;
};

struct ServiceDef {
  std::string name;
  std::string tenant;
  config::LbPolicy policy = config::LbPolicy::round_robin;
  config::Timeouts timeouts;
  config::Limits limits;
  config::Retry retry;
  std::vector<std::uint32_t> instances;          // indices into Snapshot::instances, ordered by id
  std::vector<std::uint64_t> cumulative_weight;  // prefix sums over `instances`, for weighted draws
  bool equal_weights = true;                     // draws can skip the weight search
  config::HashKey hash_key;                      // ring_hash, maglev
  // Built here for the policy that reads it, over `instances` (positions are
  // indices into `instances`); empty otherwise.
  balancing::HashRing ring;                      // ring_hash, ip_hash
  balancing::MaglevTable maglev;                 // maglev
};

struct RouteDef {
  std::string name;
  std::uint32_t service = 0;
  std::string strip_prefix;
};

struct Snapshot {
  std::uint64_t version = 0;
  std::string source;  // file the table came from
  std::vector<ServiceDef> services;
  std::vector<InstanceDef> instances;
  std::vector<RouteDef> routes;
  routing::RouteTable table;
  std::string json;  // for the admin /config page

  // Resolves instance addresses (DNS names once, here). On failure returns
  // null and sets `error`.
  static std::shared_ptr<const Snapshot> build(const config::Config& config, std::uint64_t version,
                                               std::string source, std::string& error);
};

}  // namespace tg::proxy
