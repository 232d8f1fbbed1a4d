// Upgrade tunnels (RFC 9110 §7.8, RFC 6455 §4; docs/life-of-a-request.md, phase 6): a client's
// Connection: upgrade + Upgrade request is forwarded with both headers; a 101
// answer turns both connections into a byte tunnel that carries data both
// ways, passes half-closes on, and ends after the service's idle timeout
// without traffic. Requests that do not qualify are plain HTTP.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"

#include <atomic>
#include <mutex>

using namespace tg::itest;

namespace {

constexpr const char* kHandshake =
    "GET /chat HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// A WebSocket-ish upstream: answers the upgrade with 101 plus a greeting in
// the same write, then echoes every read back prefixed with "echo:", and on
// the client's FIN says "bye" and closes.
struct TunnelUpstream {
  std::mutex mutex;
  std::string request_head;  // what the proxy sent
  std::atomic<bool> saw_fin{false};
  std::atomic<std::uint64_t> echoed{0};
  RawServer server{[this](TcpSocket& connection) {
    const std::string head = read_head(connection, std::chrono::seconds(5));
    {
      std::lock_guard lock(mutex);
      request_head = head.substr(0, head.find("\r\n\r\n") + 4);
    }
    const std::string early = head.substr(head.find("\r\n\r\n") + 4);
    connection.send_all(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nhello-from-upstream",
        std::chrono::seconds(5));
    if (!early.empty()) {
      connection.send_all("echo:" + early, std::chrono::seconds(5));
      echoed += early.size();
    }
    for (;;) {
      std::string data;
      if (connection.receive_some(data, 65536, std::chrono::seconds(10)) == 0) break;
      connection.send_all("echo:" + data, std::chrono::seconds(5));
      echoed += data.size();
    }
    saw_fin = true;
    connection.send_all("bye", std::chrono::seconds(5));
  }};
  std::string head() {
    std::lock_guard lock(mutex);
    return request_head;
  }
};

// Reads from `socket` until `received` contains `expected`.
bool receive_until(TcpSocket& socket, std::string& received, const std::string& expected,
                   std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  return poll_for(timeout, [&] {
    try {
      socket.receive_some(received, 65536, std::chrono::milliseconds(20));
    } catch (const SocketError& error) {
      if (error.kind() != SocketError::Kind::timeout) return true;
    }
    return received.find(expected) != std::string::npos;
  }) && received.find(expected) != std::string::npos;
}

// True when the peer closed (EOF or reset) within `timeout`; bytes that
// arrive meanwhile are appended to `received`.
bool closed_within(TcpSocket& socket, std::string& received, std::chrono::milliseconds timeout) {
  return poll_for(timeout, [&] {
    try {
      return socket.receive_some(received, 65536, std::chrono::milliseconds(20)) == 0;
    } catch (const SocketError& error) {
      return error.kind() != SocketError::Kind::timeout;
    }
  });
}

}  // namespace

