// The shared HTTP port (common/netio/http_server) over real loopback sockets
// (port 0): per-path handlers, 404/405, routes with methods, headers, bodies
// and body limits (413, Expect: 100-continue), and the accept back-off when
// the process runs out of file descriptors.
#include "netio/http_server.hpp"
#include "support/descriptor_exhaustion.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tg::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http::response<http::string_body> exchange(beast::tcp_stream& stream, const std::string& target,
                                           http::verb verb = http::verb::get) {
  http::request<http::empty_body> request(verb, target, 11);
  request.set(http::field::host, "localhost");
  request.keep_alive(false);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return response;
}

http::response<http::string_body> get(const tcp::endpoint& endpoint, const std::string& target,
                                      http::verb verb = http::verb::get) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(endpoint);
  return exchange(stream, target, verb);
}

// Polls `done` until it holds or 10 s have passed (a deadline, not a sleep
// the result depends on).
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_CASE("http server: per-path handlers, path without query, 404 and 405", "[http]") {
  asio::io_context io(1);
  std::vector<std::string> seen;  // io thread only; read after join
  std::vector<unsigned> statuses;
  HttpServerOptions options;
  options.server_name = "tg-test";
  options.method_not_allowed = "use GET\n";
  options.on_response = [&](unsigned status) { statuses.push_back(status); };
  HttpServer server(io, {asio::ip::make_address("127.0.0.1"), 0}, std::move(options));
  server.handle("/healthz", [&](const std::string& method, HttpRespond respond) {
    seen.push_back(method + " /healthz");
    respond({200, "text/plain", "ok\n"});
  });
  server.handle("/later", [&](const std::string&, HttpRespond respond) {
    asio::post(io, [respond = std::move(respond)] { respond({200, "text/plain", "later\n"}); });
  });
  const auto endpoint = server.local_endpoint();
  CHECK(endpoint.port() != 0);
  std::thread runner([&] { io.run(); });
  const auto healthz = get(endpoint, "/healthz?verbose=1");
  const auto later = get(endpoint, "/later");
  const auto missing = get(endpoint, "/nope");
  const auto post = get(endpoint, "/healthz", http::verb::post);
  asio::post(io, [&] { server.stop(); });
  runner.join();  // nothing left once the acceptor is closed and sessions ended
  CHECK(healthz.result_int() == 200);
  CHECK(healthz.body() == "ok\n");
  CHECK(healthz[http::field::server] == "tg-test");
  CHECK(later.body() == "later\n");
  CHECK(missing.result_int() == 404);
  CHECK(missing.body() == "not found; try /healthz /later\n");
  CHECK(post.result_int() == 405);
  CHECK(post.body() == "use GET\n");
  CHECK(seen == std::vector<std::string>{"GET /healthz"});
  CHECK(statuses == std::vector<unsigned>{200, 200, 404, 405});
  CHECK(server.accept_errors() == 0);
}

// A client that sends raw bytes and reads responses one at a time; every
// operation is asynchronous with a 10 s deadline, so a server that does not
// answer fails the test instead of hanging it.
class RawClient {
 public:
  explicit RawClient(const tcp::endpoint& endpoint) : stream_(io_) {
    stream_.expires_after(std::chrono::seconds(10));
    stream_.connect(endpoint);
  }
  void send(std::string_view bytes) {
    beast::error_code result;
    stream_.expires_after(std::chrono::seconds(10));
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [&result](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) throw beast::system_error(result);
  }
  http::response<http::string_body> read() {
    http::response<http::string_body> response;
    beast::error_code result;
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, response, [&result](beast::error_code ec, std::size_t) { result = ec; });
    run();
    if (result) throw beast::system_error(result);
    return response;
  }
  // True when the server closed the connection (EOF or reset) within 10 s.
  bool closed() {
    char byte;
    beast::error_code result;
    stream_.expires_after(std::chrono::seconds(10));
    stream_.async_read_some(asio::buffer(&byte, 1), [&result](beast::error_code ec, std::size_t) { result = ec; });
    run();
    return result == asio::error::eof || result == asio::error::connection_reset;
  }

 private:
  void run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// The io_context on its own thread for one test; stops the server and joins.
struct Running {
  asio::io_context& io;
  HttpServer& server;
  std::thread runner{[this] { io.run(); }};
  ~Running() {
    asio::post(io, [this] { server.stop(); });
    runner.join();
  }
};

HttpRoute post_route(std::string path, bool prefix, std::size_t body_limit) {
  HttpRoute route;
  route.path = std::move(path);
  route.prefix = prefix;
  route.methods = {"POST"};
  route.body_limit = body_limit;
  return route;
}

