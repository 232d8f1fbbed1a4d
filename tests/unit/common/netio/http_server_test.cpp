// The shared HTTP port (common/netio/http_server) over real loopback sockets
// (port 0): per-path handlers, 404/405, and the accept back-off when the
// process runs out of file descriptors.
#include "netio/http_server.hpp"
#include "support/descriptor_exhaustion.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
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
