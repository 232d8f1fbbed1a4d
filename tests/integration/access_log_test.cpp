// The access log (contract "Access log"): one JSON object per request line,
// flushed by size or time (≤ ~1 s), with the contract's fields.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/tcp_socket.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>

#include <regex>

using namespace tg::itest;
namespace json = boost::json;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a partial line is not written yet
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Waits until the access log holds `count` complete lines; returns them parsed.
std::vector<json::object> wait_for_entries(const ProxyProcess& proxy, std::size_t count) {
  std::vector<std::string> lines;
  poll_for(3s, [&] {
    lines = lines_of(read_file(proxy.access_log_path()));
    return lines.size() >= count;
  }, 20ms);
  INFO("access log:\n" << read_file(proxy.access_log_path()));
  REQUIRE(lines.size() == count);
  std::vector<json::object> entries;
  for (const std::string& line : lines) {
    INFO("line: " << line);
    json::error_code ec;
    json::value value = json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(value.is_object());
    entries.push_back(std::move(value.as_object()));
  }
  return entries;
}

std::string str(const json::object& entry, const char* field) {
  const json::value* value = entry.if_contains(field);
  if (value == nullptr || !value->is_string()) return "<missing or not a string>";
  return std::string(value->as_string());
}

double num(const json::object& entry, const char* field) {
  const json::value* value = entry.if_contains(field);
  if (value == nullptr || !value->is_number()) return -1e9;
  return value->to_number<double>();
}

}  // namespace

TEST_CASE("access log: --access-log writes one JSON line per request with the contract's fields", "[proxy][access-log]") {
  Backend backend("b1");
  backend.on_path("/app/fail", Behaviour::fixed(503, "down"));
  // The forwarded request waits this long at the backend, so its times have a
  // known lower bound (the proxy cannot finish before the backend answers).
  constexpr auto backend_delay = 150ms;
  backend.on_path("/app/items", Behaviour::echo().with_delay(backend_delay));
  ProxyOptions options;
  options.access_log = true;
  options.extra_args = {"--trust-request-id"};  // the client's X-Request-Id is kept (loopback is no trusted proxy)
  ProxyProcess proxy(ConfigYaml().service("svc", {backend.address()}).route("main", "{ path_prefix: /app/ }", "svc").str(),
                     options);
  HttpClient client(proxy.port());
  const HttpResponse ok = client.post("/app/items?x=1", "hello", {{"X-Request-Id", "log-test-1"}});
  REQUIRE(ok.status == 200);
  const HttpResponse failed = client.get("/app/fail");
  REQUIRE(failed.status == 503);
  const HttpResponse no_route = client.get("/nowhere");
  REQUIRE(no_route.status == 404);

  const std::vector<json::object> entries = wait_for_entries(proxy, 3);
  const std::string client_address = "127.0.0.1:" + std::to_string(client.local_port());
  const std::regex iso_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z)");

  SECTION("a forwarded request") {
    const json::object& entry = entries[0];
    INFO(json::serialize(entry));
    CHECK(std::regex_match(str(entry, "time"), iso_time));
    CHECK(str(entry, "request_id") == "log-test-1");
    CHECK(str(entry, "client") == client_address);
    CHECK(str(entry, "method") == "POST");
    CHECK(str(entry, "path") == "/app/items");
    CHECK(str(entry, "route") == "main");
    CHECK(str(entry, "instance") == "svc/" + backend.address());
    CHECK(num(entry, "status") == 200);
    CHECK(num(entry, "bytes_in") == 5);
    CHECK(num(entry, "bytes_out") >= static_cast<double>(ok.body.size()));
    CHECK(num(entry, "upstream_ms") >= static_cast<double>(backend_delay.count()));
    CHECK(num(entry, "duration_ms") >= num(entry, "upstream_ms"));
    CHECK(str(entry, "error") == "");
  }
  SECTION("an upstream status is logged as it was answered") {
    const json::object& entry = entries[1];
    INFO(json::serialize(entry));
    CHECK(str(entry, "method") == "GET");
    CHECK(str(entry, "path") == "/app/fail");
    CHECK(num(entry, "status") == 503);
    CHECK(str(entry, "request_id") == failed.header("x-request-id"));
    CHECK(str(entry, "error") == "");  // the backend's 503, not a proxy error
  }
  SECTION("a proxy error names its kind") {
    const json::object& entry = entries[2];
    INFO(json::serialize(entry));
    CHECK(str(entry, "path") == "/nowhere");
    CHECK(str(entry, "route") == "");
    CHECK(num(entry, "status") == 404);
    CHECK(str(entry, "error") == "no_route");
    CHECK(num(entry, "upstream_ms") == 0);  // no upstream was tried
    CHECK(str(entry, "request_id") == no_route.header("x-request-id"));
  }
}

TEST_CASE("access log: a refused head is logged with the client and what was parsed", "[proxy][access-log]") {
  Backend backend("b1");
  ProxyOptions options;
  options.access_log = true;
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  HttpClient client(proxy.port());
  // The request line and Host parse; the header line without a colon does not.
  client.send("GET /refused?token=x HTTP/1.1\r\nHost: a.test\r\nNo colon here\r\n\r\n");
  check_error_response(client.read_response(), 400, "bad_request");
  const std::vector<json::object> entries = wait_for_entries(proxy, 1);
  REQUIRE(entries.size() == 1);
  const json::object& entry = entries[0];
  CHECK(str(entry, "client").rfind("127.0.0.1:", 0) == 0);
  CHECK(str(entry, "method") == "GET");
  CHECK(str(entry, "host") == "a.test");
  CHECK(str(entry, "path") == "/refused");  // the query is never logged
  CHECK(num(entry, "status") == 400);
  CHECK(str(entry, "error") == "bad_request");
  CHECK(str(entry, "phase") == "read_head");
}

