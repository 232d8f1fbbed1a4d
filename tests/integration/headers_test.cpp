// Header handling (contract "Headers"): Host preserved, X-Forwarded-For
// appended, X-Forwarded-Proto set, X-Request-Id kept or generated and echoed,
// traceparent passed, hop-by-hop and Connection-listed headers removed.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/json_bodies.hpp"
#include "support/proxy_process.hpp"

using namespace tg::itest;

namespace {

// --trust-request-id: the tests' client on loopback is no trusted proxy, and
// the id tests need its X-Request-Id kept (request_id_test covers the default).
struct EchoProxy {
  Backend backend{"b1"};
  ProxyProcess proxy{single_service_config({backend.address()}), ProxyOptions{.extra_args = {"--trust-request-id"}}};
};

EchoedRequest echo_of(const HttpResponse& response) {
  INFO(response.describe());
  REQUIRE(response.status == 200);
  return parse_echo(response);
}

}  // namespace

TEST_CASE("Host is forwarded unchanged", "[proxy][headers]") {
  EchoProxy setup;
  HttpClient client(setup.proxy.port());
  const EchoedRequest echo = echo_of(client.get("/", {{"Host", "Example.test:8080"}}));
  CHECK(echo.headers.get_all("host") == std::vector<std::string>{"Example.test:8080"});
}

TEST_CASE("X-Forwarded-For gets the peer address appended", "[proxy][headers]") {
  EchoProxy setup;
  HttpClient client(setup.proxy.port());
  SECTION("without one from the client") {
    const EchoedRequest echo = echo_of(client.get("/"));
    CHECK(echo.headers.get_all("x-forwarded-for") == std::vector<std::string>{"127.0.0.1"});
  }
  SECTION("appended to the client's") {
    const EchoedRequest echo = echo_of(client.get("/", {{"X-Forwarded-For", "1.2.3.4"}}));
    CHECK(echo.headers.get_all("x-forwarded-for") == std::vector<std::string>{"1.2.3.4, 127.0.0.1"});
  }
  SECTION("appended to a list") {
    const EchoedRequest echo = echo_of(client.get("/", {{"X-Forwarded-For", "1.2.3.4, 5.6.7.8"}}));
    CHECK(echo.headers.get_all("x-forwarded-for") ==
          std::vector<std::string>{"1.2.3.4, 5.6.7.8, 127.0.0.1"});
  }
}

TEST_CASE("X-Forwarded-Proto is http", "[proxy][headers]") {
  EchoProxy setup;
  HttpClient client(setup.proxy.port());
  CHECK(echo_of(client.get("/")).headers.get_all("x-forwarded-proto") == std::vector<std::string>{"http"});
  // A client cannot claim https on a plain-HTTP listener.
  CHECK(echo_of(client.get("/", {{"X-Forwarded-Proto", "https"}})).headers.get_all("x-forwarded-proto") ==
        std::vector<std::string>{"http"});
}

TEST_CASE("X-Request-Id is kept when valid, else generated, and always echoed", "[proxy][headers]") {
  EchoProxy setup;
  HttpClient client(setup.proxy.port());

  SECTION("a valid id is kept") {
    const std::string id = "Abc.123_x:y-z";
    const HttpResponse response = client.get("/", {{"X-Request-Id", id}});
    CHECK(response.header("x-request-id") == id);
    CHECK(echo_of(response).headers.get_all("x-request-id") == std::vector<std::string>{id});
  }
  SECTION("a 128-character id is valid") {
    const std::string id(128, 'a');
    const HttpResponse response = client.get("/", {{"X-Request-Id", id}});
    CHECK(response.header("x-request-id") == id);
    CHECK(echo_of(response).headers.value("x-request-id") == id);
  }
  SECTION("a missing id is generated, the same upstream and downstream, unique per request") {
    const HttpResponse first = client.get("/");
    const HttpResponse second = client.get("/");
    const std::string id = first.header("x-request-id");
    CHECK(is_valid_request_id(id));
    CHECK(echo_of(first).headers.get_all("x-request-id") == std::vector<std::string>{id});
    CHECK(is_valid_request_id(second.header("x-request-id")));
    CHECK(second.header("x-request-id") != id);
  }
  SECTION("invalid ids are replaced") {
    for (const std::string& bad : {std::string("has space"), std::string("semi;colon"), std::string(129, 'a'),
                                  std::string("quote\"d"), std::string("slash/ed")}) {
      INFO("client id: '" << bad << "'");
      const HttpResponse response = client.get("/", {{"X-Request-Id", bad}});
      const std::string id = response.header("x-request-id");
      CHECK(id != bad);
      CHECK(is_valid_request_id(id));
      CHECK(echo_of(response).headers.get_all("x-request-id") == std::vector<std::string>{id});
    }
  }
  SECTION("an empty id is replaced") {
    const HttpResponse response = client.get("/", {{"X-Request-Id", ""}});
    CHECK(is_valid_request_id(response.header("x-request-id")));
  }
}

