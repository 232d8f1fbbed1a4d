// Cost of RouteTable::match with 10 and with 10,000 routes (budget in docs/architecture.md: < 1.5×).
// A microbenchmark, not a test: built with the tests, never run by ctest or CI.
//
//   build/bin/route-match-bench [matches per case, default 2000000]
//
// Cases, each with 10 and 10,000 routes of one kind, the queried route in the
// middle of the declaration order, and a miss (404):
//   host      exact host routes (h<i>.example)
//   wildcard  "*.t<i>.example" routes, queried as a.b.t<i>.example
//   prefix    one host, path prefixes /svc<i>/
//   header    header-equality routes (X-Tenant: t<i>), any host
// The end-to-end counterpart (instructions per proxied request with 10 and
// 10,000 routes) is tests/bench/instructions.py, cases routes10/routes10k/headers10k.
#include "routing/route_table.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace tg::proxy;
using namespace tg::proxy::routing;
using tg::config::Route;

namespace {

using Clock = std::chrono::steady_clock;

enum class Kind { host, wildcard, prefix, header };

std::vector<Route> routes_of(Kind kind, int n) {
  std::vector<Route> routes;
  for (int i = 0; i < n; ++i) {
    Route r;
    r.name = "r" + std::to_string(i);
    r.service = "svc";
    switch (kind) {
      case Kind::host:
        r.match.host = "h" + std::to_string(i) + ".example";
        r.match.path_prefix = "/";
        break;
      case Kind::wildcard:
        r.match.host = "*.t" + std::to_string(i) + ".example";
        r.match.path_prefix = "/";
        break;
      case Kind::prefix:
        r.match.host = "api.example";
        r.match.path_prefix = "/svc" + std::to_string(i) + "/";
        break;
      case Kind::header:
        r.match.path_prefix = "/";
        r.match.header = tg::config::HeaderMatch{"x-tenant", "t" + std::to_string(i)};
        break;
    }
    routes.push_back(r);
  }
  return routes;
}

struct Query {
  std::string host, path, header_line;
  std::vector<http::HeaderField> fields;
  RouteQuery query;
};

Query query_for(Kind kind, int target) {
  Query q;
  const std::string n = std::to_string(target);
  q.host = "x.example";
  q.path = "/items/42";
  switch (kind) {
    case Kind::host: q.host = "h" + n + ".example"; break;
    case Kind::wildcard: q.host = "a.b.t" + n + ".example"; break;
    case Kind::prefix:
      q.host = "api.example";
      q.path = "/svc" + n + "/items/42";
      break;
    case Kind::header: break;
  }
  // One header line, as the parser leaves it: spans into a buffer.
  q.header_line = "X-Tenant: t" + n + "\r\n";
  http::HeaderField f;
  f.name = {0, 8};
  f.value = {10, static_cast<std::uint32_t>(q.header_line.size() - 12)};
  f.line = {0, static_cast<std::uint32_t>(q.header_line.size())};
  q.fields.push_back(f);
  q.query.host = q.host;
  q.query.path = q.path;
  q.query.method = "GET";
  q.query.headers = q.fields.data();
  q.query.header_count = 1;
  q.query.base = q.header_line.data();
  return q;
}

double ns_per_match(const RouteTable& table, const RouteQuery& query, int matches, std::int64_t& sink) {
  const auto start = Clock::now();
  for (int i = 0; i < matches; ++i) sink += table.match(query);
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / matches;
}

}  // namespace

int main(int argc, char** argv) {
  const int matches = argc > 1 ? std::atoi(argv[1]) : 2'000'000;
  std::int64_t sink = 0;
  std::printf("%-9s %12s %12s %8s %12s %12s\n", "kind", "10 routes", "10,000", "ratio", "miss 10", "miss 10,000");
  const struct {
    const char* name;
    Kind kind;
  } kinds[] = {{"host", Kind::host}, {"wildcard", Kind::wildcard}, {"prefix", Kind::prefix}, {"header", Kind::header}};
  for (const auto& k : kinds) {
    double hit[2], miss[2];
    const int sizes[2] = {10, 10'000};
    for (int s = 0; s < 2; ++s) {
      const RouteTable table = RouteTable::build(routes_of(k.kind, sizes[s]));
      Query q = query_for(k.kind, sizes[s] / 2);
      if (table.match(q.query) != sizes[s] / 2) {
        std::fprintf(stderr, "route-match-bench: %s with %d routes matched %d, expected %d\n", k.name, sizes[s],
                     table.match(q.query), sizes[s] / 2);
        return 1;
      }
      hit[s] = ns_per_match(table, q.query, matches, sink);
      Query m = query_for(k.kind, sizes[s] + 1);  // no such route
      miss[s] = ns_per_match(table, m.query, matches, sink);
    }
    std::printf("%-9s %9.1f ns %9.1f ns %7.2fx %9.1f ns %9.1f ns\n", k.name, hit[0], hit[1], hit[1] / hit[0], miss[0],
                miss[1]);
  }
  return sink == 42 ? 1 : 0;  // keeps the loops from being optimised away
}
