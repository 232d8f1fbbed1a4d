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
// The entries of each host are built apart and shared (SharedMap, one
// shared_ptr per host entry): with_changes() derives the index of a table
// with some routes changed by rebuilding only the entries of the hosts those
// routes name, and shares every other with this one.
//
// A header that some route matches on must appear at most once in a request:
// with two X-Tenant-ID lines the route would follow the first while the
// upstream may read the last, so repeats_routing_header() lets the proxy
// refuse such a request (400) before matching.
#pragma once

#include "config/model.hpp"
#include "http/message_head.hpp"
#include "routing/shared_map.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


namespace tg::proxy::routing {

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

  // A route as the index sees it: its name, its matchers and the position
  // match() returns for it. The matchers are copied into the index.
  struct Entry {
    std::string_view name;
    const config::RouteMatch* match;
    std::uint32_t position;
  };
  // `routes` in precedence order (the first declared first); match() returns
  // their `position`s, which need not follow that order.
  static RouteTable build(const std::vector<Entry>& routes);

  // This index without the routes `removed` (each as it was added: name and
  // position) and with `added`; the entries of the hosts neither names are
  // shared with this index. Within a host, routes added this way take
  // precedence by name (the order of a pushed table), so use it only on an
  // index whose routes are in name order (a pushed table's).
  RouteTable with_changes(const std::vector<Entry>& removed, const std::vector<Entry>& added) const;

  std::int32_t match(const RouteQuery& query) const;

  // True when a header whose name some route matches on appears more than
  // once in the request (any values, any case of the name). Cost: one look
  // per request header at its name length, a hash lookup for the few whose
  // length some route header name has, whatever the number of routes.
  bool repeats_routing_header(const RouteQuery& query) const;

 private:
  struct Candidate {
    std::uint32_t route;  // position returned
    std::uint32_t rank;   // precedence among equally specific routes: lower wins
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

  // A route of a host entry, kept to build the entry again when a route of
  // the same host changes.
  struct Member {
    std::string name;
    std::uint32_t position;
    std::uint32_t rank;
    config::RouteMatch match;
  };
  struct Host {
    HostEntry entry;
    std::vector<Member> members;  // in precedence order
  };
  using HostPtr = std::shared_ptr<const Host>;

  static void add(HostEntry& entry, const Member& route);
  static void finish(HostEntry& entry);
  static HostPtr make_host(std::vector<Member> members);
  HostPtr* slot_for(const std::string& host);  // the (writable) place of the host's entry
  void count_header(const config::RouteMatch& match, int delta);

  SharedMap<HostPtr> exact_hosts_;
  SharedMap<HostPtr> wildcard_hosts_;  // key: ".example.com"
  HostPtr any_host_;                   // routes with no host; null when none
  // Names (lower-case) of the headers routes match on, with how many routes
  // match on each, and their lengths.
  StringMap<std::uint32_t> header_names_;
  std::vector<std::uint32_t> header_name_lengths_;  // [length]: how many names have it
};

}  // namespace tg::proxy::routing