TEST_CASE("traceparent passes untouched", "[proxy][headers]") {
  EchoProxy setup;
  HttpClient client(setup.proxy.port());
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const EchoedRequest echo = echo_of(client.get("/", {{"traceparent", traceparent}, {"tracestate", "k=v"}}));
  CHECK(echo.headers.get_all("traceparent") == std::vector<std::string>{traceparent});
  CHECK(echo.headers.value("tracestate") == "k=v");
}

TEST_CASE("hop-by-hop and Connection-listed headers are not forwarded", "[proxy][headers]") {
  EchoProxy setup;
  HttpClient client(setup.proxy.port());

  SECTION("keep-alive request") {
    const EchoedRequest echo = echo_of(client.get("/", {{"Connection", "keep-alive, X-Foo"},
                                                        {"Keep-Alive", "timeout=5"},
                                                        {"Proxy-Connection", "keep-alive"},
                                                        {"TE", "trailers"},
                                                        {"X-Foo", "dropped"},
                                                        {"X-Bar", "kept"},
                                                        {"Proxy-Authorization", "Basic eDp5"}}));
    INFO(echo.headers.describe());
    CHECK_FALSE(echo.headers.has("x-foo"));
    CHECK_FALSE(echo.headers.has("keep-alive"));
    CHECK_FALSE(echo.headers.has("proxy-connection"));
    CHECK_FALSE(echo.headers.has("te"));
    // The proxy may speak its own Connection header upstream, never the client's.
    for (const std::string& value : echo.headers.get_all("connection")) {
      CHECK(value.find("X-Foo") == std::string::npos);
      CHECK(value.find("x-foo") == std::string::npos);
    }
    CHECK(echo.headers.value("x-bar") == "kept");
    // Not hop-by-hop here (contract): forwarded.
    CHECK(echo.headers.value("proxy-authorization") == "Basic eDp5");
  }
  SECTION("Connection: close, X-Foo drops X-Foo and closes after the response") {
    const HttpResponse response = client.get("/", {{"Connection", "close, X-Foo"}, {"X-Foo", "dropped"},
                                                   {"X-Bar", "kept"}});
    const EchoedRequest echo = echo_of(response);
    INFO(echo.headers.describe());
    CHECK_FALSE(echo.headers.has("x-foo"));
    CHECK(echo.headers.value("x-bar") == "kept");
    CHECK(iequals(response.header("connection"), "close"));
    CHECK(client.wait_for_close(2s));
  }
  SECTION("the upstream connection is still pooled after a client's Connection: close") {
    HttpClient first(setup.proxy.port());
    REQUIRE(first.get("/", {{"Connection", "close"}}).status == 200);
    HttpClient second(setup.proxy.port());
    REQUIRE(second.get("/").status == 200);
    CHECK(setup.backend.connections() == 1);
  }
}

TEST_CASE("hop-by-hop headers of the backend's response are not forwarded", "[proxy][headers]") {
  Behaviour behaviour = Behaviour::fixed(200, "ok");
  behaviour.headers = {{"Connection", "X-Upstream-Secret"}, {"X-Upstream-Secret", "s"}, {"Keep-Alive", "timeout=1"},
                       {"X-Upstream-Public", "p"}};
  Backend backend("b1", behaviour);
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/");
  INFO(response.describe());
  CHECK(response.status == 200);
  CHECK(response.body == "ok");
  CHECK_FALSE(response.headers.has("x-upstream-secret"));
  CHECK_FALSE(response.headers.has("keep-alive"));
  CHECK(response.header("x-upstream-public") == "p");
  CHECK(is_valid_request_id(response.header("x-request-id")));
  // The client connection is still keep-alive.
  CHECK(client.get("/").status == 200);
}