TEST_CASE("a WebSocket upgrade is tunnelled both ways", "[proxy][upgrade]") {
  TunnelUpstream upstream;
  ProxyProcess proxy(single_service_config({upstream.server.address()}));
  TcpSocket client(proxy.port(), 2s);
  client.send_all(kHandshake, 2s);

  std::string received;
  REQUIRE(receive_until(client, received, "hello-from-upstream"));
  INFO("received: " << received);
  CHECK(received.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
  const std::string head = received.substr(0, received.find("\r\n\r\n") + 4);
  CHECK(head.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(head.find("Connection: Upgrade\r\n") != std::string::npos);
  CHECK(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
  CHECK(head.find("X-Request-Id: ") != std::string::npos);

  // The upstream saw the upgrade request with its hop-by-hop headers kept.
  const std::string forwarded = upstream.head();
  INFO("forwarded head: " << forwarded);
  CHECK(forwarded.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(forwarded.find("Connection: Upgrade\r\n") != std::string::npos);
  CHECK(forwarded.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n") != std::string::npos);

  // Data both ways, small and large (larger than the proxy's buffers).
  received.clear();
  client.send_all("ping", 2s);
  CHECK(receive_until(client, received, "echo:ping"));
  std::string big(300 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  client.send_all(big, 5s);
  CHECK(poll_for(5s, [&] { return upstream.echoed.load() == 4 + big.size(); }));
  received.clear();
  // Every byte comes back, in order, between the "echo:" prefixes.
  CHECK(poll_for(5s, [&] {
    try {
      client.receive_some(received, 1 << 20, 20ms);
    } catch (const SocketError&) {
    }
    std::string data;
    for (std::size_t pos = 0; pos < received.size();) {
      const std::size_t next = received.find("echo:", pos + 5);
      data += received.substr(pos + 5, (next == std::string::npos ? received.size() : next) - pos - 5);
      if (next == std::string::npos) break;
      pos = next;
    }
    return data == big;
  }));

  CHECK(metric_settles(proxy, "tg_tunnels_active", {}, 1) == 1);
  // The client's half-close reaches the upstream, whose last bytes and close
  // come back.
  client.shutdown_write();
  std::string tail;
  CHECK(closed_within(client, tail, 3s));
  CHECK(tail == "bye");
  CHECK(upstream.saw_fin.load());
  CHECK(metric_settles(proxy, "tg_tunnels_active", {}, 0) == 0);
  CHECK(metric_settles(proxy, "tg_tunnels_total", {}, 1) == 1);
  CHECK(metric_settles(proxy, "tg_requests_total", {{"route", "all"}, {"class", "1xx"}}, 1) == 1);
}

TEST_CASE("bytes a client sends right after its upgrade request reach the upstream", "[proxy][upgrade]") {
  TunnelUpstream upstream;
  ProxyProcess proxy(single_service_config({upstream.server.address()}));
  TcpSocket client(proxy.port(), 2s);
  client.send_all(std::string(kHandshake) + "early-bytes", 2s);
  std::string received;
  CHECK(receive_until(client, received, "echo:early-bytes"));
  CHECK(upstream.head().find("early-bytes") == std::string::npos);
}

TEST_CASE("an idle tunnel is closed after the service's idle timeout, traffic keeps it open", "[proxy][upgrade][timeouts]") {
  TunnelUpstream upstream;
  ProxyProcess proxy(single_service_config({upstream.server.address()}, {"timeouts: { idle: 400ms }"}));

  SECTION("traffic every 100 ms for 1.2 s keeps it open") {
    TcpSocket client(proxy.port(), 2s);
    client.send_all(kHandshake, 2s);
    std::string received;
    REQUIRE(receive_until(client, received, "hello-from-upstream"));
    const auto start = Clock::now();
    int round = 0;
    while (elapsed_ms(start) < 1200) {
      const std::string message = "m" + std::to_string(round++);
      client.send_all(message, 2s);
      REQUIRE(receive_until(client, received, "echo:" + message));
      std::string ignored;
      REQUIRE_FALSE(closed_within(client, ignored, 100ms));
    }
  }
  SECTION("silence closes it") {
    TcpSocket client(proxy.port(), 2s);
    client.send_all(kHandshake, 2s);
    std::string received;
    REQUIRE(receive_until(client, received, "hello-from-upstream"));
    const auto start = Clock::now();
    CHECK(closed_within(client, received, 3s));
    const double elapsed = elapsed_ms(start);
    CHECK(elapsed >= 350);
    CHECK(elapsed < 2500);
    CHECK(metric_settles(proxy, "tg_tunnels_active", {}, 0) == 0);
  }
}

TEST_CASE("an upgrade the upstream declines is a plain response on a kept connection", "[proxy][upgrade]") {
  Backend backend("b1");  // echo: answers 200, never 101
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  client.send(kHandshake);
  const HttpResponse declined = client.read_response();
  CHECK(declined.status == 200);
  // The request went upstream with its Upgrade header (the upstream chose).
  CHECK(parse_echo(declined).headers.value("upgrade") == "websocket");
  CHECK(client.get("/next").status == 200);
  CHECK(metric_settles(proxy, "tg_tunnels_total", {}, 0) == 0);
}

TEST_CASE("requests that cannot be tunnelled are forwarded without Upgrade", "[proxy][upgrade]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  SECTION("a request with a body") {
    HttpClient client(proxy.port());
    client.send("POST /x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhello");
    const EchoedRequest echoed = parse_echo(client.read_response());
    CHECK_FALSE(echoed.headers.get("upgrade").has_value());
    CHECK(echoed.body == "hello");
  }
  SECTION("an HTTP/1.0 request") {
    HttpClient client(proxy.port());
    client.send("GET /x HTTP/1.0\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    CHECK_FALSE(parse_echo(client.read_response()).headers.get("upgrade").has_value());
  }
  SECTION("Upgrade without Connection: upgrade") {
    HttpClient client(proxy.port());
    client.send("GET /x HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n");
    CHECK_FALSE(parse_echo(client.read_response()).headers.get("upgrade").has_value());
  }
}
