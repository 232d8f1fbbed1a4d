// The data plane's input rules through the running proxy
// (docs/http-conformance.md): chunk sizes with leading zeros and canonical
// chunk framing, runs of SP in the request line, Host spellings, a repeated
// routing header, reject_encoded_slashes, and whose X-Request-Id is kept.
//
// Cases tagged [wiring] check behaviour whose pieces live in proxy/http and
// proxy/routing but that the request session has to call; they fail until it
// does.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"
#include "support/raw_server.hpp"

#include <mutex>

using namespace tg::itest;

namespace {

// An upstream that records the raw bytes of one chunked request (head and
// body, up to the end of its last chunk) and answers `answer`.
struct RecordingUpstream {
  explicit RecordingUpstream(std::string answer_ = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      : answer(std::move(answer_)) {}
  std::string answer;
  std::mutex mutex;
  std::string received;
  RawServer server{[this](TcpSocket& connection) {
    std::string bytes;
    // The bodies sent here end in a zero-size chunk without trailers.
    while (bytes.find("\r\n\r\n") == std::string::npos || bytes.size() < bytes.find("\r\n\r\n") + 5 ||
           !bytes.ends_with("0\r\n\r\n")) {
      if (connection.receive_some(bytes, 65536, std::chrono::seconds(5)) == 0) break;
    }
    {
      std::lock_guard lock(mutex);
      received = bytes;
    }
    connection.send_all(answer, std::chrono::seconds(5));
    std::string ignored;
    connection.receive_some(ignored, 4096, std::chrono::seconds(5));
  }};
  std::string body() {
    std::lock_guard lock(mutex);
    const auto end = received.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : received.substr(end + 4);
  }
  std::string head() {
    std::lock_guard lock(mutex);
    const auto end = received.find("\r\n\r\n");
    return end == std::string::npos ? received : received.substr(0, end + 4);
  }
};

const std::string kChunkedPost = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

// Reads raw bytes from `socket` until `done(bytes)` or the deadline.
template <typename Done>
std::string receive_until(TcpSocket& socket, Done done) {
  std::string bytes;
  poll_for(std::chrono::seconds(3), [&] {
    try {
      socket.receive_some(bytes, 65536, std::chrono::milliseconds(20));
    } catch (const SocketError&) {
    }
    return done(bytes);
  });
  return bytes;
}

}  // namespace

TEST_CASE("a chunk size with leading zeros is accepted", "[proxy][protocol][chunked]") {
  Backend backend("b");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  client.send(kChunkedPost + "000000000000000000000000000000000ea\r\n" + std::string(0xea, 'd') + "\r\n" +
              "00000000000000000000\r\n\r\n");
  const HttpResponse response = client.read_response();
  REQUIRE(response.status == 200);
  const EchoedRequest echo = parse_echo(response);
  CHECK(echo.body_length == 0xea);
  CHECK(echo.body == std::string(0xea, 'd'));
  CHECK(client.get("/again").status == 200);  // the connection stayed in step
}

TEST_CASE("a chunked request body is forwarded in canonical framing", "[proxy][protocol][chunked][wiring]") {
  RecordingUpstream upstream;
  ProxyProcess proxy(single_service_config({upstream.server.address()}));
  HttpClient client(proxy.port());
  SECTION("leading zeros and upper-case digits") {
    client.send(kChunkedPost + "000000000000000000000000000000000EA\r\n" + std::string(0xea, 'd') + "\r\n0000\r\n\r\n");
    CHECK(client.read_response().status == 200);
    CHECK(upstream.body() == "ea\r\n" + std::string(0xea, 'd') + "\r\n0\r\n\r\n");
  }
  SECTION("extensions stripped") {
    client.send(kChunkedPost + "5;name=value\r\nhello\r\n6 ; a=\"b c\"\r\n world\r\n0;last\r\n\r\n");
    CHECK(client.read_response().status == 200);
    CHECK(upstream.body() == "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  }
  SECTION("a size line split across reads") {
    client.send(kChunkedPost + "00");
    client.send("0a;x\r\n0123456789\r\n00");
    client.send("0\r\n\r\n");
    CHECK(client.read_response().status == 200);
    CHECK(upstream.body() == "a\r\n0123456789\r\n0\r\n\r\n");
  }
}

TEST_CASE("a chunked response is relayed in canonical framing", "[proxy][protocol][chunked][wiring]") {
  RawServer upstream([](TcpSocket& connection) {
    read_head(connection, std::chrono::seconds(5));
    connection.send_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0002;x=y\r\nok\r\n00000\r\n\r\n",
                        std::chrono::seconds(5));
    std::string ignored;
    connection.receive_some(ignored, 4096, std::chrono::seconds(5));
  });
  ProxyProcess proxy(single_service_config({upstream.address()}));
  TcpSocket socket(proxy.port(), std::chrono::seconds(2));
  socket.send_all("GET /r HTTP/1.1\r\nHost: t\r\n\r\n", std::chrono::seconds(2));
  const std::string bytes = receive_until(socket, [](const std::string& b) { return b.ends_with("0\r\n\r\n"); });
  INFO("received: " << bytes);
  REQUIRE(bytes.find("\r\n\r\n") != std::string::npos);
  CHECK(bytes.substr(bytes.find("\r\n\r\n") + 4) == "2\r\nok\r\n0\r\n\r\n");
}

TEST_CASE("a request line with runs of SP is accepted and forwarded with single SPs", "[proxy][protocol]") {
  RawServer upstream([](TcpSocket& connection) {
    const std::string head = read_head(connection, std::chrono::seconds(5));
    const std::string line = head.substr(0, head.find("\r\n"));
    connection.send_all("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(line.size()) + "\r\n\r\n" + line,
                        std::chrono::seconds(5));
    std::string ignored;
    connection.receive_some(ignored, 4096, std::chrono::seconds(5));
  });
  ProxyProcess proxy(single_service_config({upstream.address()}));
  HttpClient client(proxy.port());
  client.send("GET   /x?q=1    HTTP/1.1\r\nHost: t\r\n\r\n");
  const HttpResponse response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "GET /x?q=1 HTTP/1.1");

  HttpClient tab(proxy.port());
  tab.send("GET\t/x HTTP/1.1\r\nHost: t\r\n\r\n");
  check_error_response(tab.read_response(), 400, "bad_request");
  CHECK(tab.wait_for_close(std::chrono::seconds(2)));
}

TEST_CASE("a Host with a non-numeric or out-of-range port gets 400", "[proxy][protocol][host]") {
  Backend backend("b");
  ProxyProcess proxy(single_service_config({backend.address()}));
  for (const char* host : {"a:evil", "a:70000", "a:1:2"}) {
    INFO("Host: " << host);
    HttpClient client(proxy.port());
    client.send(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
    check_error_response(client.read_response(), 400, "bad_request");
    CHECK(client.wait_for_close(std::chrono::seconds(2)));
  }
  CHECK(backend.requests() == 0);
}

TEST_CASE("a Host with a trailing dot is routed as the name without it", "[proxy][protocol][host][wiring]") {
  Backend a("a");
  ProxyProcess proxy(ConfigYaml().service("sa", {a.address()}).route("a", "{ host: a.localhost }", "sa").str());
  HttpClient client(proxy.port());
  client.send("GET /p HTTP/1.1\r\nHost: a.localhost.\r\n\r\n");
  const HttpResponse response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.header("x-backend-name") == "a");
  // The Host line goes upstream as the client wrote it.
  CHECK(parse_echo(response).headers.value("host") == "a.localhost.");
}

TEST_CASE("a header some route matches on, sent twice, gets 400", "[proxy][routing][wiring]") {
  Backend acme("acme");
  Backend other("other");
  ProxyProcess proxy(ConfigYaml()
                         .service("acme", {acme.address()})
                         .service("other", {other.address()})
                         .route("by-tenant", "{ header: { name: X-Tenant-ID, value: acme } }", "acme")
                         .route("rest", "{ path_prefix: / }", "other")
                         .str());
  HttpClient once(proxy.port());
  CHECK(once.get("/", {{"X-Tenant-ID", "acme"}}).header("x-backend-name") == "acme");

  HttpClient twice(proxy.port());
  twice.send("GET / HTTP/1.1\r\nHost: t\r\nX-Tenant-ID: acme\r\nx-tenant-id: evil\r\n\r\n");
  check_error_response(twice.read_response(), 400, "bad_request");
  CHECK(acme.requests() == 1);
  CHECK(other.requests() == 0);
}

TEST_CASE("reject_encoded_slashes: %2F is accepted on a route without the key", "[proxy][routing]") {
  Backend backend("b");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/files/a%2Fb");
  REQUIRE(response.status == 200);
  CHECK(parse_echo(response).target == "/files/a%2Fb");
}

TEST_CASE("reject_encoded_slashes: %2F, %5C and backslash get 400 on a route with the key",
          "[proxy][routing][wiring]") {
  Backend strict("strict");
  Backend open("open");
  ProxyProcess proxy(ConfigYaml()
                         .service("strict", {strict.address()})
                         .service("open", {open.address()})
                         .route("strict", "{ path_prefix: /strict/ }", "strict", {"reject_encoded_slashes: true"})
                         .route("open", "{ path_prefix: / }", "open")
                         .str());
  for (const char* path : {"/strict/a%2Fb", "/strict/a%2fb", "/strict/a%5Cb", "/strict/a\\b"}) {
    INFO("path: " << path);
    HttpClient client(proxy.port());
    check_error_response(client.get(path), 400, "bad_request");
  }
  HttpClient client(proxy.port());
  CHECK(client.get("/strict/a/b").status == 200);
  CHECK(client.get("/open/a%2Fb").status == 200);
  CHECK(strict.requests() == 1);
  CHECK(open.requests() == 1);
}

TEST_CASE("X-Request-Id is kept from any peer with --trust-request-id", "[proxy][headers]") {
  Backend backend("b");
  ProxyOptions options;
  options.extra_args = {"--trust-request-id"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/", {{"X-Request-Id", "client-chosen-1"}});
  CHECK(response.header("x-request-id") == "client-chosen-1");
  CHECK(parse_echo(response).headers.value("x-request-id") == "client-chosen-1");
}

TEST_CASE("X-Request-Id is kept from a trusted proxy by default", "[proxy][headers]") {
  Backend backend("b");
  ProxyOptions options;
  options.extra_args = {"--trusted-proxies", "127.0.0.0/8"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/", {{"X-Request-Id", "from-trusted-1"}});
  CHECK(response.header("x-request-id") == "from-trusted-1");
}

TEST_CASE("X-Request-Id from an untrusted peer is replaced by default", "[proxy][headers][wiring]") {
  Backend backend("b");
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/", {{"X-Request-Id", "client-chosen-2"}});
  const std::string id = response.header("x-request-id");
  CHECK(id != "client-chosen-2");
  CHECK(is_valid_request_id(id));
  // One id upstream: the generated one, the client's line dropped.
  CHECK(parse_echo(response).headers.get_all("x-request-id") == std::vector<std::string>{id});
}
