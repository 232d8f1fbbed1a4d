// A response that arrives while the request body is still streaming (RFC 9112
// §9.3): the client gets the upstream's answer, not a reset, and the
// connection then closes; an interim 100 does not stop the body.
#include "proxy_test_helpers.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"

#include <atomic>
#include <thread>

using namespace tg::itest;

namespace {

constexpr std::size_t kBlock = 64 * 1024;

// Sends blocks of a 1 GiB body (more than this 5 s loop can send, so only an
// early answer ends it) until a whole response head and `body_bytes` of body
// have arrived on `socket`; returns what arrived. Sends may fail or stall once
// the proxy has stopped reading: that is expected.
std::string upload_until_answered(TcpSocket& socket, std::size_t body_bytes = 0) {
  const std::string block(kBlock, 'u');
  std::string received;
  bool sending = true;
  poll_for(5s, [&] {
    if (sending) {
      try {
        socket.send_all(block, 50ms);
      } catch (const SocketError&) {
        sending = false;  // the proxy no longer reads the body
      }
    }
    try {
      socket.receive_some(received, 65536, 10ms);
    } catch (const SocketError&) {
    }
    const std::size_t end = received.find("\r\n\r\n");
    return end != std::string::npos && received.size() >= end + 4 + body_bytes;
  });
  return received;
}

}  // namespace

TEST_CASE("an upstream's early 413 reaches the client while it is still uploading", "[proxy][protocol][early]") {
  std::atomic<bool> answered{false};
  RawServer upstream([&](TcpSocket& connection) {
    read_head(connection, 5s);
    answered = true;  // before the send: the client may see the answer before this thread runs on
    connection.send_all("HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large", 5s);
    // A polite server: stop sending, then read and discard until the peer closes.
    connection.shutdown_write();
    std::string sink;
    while (connection.receive_some(sink, 1 << 20, 5s) > 0) sink.clear();
  });
  ProxyProcess proxy(single_service_config({upstream.address()}, {"limits: { max_body: 2GiB }"}));
  TcpSocket client(proxy.port(), 2s);
  client.send_all("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1073741824\r\n\r\n", 2s);
  const std::string received = upload_until_answered(client, 9);
  INFO("received: " << received.substr(0, 300));
  CHECK(answered.load());
  CHECK(received.rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
  CHECK(received.find("Connection: close\r\n") != std::string::npos);
  CHECK(received.find("\r\n\r\ntoo large") != std::string::npos);
  CHECK(metric_settles(proxy, "tg_requests_total", {{"route", "all"}, {"class", "4xx"}}, 1) == 1);
  CHECK(metric_settles(proxy, "tg_upstream_errors_total", {}, 0) == 0);
}

TEST_CASE("an interim 100 from the upstream does not stop the request body", "[proxy][protocol][early]") {
  constexpr std::size_t kBody = 1024 * 1024;
  // The upstream records how much of the body it had when it sent the 100;
  // the client sends the rest only once that 100 is out, so the order is
  // observed, not slept for.
  std::atomic<bool> interim_sent{false};
  std::atomic<std::size_t> body_before_interim{kBody};
  RawServer upstream([&](TcpSocket& connection) {
    std::string received = read_head(connection, 5s);
    const std::size_t head_end = received.find("\r\n\r\n") + 4;
    connection.send_all("HTTP/1.1 100 Continue\r\n\r\n", 5s);
    body_before_interim = received.size() - head_end;
    interim_sent = true;
    while (received.size() - head_end < kBody) {
      if (connection.receive_some(received, 1 << 20, 5s) == 0) return;
    }
    const std::string count = std::to_string(received.size() - head_end);
    connection.send_all("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(count.size()) + "\r\n\r\n" + count, 5s);
    std::string ignored;
    connection.receive_some(ignored, 4096, 5s);
  });
  ProxyProcess proxy(single_service_config({upstream.address()}));
  HttpClient client(proxy.port());
  client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n");
  client.send(std::string(kBlock, 'b'));
  REQUIRE(poll_for(5s, [&] { return interim_sent.load(); }));
  for (std::size_t sent = kBlock; sent < kBody; sent += kBlock) client.send(std::string(kBlock, 'b'));
  const HttpResponse response = client.read_response();
  CHECK(body_before_interim.load() <= kBlock);  // the rest of the body came after the 100
  CHECK(response.status == 200);                // the 100 is dropped, the final answer relayed
  CHECK(response.body == std::to_string(kBody));
}

TEST_CASE("an upstream that closes mid-body gives 502, not a hang", "[proxy][protocol][early]") {
  RawServer upstream([&](TcpSocket& connection) {
    std::string received = read_head(connection, 5s);
    connection.receive_some(received, 1 << 16, 5s);  // some of the body, then gone
  });
  ProxyProcess proxy(single_service_config({upstream.address()}, {"limits: { max_body: 2GiB }"}));
  TcpSocket client(proxy.port(), 2s);
  client.send_all("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1073741824\r\n\r\n", 2s);
  const std::string received = upload_until_answered(client);
  INFO("received: " << received.substr(0, 300));
  CHECK(received.rfind("HTTP/1.1 502 ", 0) == 0);
  CHECK(received.find("upstream_reset") != std::string::npos);
}
