// libFuzzer target: RouteTable::build and match (tests/fuzz/README.md).
//
// The first bytes pick a few routes from small vocabularies (hosts, wildcard
// hosts, path prefixes, exact paths, methods, header matchers); the remaining
// bytes pick queries. For every query: the result is -1 or a valid index; the
// matched route's matchers really hold; and -1 only when no route matches.
#include "config/model.hpp"
#include "http/message_head.hpp"
#include "routing/route_table.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace http = tg::proxy::http;
using tg::proxy::routing::RouteQuery;
using tg::proxy::routing::RouteTable;

namespace {

constexpr std::string_view kRouteHosts[] = {"", "example.com", "api.example.com", "*.example.com",
                                            "*.b.example.com", "other.org", ""};
constexpr std::string_view kPrefixes[] = {"", "/", "/api", "/api/", "/api/v1", "/static", "/a"};
constexpr std::string_view kExact[] = {"/", "/api", "/health", "/api/v1/users", "/a"};
constexpr std::string_view kMethods[] = {"", "GET", "POST", "DELETE", ""};
struct HeaderRule { std::string_view name, value; };
constexpr HeaderRule kHeaderRules[] = {{"x-tenant", "a"}, {"x-tenant", "b"}, {"x-env", "prod"}, {"x-env", ""}};

constexpr std::string_view kQueryHosts[] = {"example.com",  "api.example.com", "x.api.example.com", "b.example.com",
                                            "a.b.example.com", "other.org", "unknown.net", ".example.com",
                                            "example.com.evil", "", "xexample.com"};
constexpr std::string_view kQueryPaths[] = {"/",        "/api",     "/api/",  "/api/v1",  "/api/v1/users",
                                            "/apix",    "/health",  "/static/x", "/a",    "/ab",
                                            "",         "/health/", "/api/v1x"};
constexpr std::string_view kQueryMethods[] = {"GET", "POST", "DELETE", "PUT", "get", ""};
constexpr std::string_view kHeaderNames[] = {"X-Tenant", "x-tenant", "X-ENV", "x-env", "other"};
constexpr std::string_view kHeaderValues[] = {"a", "b", "prod", "", "A", "prod "};

template <typename T, std::size_t N>
const T& pick(const T (&list)[N], std::uint8_t byte) { return list[byte % N]; }

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

void fail(const char* what, std::int32_t index) {
  std::fprintf(stderr, "fuzz_route_table: invariant violated: %s (route %d)\n", what, index);
  std::abort();
}

bool route_holds(const tg::config::Route& route, const RouteQuery& q) {
  const tg::config::RouteMatch& m = route.match;
  if (!m.host.empty()) {
    if (m.host.size() > 2 && m.host[0] == '*' && m.host[1] == '.') {
      std::string_view suffix = std::string_view(m.host).substr(1);  // ".example.com"
      if (!(q.host.size() > suffix.size() && q.host.ends_with(suffix))) return false;
    } else if (q.host != m.host) {
      return false;
    }
  }
  if (!m.path_exact.empty()) {
    if (q.path != m.path_exact) return false;
  } else {
    std::string_view prefix = m.path_prefix.empty() ? std::string_view("/") : std::string_view(m.path_prefix);
    if (!q.path.starts_with(prefix)) return false;
  }
  if (!m.method.empty() && q.method != m.method) return false;
  if (m.header) {
    std::string_view value;
    if (!q.header(m.header->name, value) || value != m.header->value) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  std::vector<tg::config::Route> routes;
  const std::size_t count = 1 + in.next() % 8;
  for (std::size_t i = 0; i < count; ++i) {
    tg::config::Route r;
    r.name = "r" + std::to_string(i);
    r.service = "svc";
    const std::uint8_t shape = in.next();
    r.match.host = std::string(pick(kRouteHosts, in.next()));
    if (shape & 1) r.match.path_exact = std::string(pick(kExact, in.next()));
    else r.match.path_prefix = std::string(pick(kPrefixes, in.next()));
    r.match.method = std::string(pick(kMethods, in.next()));
    if (shape & 2) {
      const HeaderRule& h = pick(kHeaderRules, in.next());
      r.match.header = tg::config::HeaderMatch{std::string(h.name), std::string(h.value)};
    }
    routes.push_back(std::move(r));
  }
  const RouteTable table = RouteTable::build(routes);

  while (!in.empty()) {
    // Header lines for this query in one buffer the spans point into.
    std::string buffer;
    http::HeaderField headers[3];
    const std::uint8_t shape = in.next();
    const std::uint16_t header_count = static_cast<std::uint16_t>(shape % 4 == 3 ? 0 : shape % 4);
    for (std::uint16_t k = 0; k < header_count; ++k) {
      std::string_view name = pick(kHeaderNames, in.next());
      std::string_view value = pick(kHeaderValues, in.next());
      headers[k].name = {static_cast<std::uint32_t>(buffer.size()), static_cast<std::uint32_t>(name.size())};
      buffer += name;
      buffer += ": ";
      headers[k].value = {static_cast<std::uint32_t>(buffer.size()), static_cast<std::uint32_t>(value.size())};
      buffer += value;
      buffer += "\r\n";
    }
    RouteQuery q;
    q.host = pick(kQueryHosts, in.next());
    q.path = pick(kQueryPaths, in.next());
    q.method = pick(kQueryMethods, in.next());
    q.headers = headers;
    q.header_count = header_count;
    q.base = buffer.data();

    const std::int32_t r = table.match(q);
    if (r != RouteTable::kNoRoute) {
      if (r < 0 || static_cast<std::size_t>(r) >= routes.size()) fail("index out of range", r);
      if (!route_holds(routes[static_cast<std::size_t>(r)], q)) fail("matched route's matchers do not hold", r);
    } else {
      for (std::size_t i = 0; i < routes.size(); ++i)
        if (route_holds(routes[i], q)) fail("no route returned although one matches", static_cast<std::int32_t>(i));
    }
  }
  return 0;
}
