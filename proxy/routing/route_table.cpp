#include "routing/route_table.hpp"

#include "http/char_class.hpp"

#include <algorithm>

namespace tg::proxy::routing {

bool RouteQuery::header(std::string_view lower_name, std::string_view& value) const {
  for (std::uint16_t i = 0; i < header_count; ++i) {
    if (http::iequals(headers[i].name.view(base), lower_name)) {
      value = headers[i].value.view(base);
      return true;
    }
  }
  return false;
}

namespace {
bool method_matches(const std::string& wanted, std::string_view method) {
  return wanted.empty() || wanted == method;
}

void insert_length(std::vector<std::uint32_t>& lengths, std::uint32_t length) {
  if (std::find(lengths.begin(), lengths.end(), length) == lengths.end()) lengths.push_back(length);
}
}  // namespace

std::int32_t RouteTable::MatcherSet::match(const RouteQuery& query) const {
  // Header routes are more specific than plain ones. Among the header routes
  // that match (one candidate per header name at most), a method-specific one
  // beats a method-agnostic one, then the one declared first wins.
  const Candidate* best = nullptr;
  for (const HeaderIndex& index : by_header) {
    std::string_view value;
    if (!query.header(index.name, value)) continue;
    auto it = index.values.find(value);
    if (it == index.values.end()) continue;
    for (const Candidate& c : it->second) {
      if (!method_matches(c.method, query.method)) continue;
      const bool better = !best || (!c.method.empty() && best->method.empty()) ||
                          (c.method.empty() == best->method.empty() && c.route < best->route);
      if (better) best = &c;
      break;  // the list is already in precedence order
    }
  }
  if (best) return static_cast<std::int32_t>(best->route);
  for (const Candidate& c : plain)
    if (method_matches(c.method, query.method)) return static_cast<std::int32_t>(c.route);
  return kNoRoute;
}

std::int32_t RouteTable::HostEntry::match(const RouteQuery& query) const {
  if (!exact_paths.empty()) {
    auto it = exact_paths.find(query.path);
    if (it != exact_paths.end()) {
      std::int32_t r = it->second.match(query);
      if (r != kNoRoute) return r;
    }
  }
  for (std::uint32_t length : prefix_lengths) {
    if (length > query.path.size()) continue;
    auto it = prefixes.find(query.path.substr(0, length));
    if (it == prefixes.end()) continue;
    std::int32_t r = it->second.match(query);
    if (r != kNoRoute) return r;
  }
  return kNoRoute;
}

void RouteTable::add(HostEntry& entry, std::uint32_t index, const config::Route& route) {
  const config::RouteMatch& m = route.match;
  MatcherSet* set;
  if (!m.path_exact.empty()) {
    set = &entry.exact_paths[m.path_exact];
  } else {
    const std::string& prefix = m.path_prefix.empty() ? std::string("/") : m.path_prefix;
    set = &entry.prefixes[prefix];
    insert_length(entry.prefix_lengths, static_cast<std::uint32_t>(prefix.size()));
  }
  Candidate candidate{index, m.method};
  if (m.header) {
    auto it = std::find_if(set->by_header.begin(), set->by_header.end(),
                           [&](const HeaderIndex& h) { return h.name == m.header->name; });
    if (it == set->by_header.end()) {
      set->by_header.push_back(HeaderIndex{m.header->name, {}});
      it = set->by_header.end() - 1;
    }
    it->values[m.header->value].push_back(std::move(candidate));
  } else {
    set->plain.push_back(std::move(candidate));
  }
}

void RouteTable::finish(HostEntry& entry) {
  std::sort(entry.prefix_lengths.begin(), entry.prefix_lengths.end(), std::greater<>());
  // Method-specific candidates before method-agnostic ones; otherwise keep
  // declaration order.
  auto order = [](std::vector<Candidate>& list) {
    std::stable_sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) {
      return !a.method.empty() && b.method.empty();
    });
  };
  auto order_set = [&](MatcherSet& set) {
    order(set.plain);
    for (HeaderIndex& h : set.by_header)
      for (auto& [value, list] : h.values) order(list);
  };
  for (auto& [path, set] : entry.exact_paths) order_set(set);
  for (auto& [prefix, set] : entry.prefixes) order_set(set);
}

RouteTable RouteTable::build(const std::vector<config::Route>& routes) {
  RouteTable table;
  for (std::uint32_t i = 0; i < routes.size(); ++i) {
    const std::string& host = routes[i].match.host;
    if (host.empty()) {
      add(table.any_host_, i, routes[i]);
      table.has_any_host_ = true;
    } else if (host.size() > 2 && host[0] == '*' && host[1] == '.') {
      std::string suffix = host.substr(1);  // ".example.com"
      add(table.wildcard_hosts_[suffix], i, routes[i]);
    } else {
      add(table.exact_hosts_[host], i, routes[i]);
    }
  }
  for (const config::Route& route : routes) {
    if (!route.match.header) continue;
    const std::string& name = route.match.header->name;
    table.header_names_.emplace(name, true);
    if (table.header_name_lengths_.size() <= name.size()) table.header_name_lengths_.resize(name.size() + 1);
    table.header_name_lengths_[name.size()] = true;
  }
  for (auto& [h, entry] : table.exact_hosts_) finish(entry);
  for (auto& [h, entry] : table.wildcard_hosts_) finish(entry);
  finish(table.any_host_);
  return table;
}

bool RouteTable::repeats_routing_header(const RouteQuery& query) const {
  if (header_names_.empty()) return false;
  for (std::uint16_t i = 0; i < query.header_count; ++i) {
    const std::string_view name = query.headers[i].name.view(query.base);
    if (name.size() >= header_name_lengths_.size() || !header_name_lengths_[name.size()]) continue;
    // Names are tokens of at most a few dozen bytes; a longer routing name
    // (rare) is lower-cased into a string.
    char stack[128];
    std::string heap;
    char* lower = stack;
    if (name.size() > sizeof stack) {
      heap.resize(name.size());
      lower = heap.data();
    }
    for (std::size_t k = 0; k < name.size(); ++k) lower[k] = http::to_lower(name[k]);
    if (header_names_.find(std::string_view(lower, name.size())) == header_names_.end()) continue;
    for (std::uint16_t j = i + 1; j < query.header_count; ++j)
      if (http::iequals(query.headers[j].name.view(query.base), std::string_view(lower, name.size()))) return true;
  }
  return false;
}

std::int32_t RouteTable::match(const RouteQuery& query) const {
  if (!exact_hosts_.empty()) {
    auto it = exact_hosts_.find(query.host);
    if (it != exact_hosts_.end()) {
      std::int32_t r = it->second.match(query);
      if (r != kNoRoute) return r;
    }
  }
  // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
  // Each suffix starting at a dot, longest first: cost grows with the labels
  // of the host, not with the routes.
  if (!wildcard_hosts_.empty()) {
    for (std::size_t dot = query.host.find('.', 1); dot != std::string_view::npos;
         dot = query.host.find('.', dot + 1)) {
      auto it = wildcard_hosts_.find(query.host.substr(dot));
      if (it == wildcard_hosts_.end()) continue;
      std::int32_t r = it->second.match(query);
      if (r != kNoRoute) return r;
    }
  }
  if (has_any_host_) return any_host_.match(query);
  return kNoRoute;
}

}  // namespace tg::proxy::routing
