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
                          (c.method.empty() == best->method.empty() && c.rank < best->rank);
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

void RouteTable::add(HostEntry& entry, const Member& route) {
  const config::RouteMatch& m = route.match;
  MatcherSet* set;
  if (!m.path_exact.empty()) {
    set = &entry.exact_paths[m.path_exact];
  } else {
    const std::string& prefix = m.path_prefix.empty() ? std::string("/") : m.path_prefix;
    set = &entry.prefixes[prefix];
    insert_length(entry.prefix_lengths, static_cast<std::uint32_t>(prefix.size()));
  }
  Candidate candidate{route.position, route.rank, m.method};
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

RouteTable::HostPtr RouteTable::make_host(std::vector<Member> members) {
  if (members.empty()) return nullptr;
  auto host = std::make_shared<Host>();
  for (const Member& member : members) add(host->entry, member);
  finish(host->entry);
  host->members = std::move(members);
  return host;
}

RouteTable::HostPtr* RouteTable::slot_for(const std::string& host) {
  if (host.empty()) return &any_host_;
  if (host.size() > 2 && host[0] == '*' && host[1] == '.')
    return &wildcard_hosts_.at(std::string_view(host).substr(1));  // ".example.com"
  return &exact_hosts_.at(host);
}

void RouteTable::count_header(const config::RouteMatch& match, int delta) {
  if (!match.header) return;
  const std::string& name = match.header->name;
  if (header_name_lengths_.size() <= name.size()) header_name_lengths_.resize(name.size() + 1);
  std::uint32_t& count = header_names_[name];
  if (delta > 0 && count++ == 0) ++header_name_lengths_[name.size()];
  if (delta < 0 && count > 0 && --count == 0) {
    header_names_.erase(name);
    --header_name_lengths_[name.size()];
  }
}

RouteTable RouteTable::build(const std::vector<config::Route>& routes) {
  std::vector<Entry> entries;
  entries.reserve(routes.size());
  for (std::uint32_t i = 0; i < routes.size(); ++i) entries.push_back({routes[i].name, &routes[i].match, i});
  return build(entries);
}

RouteTable RouteTable::build(const std::vector<Entry>& routes) {
  RouteTable table;
  // Routes grouped by the host entry they go to, in precedence order.
  std::unordered_map<std::string, std::vector<Member>> hosts;
  for (std::uint32_t i = 0; i < routes.size(); ++i) {
    const Entry& route = routes[i];
    hosts[route.match->host].push_back(Member{std::string(route.name), route.position, i, *route.match});
    table.count_header(*route.match, +1);
  }
  for (auto& [host, members] : hosts) *table.slot_for(host) = make_host(std::move(members));
  return table;
}

RouteTable RouteTable::with_changes(const std::vector<Entry>& removed, const std::vector<Entry>& added) const {
  RouteTable table = *this;
  // The members of each host touched, taken out of its shared entry.
  std::unordered_map<std::string, std::vector<Member>> hosts;
  auto members_of = [&](const std::string& host) -> std::vector<Member>& {
    auto [it, inserted] = hosts.try_emplace(host);
    if (inserted) {
      const HostPtr& entry = *table.slot_for(host);
      if (entry) it->second = entry->members;
    }
    return it->second;
  };
  for (const Entry& route : removed) {
    std::vector<Member>& members = members_of(route.match->host);
    auto it = std::find_if(members.begin(), members.end(), [&](const Member& m) {
      return m.position == route.position && m.name == route.name;
    });
    if (it == members.end()) continue;
    members.erase(it);
    table.count_header(*route.match, -1);
  }
  for (const Entry& route : added) {
    members_of(route.match->host).push_back(Member{std::string(route.name), route.position, 0, *route.match});
    table.count_header(*route.match, +1);
  }
  for (auto& [host, members] : hosts) {
    std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.name < b.name; });
    for (std::uint32_t rank = 0; rank < members.size(); ++rank) members[rank].rank = rank;
    HostPtr entry = make_host(std::move(members));
    if (entry) {
      *table.slot_for(host) = std::move(entry);
    } else if (host.empty()) {
      table.any_host_ = nullptr;
    } else if (host.size() > 2 && host[0] == '*' && host[1] == '.') {
      table.wildcard_hosts_.erase(std::string_view(host).substr(1));
    } else {
      table.exact_hosts_.erase(host);
    }
  }
  return table;
}

bool RouteTable::repeats_routing_header(const RouteQuery& query) const {
  if (header_names_.empty()) return false;
  for (std::uint16_t i = 0; i < query.header_count; ++i) {
    const std::string_view name = query.headers[i].name.view(query.base);
    if (name.size() >= header_name_lengths_.size() || header_name_lengths_[name.size()] == 0) continue;
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
    if (const HostPtr* host = exact_hosts_.find(query.host)) {
      std::int32_t r = (*host)->entry.match(query);
      if (r != kNoRoute) return r;
    }
  }
  // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
  // Each suffix starting at a dot, longest first: cost grows with the labels
  // of the host, not with the routes.
  if (!wildcard_hosts_.empty()) {
    for (std::size_t dot = query.host.find('.', 1); dot != std::string_view::npos;
         dot = query.host.find('.', dot + 1)) {
      const HostPtr* host = wildcard_hosts_.find(query.host.substr(dot));
      if (!host) continue;
      std::int32_t r = (*host)->entry.match(query);
      if (r != kNoRoute) return r;
    }
  }
  if (any_host_) return any_host_->entry.match(query);
  return kNoRoute;
}

}  // namespace tg::proxy::routing
