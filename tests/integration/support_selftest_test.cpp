// The support library checked against itself: the fake backend served to the
// raw HTTP client, the process helper on /bin/sh, the /metrics reader on a
// sample. Runs without tg-proxy, so the tier's tools are known good before
// any proxy test relies on them.
#include "support/backend.hpp"
#include "support/body_pattern.hpp"
#include "support/config_yaml.hpp"
#include "support/http_client.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstring>

using namespace tg::itest;

TEST_CASE("echo backend reports method, target, headers and body", "[support][backend]") {
  Backend backend("b1");
  HttpClient client(backend.port());

  const HttpResponse response = client.post("/path?q=1", "hello", {{"X-Test", "yes"}});
  REQUIRE(response.status == 200);
  CHECK(response.header("x-backend-name") == "b1");
  CHECK(response.header("Content-Type") == "application/json");
  const EchoedRequest echo = parse_echo(response);
  CHECK(echo.backend == "b1");
  CHECK(echo.method == "POST");
  CHECK(echo.target == "/path?q=1");
  CHECK(echo.version == "1.1");
  CHECK(echo.headers.value("x-test") == "yes");
  CHECK(echo.headers.value("host") == "test.local");
  CHECK(echo.body == "hello");
  CHECK(echo.body_length == 5);
  CHECK(echo.body_fnv1a == fnv1a_hex("hello"));
  CHECK(backend.requests() == 1);
  CHECK(backend.body_bytes_received() == 5);
}

TEST_CASE("keep-alive: one client connection, one backend connection", "[support][backend]") {
  Backend backend("b1");
  HttpClient client(backend.port());
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const EchoedRequest echo = parse_echo(client.get("/n"));
    CHECK(echo.request_on_connection == i);
    CHECK(echo.connection_id == 1);
  }
  CHECK(backend.connections() == 1);
  CHECK(backend.requests() == 5);

  // Connection: close is honoured both ways.
  const HttpResponse last = client.get("/bye", {{"Connection", "close"}});
  CHECK(last.header("connection") == "close");
  CHECK(client.wait_for_close(2s));
}

TEST_CASE("fixed behaviour, per-path behaviour and delay", "[support][backend]") {
  Backend backend("b1", Behaviour::fixed(503, "busy"));
  backend.on_path("/slow", Behaviour::fixed(200, "slow").with_delay(150ms));
  backend.on_path("/slow/echo", Behaviour::echo());
  HttpClient client(backend.port());

  const HttpResponse busy = client.get("/x");
  CHECK(busy.status == 503);
  CHECK(busy.body == "busy");

  const auto start = Clock::now();
  const HttpResponse slow = client.get("/slow/1");
  CHECK(slow.body == "slow");
  CHECK(elapsed_ms(start) >= 150);

  CHECK(parse_echo(client.get("/slow/echo/1")).target == "/slow/echo/1");

  // HEAD: the head with its Content-Length, no body; the connection stays in sync.
  HttpRequest head;
  head.method = "HEAD";
  head.target = "/x";
  const HttpResponse head_response = client.request(head);
  CHECK(head_response.status == 503);
  CHECK(head_response.header("content-length") == "4");
  CHECK(head_response.body_size == 0);
  CHECK(client.get("/x").body == "busy");
}

TEST_CASE("large responses stream the pattern, with Content-Length or chunked", "[support][backend]") {
  const std::uint64_t size = 5 * 1024 * 1024 + 17;
  Backend backend("big");
  Behaviour large = Behaviour::of(BackendMode::large);
  large.size = size;
  backend.on_path("/cl", large);
  large.chunked = true;
  backend.on_path("/chunked", large);
  HttpClient client(backend.port());

  for (const char* path : {"/cl", "/chunked"}) {
    INFO(path);
    PatternChecker checker;
    ReadOptions options;
    options.on_body = [&](std::string_view data) { checker.update(data); };
    HttpRequest request;
    request.target = path;
    const HttpResponse response = client.request(request, options);
    CHECK(response.status == 200);
    CHECK(response.body.empty());
    CHECK(response.body_size == size);
    CHECK(checker.ok());
    CHECK(checker.size() == size);
    CHECK(response.headers.has("transfer-encoding") == (std::string_view(path) == "/chunked"));
  }
}