TEST_CASE("access log: --access-log lines appear without more traffic (time-based flush)", "[proxy][access-log]") {
  Backend backend("b1");
  ProxyOptions options;
  options.access_log = true;
  options.workers = 2;
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  {
    HttpClient client(proxy.port());
    REQUIRE(client.get("/one").status == 200);
  }
  const auto start = Clock::now();
  const std::vector<json::object> entries = wait_for_entries(proxy, 1);
  CHECK(elapsed_ms(start) < 2000);
  CHECK(str(entries[0], "path") == "/one");
}

TEST_CASE("upstream failures are logged with their error kind", "[proxy][access-log]") {
  ClosedPort closed;
  ProxyOptions options;
  options.access_log = true;
  ProxyProcess proxy(single_service_config({closed.address()}, {"retry: { attempts: 1 }"}), options);
  HttpClient client(proxy.port());
  REQUIRE(client.get("/x").status == 502);
  const std::vector<json::object> entries = wait_for_entries(proxy, 1);
  INFO(json::serialize(entries[0]));
  CHECK(num(entries[0], "status") == 502);
  CHECK(str(entries[0], "error") == "connect_failure");
  CHECK(str(entries[0], "route") == "all");
}

TEST_CASE("access log: --access-log - writes the lines to stdout", "[proxy][access-log]") {
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--access-log", "-", "--trust-request-id"};
  options.log_level = "warn";
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  HttpClient client(proxy.port());
  REQUIRE(client.get("/to-stdout", {{"X-Request-Id", "stdout-line"}}).status == 200);
  // stdout goes to the proxy's log file here.
  std::string line;
  const bool found = poll_for(3s, [&] {
    for (const std::string& candidate : lines_of(proxy.process().read_log())) {
      if (candidate.find("\"stdout-line\"") != std::string::npos) {
        line = candidate;
        return true;
      }
    }
    return false;
  }, 20ms);
  INFO(proxy.process().read_log());
  REQUIRE(found);
  json::error_code ec;
  const json::value entry = json::parse(line, ec);
  REQUIRE_FALSE(ec);
  CHECK(str(entry.as_object(), "path") == "/to-stdout");
  CHECK(num(entry.as_object(), "status") == 200);
}

TEST_CASE("access log: lines name the host, service, tenant and upstream address", "[proxy][access-log]") {
  Backend backend("b1");
  ProxyOptions options;
  options.access_log = true;
  ProxyProcess proxy("tenants:\n  - id: acme\n" + ConfigYaml()
                                                        .service("acme-svc", {backend.address()}, {"tenant: acme"})
                                                        .route("acme", "{ host: acme.test }", "acme-svc")
                                                        .str(),
                     options);
  HttpClient client(proxy.port());
  REQUIRE(client.get("/hello", {{"Host", "Acme.test:8080"}}).status == 200);
  REQUIRE(client.get("/hello", {{"Host", "other.test"}}).status == 404);

  const std::vector<json::object> entries = wait_for_entries(proxy, 2);
  const json::object& routed = entries[0];
  INFO(json::serialize(routed));
  CHECK(str(routed, "host") == "Acme.test:8080");  // as received
  CHECK(str(routed, "route") == "acme");
  CHECK(str(routed, "service") == "acme-svc");
  CHECK(str(routed, "tenant") == "acme");
  CHECK(str(routed, "instance") == "acme-svc/" + backend.address());
  CHECK(str(routed, "upstream") == backend.address());

  const json::object& unrouted = entries[1];
  INFO(json::serialize(unrouted));
  CHECK(str(unrouted, "host") == "other.test");
  CHECK(str(unrouted, "route") == "");
  CHECK(str(unrouted, "service") == "");
  CHECK(str(unrouted, "tenant") == "");
  CHECK(str(unrouted, "upstream") == "");
}

TEST_CASE("access log: bytes_out of a local error is the length of its JSON body", "[proxy][access-log]") {
  ClosedPort closed;
  ProxyOptions options;
  options.access_log = true;
  ProxyProcess proxy(ConfigYaml()
                         .service("dead", {closed.address()}, {"retry: { attempts: 1 }"})
                         .route("dead", "{ path_prefix: /dead/ }", "dead")
                         .str(),
                     options);
  HttpClient client(proxy.port());
  const HttpResponse no_route = client.get("/nowhere");
  REQUIRE(no_route.status == 404);
  const HttpResponse bad_gateway = client.get("/dead/x");
  REQUIRE(bad_gateway.status == 502);

  const std::vector<json::object> entries = wait_for_entries(proxy, 2);
  INFO(json::serialize(entries[0]) << "\n" << json::serialize(entries[1]));
  CHECK_FALSE(no_route.body.empty());
  CHECK(str(entries[0], "error") == "no_route");
  CHECK(num(entries[0], "bytes_out") == static_cast<double>(no_route.body.size()));
  CHECK(str(entries[1], "error") == "connect_failure");
  CHECK(num(entries[1], "bytes_out") == static_cast<double>(bad_gateway.body.size()));
  CHECK(str(entries[1], "upstream") == closed.address());
}
