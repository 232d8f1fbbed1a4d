// Basic forwarding: requests reach the backend as sent, responses come back
// as the backend wrote them.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/proxy_process.hpp"
#include "support/tcp_socket.hpp"

using namespace tg::itest;

TEST_CASE("GET and POST are forwarded and answered", "[proxy][forwarding]") {
  Backend backend("b1");
  backend.on_path("/teapot", Behaviour::fixed(418, "short and stout"));
  backend.on_path("/created", Behaviour::fixed(201, "made"));
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());

  SECTION("GET with a query") {
    const HttpResponse response = client.get("/hello/world?x=1&y=%20z");
    REQUIRE(response.status == 200);
    CHECK(response.header("x-backend-name") == "b1");
    CHECK(response.header("content-type") == "application/json");
    const EchoedRequest echo = parse_echo(response);
    CHECK(echo.method == "GET");
    CHECK(echo.target == "/hello/world?x=1&y=%20z");
    CHECK(echo.body_length == 0);
    CHECK(backend.requests() == 1);
  }
  SECTION("POST with a body") {
    const HttpResponse response = client.post("/submit", "payload=1", {{"Content-Type", "text/plain"}});
    REQUIRE(response.status == 200);
    const EchoedRequest echo = parse_echo(response);
    CHECK(echo.method == "POST");
    CHECK(echo.body == "payload=1");
    CHECK(echo.body_length == 9);
    CHECK(echo.headers.value("content-type") == "text/plain");
  }
  SECTION("other methods") {
    for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS"}) {
      HttpRequest request;
      request.method = method;
      request.target = "/m";
      request.body = std::string(method) == "PUT" ? "x" : "";
      const HttpResponse response = client.request(request);
      REQUIRE(response.status == 200);
      CHECK(parse_echo(response).method == method);
    }
  }
  SECTION("HEAD gets the head without a body") {
    HttpRequest request;
    request.method = "HEAD";
    request.target = "/teapot";
    const HttpResponse response = client.request(request);
    CHECK(response.status == 418);
    CHECK(response.body_size == 0);
    // The connection stays usable: no stray body bytes.
    CHECK(parse_echo(client.get("/after-head")).target == "/after-head");
  }
  SECTION("the backend's status and body pass through") {
    const HttpResponse teapot = client.get("/teapot");
    CHECK(teapot.status == 418);
    CHECK(teapot.body == "short and stout");
    const HttpResponse created = client.post("/created", "{}");
    CHECK(created.status == 201);
    CHECK(created.body == "made");
  }
}

TEST_CASE("a request body already read with the head is forwarded whole", "[proxy][forwarding]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  // Head and body in one write, then the body split over several writes.
  client.send("POST /one HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
  CHECK(parse_echo(client.read_response()).body == "hello world");

  client.send("POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234");
  client.send("56789");
  CHECK(parse_echo(client.read_response()).body == "0123456789");

  client.send("POST /three HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  client.send("6\r\n world\r\n0\r\n\r\n");
  const EchoedRequest echo = parse_echo(client.read_response());
  CHECK(echo.body == "hello world");
  CHECK(echo.body_length == 11);
}

TEST_CASE("pipelined requests are answered in order", "[proxy][forwarding]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  client.send("GET /p1 HTTP/1.1\r\nHost: t\r\n\r\nGET /p2 HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(parse_echo(client.read_response()).target == "/p1");
  CHECK(parse_echo(client.read_response()).target == "/p2");
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is sent", "[proxy][forwarding]") {
  // RFC 9110 §10.1.1: the server either sends 100 (Continue) at once or a
  // final status; a client waiting for it must not stall.
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  TcpSocket socket(proxy.port(), 2s);
  socket.send_all("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", 2s);
  std::string received;
  const bool interim = poll_for(2s, [&] {
    try {
      socket.receive_some(received, 4096, 10ms);
    } catch (const SocketError& error) {
      if (error.kind() != SocketError::Kind::timeout) return true;
    }
    return received.find("\r\n\r\n") != std::string::npos;
  });
  INFO("received: '" << received << "'");
  REQUIRE(interim);
  REQUIRE(received.rfind("HTTP/1.1 100", 0) == 0);
  socket.send_all("hello", 2s);
  // The final response follows the interim one.
  const auto done = poll_for(2s, [&] {
    try {
      socket.receive_some(received, 4096, 10ms);
    } catch (const SocketError&) {
    }
    return received.find("\"body\":\"hello\"") != std::string::npos;
  });
  CHECK(done);
  CHECK(received.find("HTTP/1.1 200") != std::string::npos);
}