TEST_CASE("http server: a route sees method, target, headers and body, exact before prefix, 405 with Allow",
          "[http][route]") {
  asio::io_context io(1);
  std::vector<HttpRequest> seen;  // io thread only; read after join
  std::vector<unsigned> statuses;
  HttpServerOptions options;
  options.server_name = "tg-test";
  options.method_not_allowed = "use GET\n";
  options.on_response = [&](unsigned status) { statuses.push_back(status); };
  HttpServer server(io, {asio::ip::make_address("127.0.0.1"), 0}, std::move(options));
  server.handle("/healthz", [](const std::string&, HttpRespond respond) { respond({200, "text/plain", "ok\n", {}}); });
  // Registered first: the longer prefix below must still win.
  server.handle(post_route("/v1/", true, 1024), [&](HttpRequest, HttpRespond respond) {
    respond({200, "text/plain", "shorter prefix\n", {}});
  });
  server.handle(post_route("/v1/echo/", true, 1024), [&](HttpRequest request, HttpRespond respond) {
    HttpResponse response{201, "application/json", request.body, {{"X-Seen", std::string(request.header("authorization").value_or("none"))}}};
    seen.push_back(std::move(request));
    respond(std::move(response));
  });
  server.handle(post_route("/v1/echo/exact", false, 1024), [&](HttpRequest, HttpRespond respond) {
    respond({200, "text/plain", "exact\n", {}});
  });
  http::response<http::string_body> echoed, exact, shorter, get_on_post, post_on_get, missing;
  {
    Running running{io, server};
    RawClient client(server.local_endpoint());
    client.send("POST /v1/echo/a?x=1 HTTP/1.1\r\nHost: t\r\nAUTHORIZATION: Bearer t0ken\r\n"
                "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"id\":\"a\"}\n");
    echoed = client.read();
    // The same connection goes on (keep-alive).
    client.send("POST /v1/echo/exact HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    exact = client.read();
    client.send("POST /v1/other HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    shorter = client.read();
    client.send("GET /v1/echo/a HTTP/1.1\r\nHost: t\r\n\r\n");
    get_on_post = client.read();
    post_on_get = get({server.local_endpoint()}, "/healthz", http::verb::post);
    missing = get({server.local_endpoint()}, "/nope");
  }
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/v1/echo/a?x=1");
  CHECK(seen[0].path == "/v1/echo/a");
  CHECK(seen[0].header("Content-Type") == "application/json");
  CHECK(seen[0].header("Authorization") == "Bearer t0ken");  // names compare ignoring case
  CHECK_FALSE(seen[0].header("X-Missing").has_value());
  CHECK(seen[0].body == "{\"id\":\"a\"}\n");
  CHECK(echoed.result_int() == 201);
  CHECK(echoed.body() == "{\"id\":\"a\"}\n");
  CHECK(echoed["X-Seen"] == "Bearer t0ken");
  CHECK(echoed[http::field::content_type] == "application/json");
  CHECK(exact.body() == "exact\n");
  CHECK(shorter.body() == "shorter prefix\n");
  CHECK(get_on_post.result_int() == 405);
  CHECK(get_on_post[http::field::allow] == "POST");
  // The GET/HEAD paths answer as before routes existed.
  CHECK(post_on_get.result_int() == 405);
  CHECK(post_on_get.body() == "use GET\n");
  CHECK(missing.result_int() == 404);
  CHECK(missing.body() == "not found; try /healthz /v1/... /v1/echo/... /v1/echo/exact\n");
  CHECK(statuses == std::vector<unsigned>{201, 200, 200, 405, 405, 404});
}

TEST_CASE("http server: a body over the route's limit gets 413 without being read, then the connection closes",
          "[http][route][body-limit]") {
  asio::io_context io(1);
  std::vector<std::string> bodies;  // io thread only; read after join
  HttpServerOptions options;
  options.server_name = "tg-test";
  options.body_limit = 64;  // the GET/HEAD paths'
  HttpServer server(io, {asio::ip::make_address("127.0.0.1"), 0}, std::move(options));
  server.handle("/healthz", [](const std::string&, HttpRespond respond) { respond({200, "text/plain", "ok\n", {}}); });
  HttpRoute route = post_route("/v1/admin/", true, 1024);
  route.body_too_large = {413, "application/json", "{\"code\":8}\n", {}};
  server.handle(route, [&](HttpRequest request, HttpRespond respond) {
    bodies.push_back(request.body);
    respond({200, "text/plain", "took " + std::to_string(request.body.size()) + "\n", {}});
  });
  const auto endpoint = server.local_endpoint();
  Running running{io, server};

  SECTION("at the limit: taken") {
    RawClient client(endpoint);
    client.send("POST /v1/admin/X HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'a'));
    const auto response = client.read();
    CHECK(response.result_int() == 200);
    CHECK(response.body() == "took 1024\n");
  }
  SECTION("Content-Length over the limit: 413 before the body is sent, Connection: close") {
    RawClient client(endpoint);
    client.send("POST /v1/admin/X HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n");
    const auto response = client.read();
    CHECK(response.result_int() == 413);
    CHECK(response.body() == "{\"code\":8}\n");
    CHECK_FALSE(response.keep_alive());
    CHECK(client.closed());
  }
  SECTION("the whole oversize body sent at once: the 413 still arrives (the server reads it away)") {
    RawClient client(endpoint);
    client.send("POST /v1/admin/X HTTP/1.1\r\nHost: t\r\nContent-Length: 2097152\r\n\r\n" +
                std::string(2 * 1024 * 1024, 'a'));
    const auto response = client.read();
    CHECK(response.result_int() == 413);
    CHECK(client.closed());
  }
  SECTION("a chunked body past the limit: 413") {
    RawClient client(endpoint);
    client.send("POST /v1/admin/X HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "400\r\n" + std::string(1024, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n");
    const auto response = client.read();
    CHECK(response.result_int() == 413);
    CHECK(client.closed());
  }
  SECTION("Expect: 100-continue: 100 Continue, then the body is read") {
    RawClient client(endpoint);
    client.send("POST /v1/admin/X HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    const auto interim = client.read();
    CHECK(interim.result_int() == 100);
    client.send("hello");
    const auto response = client.read();
    CHECK(response.result_int() == 200);
    CHECK(response.body() == "took 5\n");
  }
  SECTION("Expect: 100-continue over the limit: 413 at once, no 100") {
    RawClient client(endpoint);
    client.send("POST /v1/admin/X HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4096\r\n\r\n");
    const auto response = client.read();
    CHECK(response.result_int() == 413);
  }
  SECTION("the GET/HEAD paths keep the server-wide limit: a larger body drops the connection") {
    RawClient client(endpoint);
    client.send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n");
    CHECK(client.closed());
    RawClient within(endpoint);
    within.send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'a'));
    CHECK(within.read().result_int() == 200);
  }
}

using ::tg::test::FileLimit;
using ::tg::test::Filler;

TEST_CASE("http server: out of descriptors, accept backs off and recovers", "[http][backoff][fd-exhaustion]") {
  asio::io_context io(1);
  std::uint64_t counted = 0;  // io thread only; read after join
  HttpServerOptions options;
  options.server_name = "tg-test";
  options.on_accept_error = [&] { ++counted; };
  HttpServer server(io, {asio::ip::make_address("127.0.0.1"), 0}, std::move(options));
  server.handle("/healthz", [](const std::string&, HttpRespond respond) { respond({200, "text/plain", "ok\n"}); });
  const auto endpoint = server.local_endpoint();
  std::thread runner([&] { io.run(); });

  // The client socket exists before the descriptors run out; connecting
  // needs none, and the kernel completes the handshake into the backlog.
  asio::io_context client_io;
  beast::tcp_stream stream(client_io);
  stream.socket().open(tcp::v4());
  {
    FileLimit limit(256);
    Filler filler;
    filler.fill();
    REQUIRE(filler.last_errno == EMFILE);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(endpoint);

    // The server cannot accept it: wait until it failed a few times.
    REQUIRE(eventually([&] { return server.accept_errors() >= 4; }));
    // No spinning: 50, 100, 200 ms waits lie between those failures, so a
    // loop that retried at once would have failed thousands of times by now.
    CHECK(server.accept_errors() < 20);
    CHECK(server.accept_attempts() < 20);

    filler.release();
  }
  // Descriptors are back: the next try (at most 1 s later) takes the connection.
  stream.expires_after(std::chrono::seconds(10));
  const auto response = exchange(stream, "/healthz");
  CHECK(response.result_int() == 200);
  CHECK(response.body() == "ok\n");
  const std::uint64_t errors = server.accept_errors();
  asio::post(io, [&] { server.stop(); });
  runner.join();
  CHECK(counted == errors);
  CHECK(errors >= 4);
}

}  // namespace
}  // namespace tg::net
