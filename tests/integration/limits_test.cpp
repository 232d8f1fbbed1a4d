// Request limits: head size and header count (431), body size (413), and the
// header-read deadline against slow clients.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"

using namespace tg::itest;

namespace {

std::string limited_config(const Backend& backend) {
  return single_service_config({backend.address()}, {"limits: { max_body: 1KiB }", "retry: { attempts: 1 }"});
}

}  // namespace

TEST_CASE("a request head over --max-header-bytes gets 431", "[proxy][limits]") {
  Backend backend("b1");
  ProxyProcess proxy(limited_config(backend));

  SECTION("default limit 16384") {
    HttpClient client(proxy.port());
    const HttpResponse response = client.get("/big", {{"X-Big", std::string(20'000, 'a')}});
    check_error_response(response, 431, "headers_too_large");
    CHECK(backend.requests() == 0);
  }
  SECTION("just under the default limit passes") {
    HttpClient client(proxy.port());
    const HttpResponse response = client.get("/big", {{"X-Big", std::string(12'000, 'a')}});
    CHECK(response.status == 200);
    CHECK(parse_echo(response).headers.value("x-big").size() == 12'000);
  }
  SECTION("a huge request line") {
    HttpClient client(proxy.port());
    const HttpResponse response = client.get("/" + std::string(20'000, 'p'));
    check_error_response(response, 431, "headers_too_large");
    CHECK(backend.requests() == 0);
  }
}

TEST_CASE("limits: --max-header-bytes and --max-headers set the limits", "[proxy][limits]") {
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--max-header-bytes", "2048", "--max-headers", "20"};
  ProxyProcess proxy(limited_config(backend), options);

  SECTION("bytes") {
    HttpClient client(proxy.port());
    check_error_response(client.get("/x", {{"X-Big", std::string(3000, 'a')}}), 431, "headers_too_large");
    HttpClient ok(proxy.port());
    CHECK(ok.get("/x", {{"X-Big", std::string(1000, 'a')}}).status == 200);
  }
  SECTION("count") {
    HeaderList many;
    for (int i = 0; i < 25; ++i) many.add("X-H" + std::to_string(i), "v");
    HttpClient client(proxy.port());
    check_error_response(client.get("/x", many), 431, "headers_too_large");
    HeaderList few;
    for (int i = 0; i < 10; ++i) few.add("X-H" + std::to_string(i), "v");
    HttpClient ok(proxy.port());
    CHECK(ok.get("/x", few).status == 200);
  }
}

TEST_CASE("more headers than the default 100 gets 431", "[proxy][limits]") {
  Backend backend("b1");
  ProxyProcess proxy(limited_config(backend));
  HeaderList headers;
  for (int i = 0; i < 150; ++i) headers.add("X-Header-" + std::to_string(i), "v");
  HttpClient client(proxy.port());
  check_error_response(client.get("/many", headers), 431, "headers_too_large");
  CHECK(backend.requests() == 0);
}

TEST_CASE("a body over the service's limits.max_body gets 413", "[proxy][limits]") {
  Backend backend("b1");
  ProxyProcess proxy(limited_config(backend));

  SECTION("declared by Content-Length") {
    HttpClient client(proxy.port());
    const HttpResponse response = client.post("/up", std::string(2048, 'x'));
    check_error_response(response, 413, "body_too_large");
    CHECK(backend.requests() == 0);
  }
  SECTION("declared by Content-Length, body not sent yet") {
    // The proxy decides from the head alone; it must not wait for the body.
    HttpClient client(proxy.port(), 3s);
    client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n");
    check_error_response(client.read_response(), 413, "body_too_large");
    CHECK(backend.requests() == 0);
  }
  SECTION("chunked, exceeding while streaming") {
    HttpClient client(proxy.port());
    client.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 4; ++i) client.send_chunk(std::string(512, 'x'));  // 2 KiB > 1 KiB
    client.send_last_chunk();
    check_error_response(client.read_response(), 413, "body_too_large");
    // The backend never answered a request with a body over the limit.
    CHECK(backend.responses_completed() == 0);
  }
  SECTION("exactly the limit passes") {
    HttpClient client(proxy.port());
    const HttpResponse response = client.post("/up", std::string(1024, 'x'));
    REQUIRE(response.status == 200);
    CHECK(parse_echo(response).body_length == 1024);
    HttpClient chunked(proxy.port());
    chunked.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    chunked.send_chunk(std::string(1024, 'y'));
    chunked.send_last_chunk();
    const HttpResponse chunked_response = chunked.read_response();
    REQUIRE(chunked_response.status == 200);
    CHECK(parse_echo(chunked_response).body_length == 1024);
  }
}

TEST_CASE("the header-read deadline closes slow clients", "[proxy][limits][timeouts]") {
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--header-timeout", "300ms"};
  ProxyProcess proxy(limited_config(backend), options);

  // At the header-read deadline the proxy closes without a response
  // (docs/life-of-a-request.md, Deadlines: "close without a response").
  const auto check_closed_quietly = [](const std::string& received) {
    INFO("received before close: '" << received << "'");
    CHECK(received.empty());
  };

  SECTION("a partial head, then silence") {
    HttpClient client(proxy.port());
    const auto start = Clock::now();
    client.send("GET /slow HTTP/1.1\r\nHost: t\r\n");
    CHECK(client.wait_for_close(3s));
    const double elapsed = elapsed_ms(start);
    CHECK(elapsed >= 250);
    CHECK(elapsed < 2000);
    check_closed_quietly(client.received_before_close());
    CHECK(metric_settles(proxy, "tg_header_timeouts_total", {}, 1) == 1);
  }
  SECTION("a connection that sends nothing") {
    HttpClient client(proxy.port());
    const auto start = Clock::now();
    CHECK(client.wait_for_close(3s));
    CHECK(elapsed_ms(start) >= 250);
    check_closed_quietly(client.received_before_close());
  }
  SECTION("a head dripping one byte every 50 ms (slowloris)") {
    // The deadline covers the whole head, not the gap between bytes.
    HttpClient client(proxy.port());
    const std::string head = "GET /slow HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\n";
    const auto start = Clock::now();
    bool closed = false;
    for (const char c : head) {
      try {
        client.send(std::string(1, c));
      } catch (const SocketError&) {
        closed = true;  // the proxy closed (reset) while we were dripping
        break;
      }
      if (client.wait_for_close(50ms)) {
        closed = true;
        break;
      }
    }
    CHECK(closed);
    CHECK(elapsed_ms(start) < 2000);
    CHECK(backend.requests() == 0);
  }
  SECTION("the proxy still serves prompt clients") {
    HttpClient client(proxy.port());
    CHECK(client.get("/fast").status == 200);
  }
}
