// HTTP/1.1 edges through the real proxy (RFC 9110 / 9112): interim 1xx
// responses, absolute-form targets against Host, trailers, and the statuses
// and methods whose responses have no body.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"

#include <atomic>
#include <mutex>

using namespace tg::itest;

namespace {

// An upstream that answers every request with the same raw bytes, and keeps
// the last request head it read.
struct ScriptedUpstream {
  explicit ScriptedUpstream(std::string answer_) : answer(std::move(answer_)) {}
  std::string answer;
  std::mutex mutex;
  std::string last_request;
  RawServer server{[this](TcpSocket& connection) {
    for (;;) {
      const std::string head = read_head(connection, std::chrono::seconds(5));
      {
        std::lock_guard lock(mutex);
        last_request = head;
      }
      connection.send_all(answer, std::chrono::seconds(5));
    }
  }};
  std::string request() {
    std::lock_guard lock(mutex);
    return last_request;
  }
};

}  // namespace

TEST_CASE("103 Early Hints is relayed to HTTP/1.1 clients before the final response", "[proxy][protocol][1xx]") {
  ScriptedUpstream upstream(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ProxyProcess proxy(single_service_config({upstream.server.address()}));

  SECTION("HTTP/1.1: 103 then 200 on a kept connection") {
    HttpClient client(proxy.port());
    client.send("GET /page HTTP/1.1\r\nHost: t\r\n\r\n");
    ReadOptions interim;
    interim.return_interim = true;
    const HttpResponse hints = client.read_response(interim);
    CHECK(hints.status == 103);
    CHECK(hints.header("link") == "</style.css>; rel=preload");
    CHECK_FALSE(hints.headers.get("connection").has_value());
    const HttpResponse final_response = client.read_response();
    CHECK(final_response.status == 200);
    CHECK(final_response.body == "ok");
    CHECK(final_response.header("x-request-id") == hints.header("x-request-id"));
    client.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(client.read_response(interim).status == 103);
    CHECK(client.read_response().status == 200);
    CHECK(metric_settles(proxy, "tg_interim_responses_total", {}, 2) == 2);
  }
  SECTION("HTTP/1.0: only the final response") {
    HttpClient client(proxy.port());
    client.send("GET /page HTTP/1.0\r\nHost: t\r\n\r\n");
    ReadOptions interim;
    interim.return_interim = true;
    const HttpResponse response = client.read_response(interim);
    CHECK(response.status == 200);
    CHECK(response.body == "ok");
  }
}

TEST_CASE("an unsolicited 100 Continue from the upstream is not relayed", "[proxy][protocol][1xx]") {
  // The proxy answers Expect itself and strips it, so a 100 from upstream is
  // not for the client.
  ScriptedUpstream upstream("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ProxyProcess proxy(single_service_config({upstream.server.address()}));
  HttpClient client(proxy.port());
  client.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
  ReadOptions interim;
  interim.return_interim = true;
  const HttpResponse response = client.read_response(interim);
  CHECK(response.status == 200);
  CHECK(response.body == "ok");
}

TEST_CASE("Expect: 100-continue is not forwarded, a refused body gets its final status without 100",
          "[proxy][protocol][1xx]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}, {"limits: { max_body: 10 }"}));
  SECTION("accepted") {
    HttpClient client(proxy.port());
    client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    ReadOptions interim;
    interim.return_interim = true;
    CHECK(client.read_response(interim).status == 100);
    client.send("hello");
    const EchoedRequest echoed = parse_echo(client.read_response());
    CHECK(echoed.body == "hello");
    CHECK_FALSE(echoed.headers.get("expect").has_value());
  }
  SECTION("too large: 413 at once, no 100") {
    HttpClient client(proxy.port());
    client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n");
    check_error_response(client.read_response(), 413, "body_too_large");
    CHECK(client.wait_for_close(2s));
  }
}

TEST_CASE("absolute-form targets: the authority wins over Host", "[proxy][protocol][routing]") {
  Backend a("a");
  Backend other("other");
  ConfigYaml config;
  config.service("sa", {a.address()}).service("so", {other.address()});
  config.route("a-host", "{ host: a.example }", "sa").route("rest", "{ path_prefix: / }", "so");
  ProxyProcess proxy(config.str());

  SECTION("routed and forwarded by the URI's host, in origin form") {
    HttpClient client(proxy.port());
    client.send("GET http://a.example/p?q=1 HTTP/1.1\r\nHost: b.example\r\n\r\n");
    const HttpResponse response = client.read_response();
    CHECK(response.header("x-backend-name") == "a");
    const EchoedRequest echoed = parse_echo(response);
    CHECK(echoed.target == "/p?q=1");
    CHECK(echoed.headers.get_all("host") == std::vector<std::string>{"a.example"});
  }
  SECTION("with a port and upper-case host") {
    HttpClient client(proxy.port());
    client.send("GET http://A.Example:8080/p HTTP/1.1\r\nHost: a.example\r\n\r\n");
    const HttpResponse response = client.read_response();
    CHECK(response.header("x-backend-name") == "a");
    CHECK(parse_echo(response).target == "/p");
  }
  SECTION("without a path: /") {
    HttpClient client(proxy.port());
    client.send("GET http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n");
    CHECK(parse_echo(client.read_response()).target == "/");
  }
  SECTION("Host alone routes an origin-form target") {
    HttpClient client(proxy.port());
    client.send("GET /p HTTP/1.1\r\nHost: a.example\r\n\r\n");
    CHECK(client.read_response().header("x-backend-name") == "a");
  }
}

TEST_CASE("chunked trailers pass through to HTTP/1.1 in both directions", "[proxy][protocol]") {
  std::mutex mutex;
  std::string request_seen;
  RawServer upstream([&](TcpSocket& connection) {
    std::string received;
    while (received.find("X-Client-Sum: 42\r\n\r\n") == std::string::npos) {
      if (connection.receive_some(received, 65536, 5s) == 0) return;
    }
    {
      std::lock_guard lock(mutex);
      request_seen = received;
    }
    connection.send_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                        "2\r\nok\r\n0\r\nX-Checksum: abc\r\n\r\n",
                        5s);
    std::string ignored;
    connection.receive_some(ignored, 4096, 5s);
  });
  ProxyProcess proxy(single_service_config({upstream.address()}));
  TcpSocket socket(proxy.port(), 2s);
  socket.send_all("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\nbody\r\n0\r\nX-Client-Sum: 42\r\n\r\n",
                  2s);
  std::string received;
  const bool done = poll_for(3s, [&] {
    try {
      socket.receive_some(received, 65536, 20ms);
    } catch (const SocketError&) {
    }
    return received.find("X-Checksum: abc\r\n\r\n") != std::string::npos;
  });
  INFO("received: " << received);
  CHECK(done);
  CHECK(received.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(received.find("\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: abc\r\n\r\n") != std::string::npos);
  std::lock_guard lock(mutex);
  INFO("upstream received: " << request_seen);
  CHECK(request_seen.find("\r\n\r\n4\r\nbody\r\n0\r\nX-Client-Sum: 42\r\n\r\n") != std::string::npos);
}

TEST_CASE("HEAD, 204 and 304 responses carry no body, whatever their headers say", "[proxy][protocol]") {
  SECTION("204 with a Content-Length: the connection stays in step") {
    ScriptedUpstream upstream("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
    ProxyProcess proxy(single_service_config({upstream.server.address()}));
    HttpClient client(proxy.port());
    const HttpResponse first = client.get("/a");
    CHECK(first.status == 204);
    CHECK(first.body.empty());
    CHECK(client.get("/b").status == 204);
  }
  SECTION("304 with a Content-Length") {
    ScriptedUpstream upstream("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n");
    ProxyProcess proxy(single_service_config({upstream.server.address()}));
    HttpClient client(proxy.port());
    const HttpResponse first = client.get("/a", {{"If-None-Match", "\"x\""}});
    CHECK(first.status == 304);
    CHECK(first.header("etag") == "\"x\"");
    CHECK(client.get("/b").status == 304);
  }
  SECTION("HEAD with the GET's Content-Length") {
    ScriptedUpstream upstream("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    ProxyProcess proxy(single_service_config({upstream.server.address()}));
    HttpClient client(proxy.port());
    ReadOptions head;
    head.head_request = true;
    client.send("HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n");
    const HttpResponse first = client.read_response(head);
    CHECK(first.status == 200);
    CHECK(first.header("content-length") == "1000");
    client.send("HEAD /b HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(client.read_response(head).status == 200);
  }
}

TEST_CASE("pipelined requests with bodies are answered in order", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  client.send("POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none"
              "POST /2 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
              "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
  const EchoedRequest first = parse_echo(client.read_response());
  const EchoedRequest second = parse_echo(client.read_response());
  const EchoedRequest third = parse_echo(client.read_response());
  CHECK(first.target == "/1");
  CHECK(first.body == "one");
  CHECK(second.target == "/2");
  CHECK(second.body == "two");
  CHECK(third.target == "/3");
}