TEST_CASE("chunked uploads are counted and hashed, not stored", "[support][backend]") {
  Backend backend("sink");
  HttpClient client(backend.port());
  client.send("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  Fnv1a hash;
  const std::uint64_t size = 3 * 1024 * 1024;
  for (std::uint64_t offset = 0; offset < size; offset += 100'000) {
    const std::string chunk = pattern_string(offset, static_cast<std::size_t>(std::min<std::uint64_t>(100'000, size - offset)));
    hash.update(chunk);
    client.send_chunk(chunk);
  }
  client.send_last_chunk();
  const EchoedRequest echo = parse_echo(client.read_response());
  CHECK(echo.body_length == size);
  CHECK(echo.body_fnv1a == hash.hex());
  CHECK(echo.body.empty());  // over 64 KiB: not echoed
  CHECK(backend.body_bytes_received() == size);
}

TEST_CASE("failure behaviours are seen by the client as they should", "[support][backend]") {
  Backend backend("bad");
  backend.on_path("/close", Behaviour::of(BackendMode::close_without_answer));
  backend.on_path("/reset", Behaviour::of(BackendMode::reset));
  backend.on_path("/never", Behaviour::of(BackendMode::never_answer));
  backend.on_path("/garbage", Behaviour::of(BackendMode::garbage));
  Behaviour stall = Behaviour::of(BackendMode::stall_body);
  stall.size = 1000;
  stall.stall_after = 10;
  backend.on_path("/stall", stall);

  SECTION("close without answer") {
    HttpClient client(backend.port());
    try {
      client.get("/close");
      FAIL("a response arrived");
    } catch (const SocketError& error) {
      CHECK(error.kind() == SocketError::Kind::closed);
    }
  }
  SECTION("reset") {
    HttpClient client(backend.port());
    try {
      client.get("/reset");
      FAIL("a response arrived");
    } catch (const SocketError& error) {
      CHECK(error.kind() == SocketError::Kind::reset);
    }
  }
  SECTION("never answer") {
    HttpClient client(backend.port(), 200ms);
    try {
      client.get("/never");
      FAIL("a response arrived");
    } catch (const SocketError& error) {
      CHECK(error.kind() == SocketError::Kind::timeout);
    }
    CHECK(backend.requests() == 1);
  }
  SECTION("garbage") {
    HttpClient client(backend.port());
    CHECK_THROWS_AS(client.get("/garbage"), HttpParseError);
  }
  SECTION("stalled body") {
    HttpClient client(backend.port(), 200ms);
    HttpRequest request;
    request.target = "/stall";
    ReadOptions options;
    options.allow_truncated = true;
    const HttpResponse response = client.request(request, options);
    CHECK(response.status == 200);
    CHECK_FALSE(response.complete);
    CHECK(response.truncation == "timeout");
    CHECK(response.body_size == 10);
  }
  // Stopping with connections parked in never_answer/stall must not hang.
  backend.stop();
  CHECK(backend.active_connections() == 0);
}

TEST_CASE("ClosedPort refuses connections", "[support][socket]") {
  ClosedPort closed;
  CHECK(TcpSocket::probe_connect(closed.port(), 1s) == ECONNREFUSED);
  Backend backend("open");
  CHECK(TcpSocket::probe_connect(backend.port(), 1s) == 0);
  CHECK(poll_for(1s, [&] { return backend.connections() == 1; }));
}

TEST_CASE("ChildProcess: exit status, log, signals", "[support][process]") {
  TempDir dir;
  SECTION("exit code and log") {
    ChildProcess child("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"}, dir.file("log"));
    const auto status = child.wait_for(5s);
    REQUIRE(status.has_value());
    CHECK(status->exited);
    CHECK(status->code == 3);
    CHECK(child.read_log() == "out\nerr\n");
    CHECK(child.log_tail(1) == "[... earlier lines cut ...]\nerr\n");
  }
  SECTION("signal") {
    ChildProcess child("/bin/sleep", {"30"}, dir.file("log"));
    CHECK_FALSE(child.wait_for(20ms).has_value());
    CHECK(child.running());
    child.send_signal(SIGTERM);
    const auto status = child.wait_for(5s);
    REQUIRE(status.has_value());
    CHECK_FALSE(status->exited);
    CHECK(status->signal == SIGTERM);
  }
  SECTION("missing executable") {
    // glibc's posix_spawn reports a failed exec as its error (ENOENT), and
    // ChildProcess throws it (process.hpp), naming the command.
    CHECK_THROWS_WITH(ChildProcess("/nonexistent/tg", {}, dir.file("log")),
                      Catch::Matchers::StartsWith("posix_spawn /nonexistent/tg") &&
                          Catch::Matchers::EndsWith(std::strerror(ENOENT)));
  }
}

TEST_CASE("PrometheusText reads series by name and labels", "[support][metrics]") {
  const PrometheusText metrics = PrometheusText::parse(
      "# HELP tg_requests_total Requests.\n"
      "# TYPE tg_requests_total counter\n"
      "tg_requests_total{route=\"a\",service=\"s\",instance=\"s/1\",class=\"2xx\"} 3\n"
      "tg_requests_total{route=\"a\",service=\"s\",instance=\"s/2\",class=\"2xx\"} 4\n"
      "tg_requests_total{route=\"\",service=\"\",instance=\"\",class=\"4xx\"} 1\n"
      "tg_request_duration_seconds_bucket{route=\"a\",service=\"s\",le=\"+Inf\"} 7\n"
      "tg_label_escapes{v=\"a\\\"b\\\\c\"} 1.5e3\n"
      "tg_config_version 2\n");
  CHECK(metrics.sum("tg_requests_total", {{"route", "a"}}) == 7);
  CHECK(metrics.sum("tg_requests_total", {{"class", "2xx"}, {"instance", "s/2"}}) == 4);
  CHECK(metrics.sum("tg_requests_total", {{"route", ""}}) == 1);
  CHECK(metrics.count("tg_requests_total") == 3);
  CHECK(metrics.value("tg_config_version") == 2);
  CHECK_FALSE(metrics.value("tg_requests_total", {{"route", "a"}}).has_value());
  CHECK(metrics.sum("tg_label_escapes", {{"v", "a\"b\\c"}}) == 1500);
  CHECK(std::isinf(metrics.sum("tg_request_duration_seconds_bucket", {{"le", "+Inf"}})) == false);
  CHECK(metrics.sum("tg_request_duration_seconds_bucket", {{"le", "+Inf"}}) == 7);
  CHECK(metrics.sum("absent") == 0);
  CHECK_THROWS(PrometheusText::parse("bad{x=\"1\" 1\n"));
}

TEST_CASE("ConfigYaml writes services, instances and routes", "[support][config]") {
  const std::string yaml = ConfigYaml()
                               .service("s", {{"127.0.0.1:1", 2, "s-a"}, "127.0.0.1:2"}, {"lb: { policy: weighted }"})
                               .service("empty", {})
                               .route("r", "{ path_prefix: / }", "s", {"rewrite: { strip_prefix: /api }"})
                               .str();
  CHECK(yaml ==
        "services:\n"
        "  - name: s\n"
        "    lb: { policy: weighted }\n"
        "    instances:\n"
        "      - { id: s-a, address: 127.0.0.1:1, weight: 2 }\n"
        "      - { address: 127.0.0.1:2 }\n"
        "  - name: empty\n"
        "    instances: []\n"
        "routes:\n"
        "  - name: r\n"
        "    match: { path_prefix: / }\n"
        "    service: s\n"
        "    rewrite: { strip_prefix: /api }\n");
}

TEST_CASE("poll_until gives up at the deadline", "[support][poll]") {
  const auto start = Clock::now();
  CHECK_FALSE(poll_for(50ms, [] { return false; }));
  CHECK(elapsed_ms(start) >= 50);
  int calls = 0;
  CHECK(poll_for(1s, [&] { return ++calls == 3; }));
  CHECK(calls == 3);
}
