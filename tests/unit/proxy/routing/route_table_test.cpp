// Route selection (proxy/routing/route_table.cpp): host, path, method and
// header precedence, ties, fallbacks, and a large header-indexed table.
#include "routing/route_table.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using tg::config::HeaderMatch;
using tg::config::Route;
using tg::proxy::http::HeaderField;
using tg::proxy::routing::RouteQuery;
using tg::proxy::routing::RouteTable;

namespace {

struct RouteSpec {
  std::string host = {};
  std::string prefix = {};  // empty with exact empty: the default "/"
  std::string exact = {};
  std::string method = {};
  std::string header_name = {};  // lower-case, as the loader stores it
  std::string header_value = {};
};

Route make_route(const RouteSpec& spec, std::size_t index) {
  Route r;
  r.name = "r" + std::to_string(index);
  r.service = "svc";
  r.match.host = spec.host;
  r.match.path_prefix = spec.prefix;
  r.match.path_exact = spec.exact;
  r.match.method = spec.method;
  if (!spec.header_name.empty()) r.match.header = HeaderMatch{spec.header_name, spec.header_value};
  return r;
}

RouteTable build(const std::vector<RouteSpec>& specs) {
  std::vector<Route> routes;
  for (std::size_t i = 0; i < specs.size(); ++i) routes.push_back(make_route(specs[i], i));
  return RouteTable::build(routes);
}

// A request as routing sees it; headers live in one buffer like a parsed head.
class Request {
 public:
  Request(std::string host, std::string path, std::string method = "GET")
      : host_(std::move(host)), path_(std::move(path)), method_(std::move(method)) {}

  Request& header(const std::string& name, const std::string& value) {
    HeaderField f;
    f.name = {static_cast<std::uint32_t>(buffer_.size()), static_cast<std::uint32_t>(name.size())};
    buffer_ += name + ": ";
    f.value = {static_cast<std::uint32_t>(buffer_.size()), static_cast<std::uint32_t>(value.size())};
    buffer_ += value + "\r\n";
    fields_.push_back(f);
    return *this;
  }

  RouteQuery query() const {
    RouteQuery q;
    q.host = host_;
    q.path = path_;
    q.method = method_;
    q.headers = fields_.data();
    q.header_count = static_cast<std::uint16_t>(fields_.size());
    q.base = buffer_.data();
    return q;
  }

 private:
  std::string host_, path_, method_, buffer_;
  std::vector<HeaderField> fields_;
};

std::int32_t match(const RouteTable& table, const Request& request) { return table.match(request.query()); }

constexpr std::int32_t kNone = RouteTable::kNoRoute;

}  // namespace

TEST_CASE("an empty table matches nothing", "[proxy][routing]") {
  RouteTable table = build({});
  CHECK(match(table, Request("h", "/")) == kNone);
}

TEST_CASE("exact host, then *.suffix, then any host", "[proxy][routing]") {
  RouteTable table = build({
      {.host = ""},                     // 0
      {.host = "*.example.com"},        // 1
      {.host = "a.example.com"},        // 2
      {.host = "*.deep.example.com"},   // 3
  });
  CHECK(match(table, Request("a.example.com", "/")) == 2);
  CHECK(match(table, Request("b.example.com", "/")) == 1);
  CHECK(match(table, Request("a.b.example.com", "/")) == 1);
  CHECK(match(table, Request("x.deep.example.com", "/")) == 3);   // the longer suffix first
  CHECK(match(table, Request("deep.example.com", "/")) == 1);
  CHECK(match(table, Request("example.com", "/")) == 0);          // not the wildcard's own domain
  CHECK(match(table, Request("xexample.com", "/")) == 0);
  CHECK(match(table, Request("other.org", "/")) == 0);
  CHECK(match(table, Request("", "/")) == 0);
}

TEST_CASE("without an any-host route an unknown host matches nothing", "[proxy][routing]") {
  RouteTable table = build({{.host = "*.example.com"}, {.host = "a.example.org"}});
  CHECK(match(table, Request("example.com", "/")) == kNone);
  CHECK(match(table, Request("b.example.org", "/")) == kNone);
  CHECK(match(table, Request("a.example.org", "/")) == 1);
  CHECK(match(table, Request("a.example.com", "/")) == 0);
}

