// HTTP/1.0 clients and chunked upstream responses: HTTP/1.0 has no chunked
// coding, so the proxy removes the framing and ends the body by closing.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/body_pattern.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"

using namespace tg::itest;

TEST_CASE("a chunked response reaches an HTTP/1.0 client without chunked framing", "[proxy][http10]") {
  Backend backend("b1");
  Behaviour large;
  large.mode = BackendMode::large;
  large.size = 300 * 1000 + 17;  // many chunks, not a multiple of the block size
  large.chunked = true;
  large.block_size = 4096 + 3;
  backend.set_behaviour(large);
  ProxyProcess proxy(single_service_config({backend.address()}));

  HttpClient client(proxy.port());
  client.send("GET /big HTTP/1.0\r\nHost: t\r\n\r\n");
  const HttpResponse response = client.read_response();
  REQUIRE(response.status == 200);
  CHECK(response.header("transfer-encoding").empty());
  CHECK(iequals(response.header("connection"), "close"));
  // The body is the backend's data, byte for byte, delimited by the close.
  REQUIRE(response.body.size() == large.size);
  std::string expected(large.size, '\0');
  fill_pattern(0, expected.data(), expected.size());
  CHECK(response.body == expected);
  CHECK(client.wait_for_close(std::chrono::seconds(2)));
}

TEST_CASE("an HTTP/1.1 client still gets the chunked framing as sent", "[proxy][http10]") {
  Backend backend("b1");
  Behaviour large;
  large.mode = BackendMode::large;
  large.size = 50'000;
  large.chunked = true;
  backend.set_behaviour(large);
  ProxyProcess proxy(single_service_config({backend.address()}));
  HttpClient client(proxy.port());
  const HttpResponse response = client.get("/big");
  REQUIRE(response.status == 200);
  CHECK(iequals(response.header("transfer-encoding"), "chunked"));
  CHECK(response.body.size() == large.size);
}
