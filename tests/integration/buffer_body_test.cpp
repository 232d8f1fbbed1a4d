// Slow-upload protection (limits.buffer_body): a body up to that size is
// received whole before an upstream connection is taken, answered 408 when it
// stops arriving (nothing forwarded), and replayed on a retry. Larger bodies
// stream as before.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/tcp_socket.hpp"

using namespace tg::itest;

namespace {

double metric(const ProxyProcess& proxy, std::string_view name) { return proxy.metrics().sum(name); }

}  // namespace

TEST_CASE("a slow upload holds no upstream connection until its body is whole", "[proxy][buffer_body]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}, {"limits: { buffer_body: 1KiB }"}));
  HttpClient client(proxy.port());
  client.send("PUT /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
  // The proxy has the head and half the body: it waits for the rest without
  // connecting. Observed through the proxy itself: the request is under way
  // (a downstream connection, no response) while the backend saw nothing.
  REQUIRE(poll_for(5s, [&] { return metric(proxy, "tg_downstream_connections_active") == 1; }));
  CHECK(backend.connections() == 0);
  client.send("world");
  const HttpResponse response = client.read_response();
  CHECK(response.status == 200);
  CHECK(parse_echo(response).body == "helloworld");
  CHECK(backend.connections() == 1);
  CHECK(metric(proxy, "tg_request_bodies_kept_whole_total") == 1);
}

TEST_CASE("a kept body that stops arriving gets 408 and reaches no upstream", "[proxy][buffer_body]") {
  Backend backend("b1");
  ProxyProcess proxy(
      single_service_config({backend.address()}, {"limits: { buffer_body: 1KiB }", "timeouts: { idle: 300ms }"}));
  SECTION("fixed length") {
    HttpClient client(proxy.port());
    client.send("POST /stall HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    check_error_response(client.read_response(), 408, "request_timeout");
  }
  SECTION("a chunk that declares more bytes than arrive") {
    HttpClient client(proxy.port());
    client.send("POST /stall HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nabc");
    check_error_response(client.read_response(), 408, "request_timeout");
  }
  CHECK(backend.connections() == 0);
  CHECK(backend.requests() == 0);
  CHECK(metric(proxy, "tg_request_body_timeouts_total") == 1);
}

TEST_CASE("Expect: 100-continue is answered by the proxy before any upstream connection", "[proxy][buffer_body]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}, {"limits: { buffer_body: 1KiB }"}));
  TcpSocket socket(proxy.port(), 2s);
  socket.send_all("PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n", 2s);
  std::string received;
  REQUIRE(poll_for(5s, [&] {
    try {
      socket.receive_some(received, 4096, 10ms);
    } catch (const SocketError& error) {
      if (error.kind() != SocketError::Kind::timeout) return true;
    }
    return received.find("\r\n\r\n") != std::string::npos;
  }));
  CHECK(received == "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(backend.connections() == 0);
  socket.send_all("data", 2s);
  received.clear();
  REQUIRE(poll_for(5s, [&] {
    try {
      socket.receive_some(received, 65536, 10ms);
    } catch (const SocketError& error) {
      if (error.kind() != SocketError::Kind::timeout) return true;
    }
    return received.find("\"body\":\"data\"") != std::string::npos;
  }));
  CHECK(received.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(received.find("\"expect\"") == std::string::npos);
  CHECK(backend.connections() == 1);
}

TEST_CASE("a kept body is replayed on another instance after the first resets", "[proxy][buffer_body]") {
  Backend failing("bad", Behaviour::of(BackendMode::reset));
  Backend good("good");
  ProxyProcess proxy(single_service_config(
      {failing.address(), good.address()},
      {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [reset] }", "limits: { buffer_body: 1KiB }"}));
  // Round robin starts anywhere: send until the failing instance has had one.
  int replayed = 0;
  for (int i = 0; i < 4 && failing.requests() == 0; ++i) {
    HttpClient client(proxy.port());
    client.send("PUT /r HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab");
    client.send("cde");
    const HttpResponse response = client.read_response();
    REQUIRE(response.status == 200);
    CHECK(parse_echo(response).body == "abcde");
    if (failing.requests() > 0) ++replayed;
  }
  CHECK(replayed == 1);
}

TEST_CASE("with buffer_body 0 a body arriving after the head streams and is not replayed", "[proxy][buffer_body]") {
  Backend failing("bad", Behaviour::of(BackendMode::reset));
  Backend good("good");
  ProxyProcess proxy(single_service_config(
      {failing.address(), good.address()},
      {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [reset] }", "limits: { buffer_body: 0 }"}));
  int answered_502 = 0;
  for (int i = 0; i < 4 && failing.requests() == 0; ++i) {
    HttpClient client(proxy.port());
    client.send("PUT /r HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab");
    // The proxy forwards what it has at once: the head reaches an upstream
    // before the rest of the body is sent.
    REQUIRE(poll_for(5s, [&] { return failing.requests() + good.requests() > static_cast<std::uint64_t>(i); }));
    client.send("cde");
    const HttpResponse response = client.read_response();
    if (response.status == 502) ++answered_502;
  }
  CHECK(answered_502 == 1);
  CHECK(metric(proxy, "tg_request_bodies_kept_whole_total") == 0);
}