TEST_CASE("a host whose routes do not match falls back to wildcard and any-host routes", "[proxy][routing]") {
  RouteTable table = build({
      {.host = "a.example.com", .exact = "/only"},  // 0
      {.host = "*.example.com", .prefix = "/w"},    // 1
      {.host = "", .prefix = "/"},                  // 2
  });
  CHECK(match(table, Request("a.example.com", "/only")) == 0);
  CHECK(match(table, Request("a.example.com", "/w/x")) == 1);
  CHECK(match(table, Request("a.example.com", "/x")) == 2);
}

TEST_CASE("exact path beats prefix, longest prefix wins, prefixes are byte-wise", "[proxy][routing]") {
  RouteTable table = build({
      {.prefix = "/"},           // 0
      {.prefix = "/api"},        // 1
      {.prefix = "/api/v1/"},    // 2
      {.exact = "/api/v1/ping"}, // 3
      {.exact = "/api"},         // 4
  });
  CHECK(match(table, Request("h", "/api/v1/ping")) == 3);
  CHECK(match(table, Request("h", "/api/v1/ping/x")) == 2);
  CHECK(match(table, Request("h", "/api/v1/")) == 2);
  CHECK(match(table, Request("h", "/api/v1")) == 1);
  CHECK(match(table, Request("h", "/api")) == 4);
  CHECK(match(table, Request("h", "/apix")) == 1);
  CHECK(match(table, Request("h", "/ap")) == 0);
  CHECK(match(table, Request("h", "/API")) == 0);  // case-sensitive
  CHECK(match(table, Request("h", "")) == kNone);
}

TEST_CASE("the default match is prefix /", "[proxy][routing]") {
  RouteTable table = build({{.prefix = "/a"}, {}});
  CHECK(match(table, Request("h", "/b")) == 1);
  CHECK(match(table, Request("h", "/a")) == 0);
}

TEST_CASE("method-specific routes before any-method routes on the same path", "[proxy][routing]") {
  RouteTable table = build({
      {.prefix = "/"},                    // 0
      {.prefix = "/", .method = "GET"},   // 1
      {.prefix = "/", .method = "POST"},  // 2
      {.prefix = "/", .method = "GET"},   // 3: shadowed by 1
  });
  CHECK(match(table, Request("h", "/", "GET")) == 1);
  CHECK(match(table, Request("h", "/", "POST")) == 2);
  CHECK(match(table, Request("h", "/", "DELETE")) == 0);
  CHECK(match(table, Request("h", "/", "get")) == 0);  // methods are case-sensitive

  RouteTable only_post = build({{.prefix = "/", .method = "POST"}});
  CHECK(match(only_post, Request("h", "/", "GET")) == kNone);
}

TEST_CASE("header equality: name case-insensitive, value case-sensitive", "[proxy][routing]") {
  RouteTable table = build({
      {.prefix = "/", .header_name = "x-tenant", .header_value = "acme"},  // 0
      {.prefix = "/"},                                                     // 1
      {.prefix = "/", .header_name = "x-tenant", .header_value = ""},      // 2
  });
  CHECK(match(table, Request("h", "/").header("X-Tenant", "acme")) == 0);
  CHECK(match(table, Request("h", "/").header("X-TENANT", "acme")) == 0);
  CHECK(match(table, Request("h", "/").header("x-tenant", "Acme")) == 1);
  CHECK(match(table, Request("h", "/").header("x-tenant", "acme ")) == 1);
  CHECK(match(table, Request("h", "/").header("x-tenants", "acme")) == 1);
  CHECK(match(table, Request("h", "/")) == 1);
  CHECK(match(table, Request("h", "/").header("X-Tenant", "")) == 2);  // present and empty
  // Only the first header of that name is looked at.
  CHECK(match(table, Request("h", "/").header("X-Tenant", "other").header("X-Tenant", "acme")) == 1);
}

