// The HTTP port over a real loopback socket (port 0).
#include "server/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <thread>

namespace tg::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

http::response<http::string_body> get(const asio::ip::tcp::endpoint& endpoint, const std::string& target,
                                      http::verb verb = http::verb::get) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(endpoint);
  http::request<http::empty_body> request(verb, target, 11);
  request.set(http::field::host, "localhost");
  request.keep_alive(false);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return response;
}

TEST_CASE("http server: answers through the handler, path without query", "[http]") {
  asio::io_context io(1);
  std::vector<std::string> seen;  // io thread only; read after join
  HttpServer server(io, {asio::ip::make_address("127.0.0.1"), 0},
                    [&](const std::string& method, const std::string& path) {
                      seen.push_back(method + " " + path);
                      if (path == "/healthz") return HttpResponse{200, "text/plain", "ok\n"};
                      return HttpResponse{404, "text/plain", "no\n"};
                    });
  const auto endpoint = server.local_endpoint();
  CHECK(endpoint.port() != 0);
  std::thread runner([&] { io.run(); });
  const auto healthz = get(endpoint, "/healthz?verbose=1");
  const auto missing = get(endpoint, "/nope");
  asio::post(io, [&] { server.stop(); });
  runner.join();  // nothing left once the acceptor is closed and sessions ended
  CHECK(healthz.result_int() == 200);
  CHECK(healthz.body() == "ok\n");
  CHECK(healthz[http::field::server] == "tg-control");
  CHECK(missing.result_int() == 404);
  CHECK(seen == std::vector<std::string>{"GET /healthz", "GET /nope"});
}

}  // namespace
}  // namespace tg::control
