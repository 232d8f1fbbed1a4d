// The compiled route index (docs/life-of-a-request.md, phase 3).
//
// Lookup cost does not grow with the number of routes:
//   host   — exact host by hash, then "*.suffix" hosts by hash of each suffix
//            of the request host that starts at a dot (longest first), then
//            routes with no host;
//   path   — exact path by hash, then each distinct prefix length present in
//            that host's routes, longest first, by hash of the path's prefix;
//   header — header-equality matchers grouped by header name and indexed by
//            value hash; method matchers are checked on the few candidates left.
// The first route that satisfies every matcher at the most specific level
// wins; among equally specific routes the one declared first wins.
//
// A header that some route matches on must appear at most once in a request:
// with two X-Tenant-ID lines the route would follow the first while the
// upstream may read the last, so repeats_routing_header() lets the proxy
// refuse such a request (400) before matching.
#pragma once

#include "config/model.hpp"
#include "hashing/stable_hash.hpp"
#include "http/message_head.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


namespace tg::proxy::routing {

// XXH3 (fast on the short keys of hosts, paths and header values). Not
// noexcept on purpose: libstdc++ then keeps each node's hash code, so a
// lookup compares codes while it walks a bucket instead of hashing the keys
// it passes — which made a 10,000-route table ~1.8× slower than a 10-route
// one (tests/bench/route_match_bench.cpp).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return hashing::stable_hash(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// The request fields routing looks at. `host` is lower-case without a port.
struct RouteQuery {
  std::string_view host;
  std::string_view path;
  std::string_view method;
  const http::HeaderField* headers = nullptr;
  std::uint16_t header_count = 0;
  const char* base = nullptr;  // buffer the header spans point into

  // First value of the header named `lower_name`; false when absent.
  bool header(std::string_view lower_name, std::string_view& value) const;
};

class RouteTable {
 public:
  static constexpr std::int32_t kNoRoute = -1;

  // Indices returned by match() are positions in `routes`.
  static RouteTable build(const std::vector<config::Route>& routes);

  std::int32_t match(const RouteQuery& query) const;

  // True when a header whose name some route matches on appears more than
  // once in the request (any values, any case of the name). Cost: one look
  // per request header at its name length, a hash lookup for the few whose
  // length some route header name has, whatever the number of routes.
  bool repeats_routing_header(const RouteQuery& query) const;

 private:
  struct Candidate {
    std::uint32_t route;
    std::string method;  // empty: any method
  };
  struct HeaderIndex {
    std::string name;  // lower-case
    StringMap<std::vector<Candidate>> values;
  };
  struct MatcherSet {
    std::vector<HeaderIndex> by_header;
    std::vector<Candidate> plain;
    std::int32_t match(const RouteQuery& query) const;
  };
  struct HostEntry {
    StringMap<MatcherSet> exact_paths;
    StringMap<MatcherSet> prefixes;
    std::vector<std::uint32_t> prefix_lengths;  // distinct, longest first
    std::int32_t match(const RouteQuery& query) const;
  };

  static void add(HostEntry& entry, std::uint32_t index, const config::Route& route);
  static void finish(HostEntry& entry);

  StringMap<HostEntry> exact_hosts_;
  StringMap<HostEntry> wildcard_hosts_;  // key: ".example.com"
  HostEntry any_host_;
  bool has_any_host_ = false;
  // Names (lower-case) of the headers routes match on, and their lengths.
  StringMap<bool> header_names_;
  std::vector<bool> header_name_lengths_;  // [length]: some name has it
};

}  // namespace tg::proxy::routing