TEST_CASE("header and method together", "[proxy][routing]") {
  RouteTable table = build({
      {.prefix = "/", .method = "POST", .header_name = "x-t", .header_value = "1"},  // 0
      {.prefix = "/", .header_name = "x-t", .header_value = "1"},                    // 1
      {.prefix = "/", .method = "GET"},                                              // 2
  });
  CHECK(match(table, Request("h", "/", "POST").header("x-t", "1")) == 0);
  CHECK(match(table, Request("h", "/", "GET").header("x-t", "1")) == 1);  // header route beats plain
  CHECK(match(table, Request("h", "/", "GET").header("x-t", "2")) == 2);
  CHECK(match(table, Request("h", "/", "PUT")) == kNone);
}

TEST_CASE("a longer prefix whose matchers fail falls back to a shorter one", "[proxy][routing]") {
  RouteTable table = build({
      {.prefix = "/api/", .header_name = "x-beta", .header_value = "1"},  // 0
      {.prefix = "/api/", .method = "POST"},                              // 1
      {.prefix = "/api"},                                                 // 2
      {.exact = "/api/x", .method = "PUT"},                               // 3
      {.prefix = "/", .method = "DELETE"},                                // 4
  });
  CHECK(match(table, Request("h", "/api/x", "GET").header("X-Beta", "1")) == 0);
  CHECK(match(table, Request("h", "/api/x", "POST")) == 1);
  CHECK(match(table, Request("h", "/api/x", "GET")) == 2);
  CHECK(match(table, Request("h", "/api/x", "PUT")) == 3);
  CHECK(match(table, Request("h", "/x", "GET")) == kNone);
  CHECK(match(table, Request("h", "/x", "DELETE")) == 4);
}

TEST_CASE("first declared wins among equally specific routes", "[proxy][routing]") {
  RouteTable plain = build({{.prefix = "/a"}, {.prefix = "/a"}});
  CHECK(match(plain, Request("h", "/a")) == 0);
  RouteTable exact = build({{.exact = "/a", .method = "GET"}, {.exact = "/a", .method = "GET"}});
  CHECK(match(exact, Request("h", "/a")) == 0);
  RouteTable header = build({
      {.prefix = "/", .header_name = "x-t", .header_value = "1"},
      {.prefix = "/", .header_name = "x-t", .header_value = "1"},
  });
  CHECK(match(header, Request("h", "/").header("x-t", "1")) == 0);
  RouteTable hosts = build({{.host = "*.a.com"}, {.host = "*.a.com"}, {.host = "x.a.com"}, {.host = "x.a.com"}});
  CHECK(match(hosts, Request("x.a.com", "/")) == 2);
  CHECK(match(hosts, Request("y.a.com", "/")) == 0);
}

// Regression (fixed): header matchers are grouped by header name and the groups
// are tried in the order their name first appeared, so a later route on an
// earlier-seen header name beats an earlier route on another header name.
// route_table.hpp promises "among equally specific routes the one declared
// first wins": here route 1 (declared before route 2) should win.
TEST_CASE("first declared wins among header routes on different header names",
          "[proxy][routing]") {
  RouteTable table = build({
      {.prefix = "/", .header_name = "x-a", .header_value = "1"},  // 0
      {.prefix = "/", .header_name = "x-b", .header_value = "2"},  // 1
      {.prefix = "/", .header_name = "x-a", .header_value = "3"},  // 2
  });
  CHECK(match(table, Request("h", "/").header("x-a", "3").header("x-b", "2")) == 1);
}

TEST_CASE("10,000 header routes on one prefix still pick the right one", "[proxy][routing]") {
  constexpr int kRoutes = 10'000;
  std::vector<RouteSpec> specs;
  for (int i = 0; i < kRoutes; ++i)
    specs.push_back({.prefix = "/svc/", .header_name = "x-tenant-id", .header_value = "tenant-" + std::to_string(i)});
  specs.push_back({.prefix = "/svc/"});                 // kRoutes: fallback
  specs.push_back({.prefix = "/svc/", .method = "GET",  // kRoutes + 1: GET and tenant-77 only
                   .header_name = "x-tenant-id", .header_value = "tenant-77"});
  RouteTable table = build(specs);
  for (int i = 0; i < kRoutes; ++i) {
    if (i == 77) continue;
    const std::int32_t got = match(table, Request("h", "/svc/x").header("X-Tenant-ID", "tenant-" + std::to_string(i)));
    if (got != i) FAIL("tenant-" << i << " matched " << got);
  }
  CHECK(match(table, Request("h", "/svc/x", "GET").header("X-Tenant-ID", "tenant-77")) == kRoutes + 1);
  CHECK(match(table, Request("h", "/svc/x", "POST").header("X-Tenant-ID", "tenant-77")) == 77);
  CHECK(match(table, Request("h", "/svc/x").header("X-Tenant-ID", "tenant-10000")) == kRoutes);
  CHECK(match(table, Request("h", "/svc/x")) == kRoutes);
  CHECK(match(table, Request("h", "/other")) == kNone);
}

TEST_CASE("RouteQuery::header finds the first header by lower-case name", "[proxy][routing]") {
  Request r("h", "/");
  r.header("Accept", "a").header("X-Tenant", "one").header("x-tenant", "two");
  RouteQuery q = r.query();
  std::string_view value = "unchanged";
  CHECK(q.header("x-tenant", value));
  CHECK(value == "one");
  CHECK_FALSE(q.header("x-missing", value));
  CHECK(value == "one");
}

TEST_CASE("a header routes match on, sent twice, is reported", "[proxy][routing]") {
  RouteTable table = build({
      {.host = "a.example", .header_name = "x-tenant-id", .header_value = "acme"},
      {.host = "b.example", .header_name = "x-plan", .header_value = "gold"},
      {.host = "c.example"},
  });
  auto repeats = [&](const Request& r) { return table.repeats_routing_header(r.query()); };
  // Any host, any values, any spelling of the name: the request is ambiguous
  // wherever it goes.
  CHECK(repeats(Request("a.example", "/").header("X-Tenant-ID", "acme").header("X-Tenant-ID", "acme")));
  CHECK(repeats(Request("c.example", "/").header("x-tenant-id", "acme").header("X-TENANT-ID", "evil")));
  CHECK(repeats(Request("a.example", "/").header("X-Plan", "gold").header("Accept", "*/*").header("x-plan", "")));
  CHECK(repeats(Request("a.example", "/").header("X-Tenant-ID", "acme").header("X-Plan", "a").header("X-Plan", "b")));
  // Once each, or repeated headers no route looks at: not ambiguous.
  CHECK_FALSE(repeats(Request("a.example", "/").header("X-Tenant-ID", "acme").header("X-Plan", "gold")));
  CHECK_FALSE(repeats(Request("a.example", "/").header("Accept", "a").header("Accept", "b")));
  CHECK_FALSE(repeats(Request("a.example", "/").header("X-Tenant-I", "a").header("X-Tenant-I", "b")));
  CHECK_FALSE(repeats(Request("a.example", "/").header("X-Tenant-IDs", "a").header("X-Tenant-IDs", "b")));
  CHECK_FALSE(repeats(Request("a.example", "/")));
}

TEST_CASE("a table without header routes never reports a repeat", "[proxy][routing]") {
  RouteTable table = build({{.host = "a.example"}, {.prefix = "/api/"}});
  CHECK_FALSE(table.repeats_routing_header(Request("a.example", "/").header("X-Tenant-ID", "a").header("X-Tenant-ID", "b").query()));
}

TEST_CASE("a long routing header name is compared in full", "[proxy][routing]") {
  const std::string name(200, 'n');
  RouteTable table = build({{.header_name = name, .header_value = "v"}});
  CHECK(table.repeats_routing_header(Request("h", "/").header(name, "a").header(std::string(200, 'N'), "b").query()));
  std::string other = name;
  other.back() = 'm';
  CHECK_FALSE(table.repeats_routing_header(Request("h", "/").header(name, "a").header(other, "b").query()));
}
