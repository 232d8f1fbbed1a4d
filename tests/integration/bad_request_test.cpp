// Malformed and ambiguous requests (docs/life-of-a-request.md, phase 2): 400 bad_request and a
// closed connection; nothing reaches the backend.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"

using namespace tg::itest;

namespace {

// Sends `raw`, expects 400 bad_request then a close, and no backend request.
void check_rejected(const ProxyProcess& proxy, const Backend& backend, const std::string& raw) {
  INFO("request bytes: '" << raw << "'");
  HttpClient client(proxy.port());
  client.send(raw);
  check_error_response(client.read_response(), 400, "bad_request");
  CHECK(client.wait_for_close(2s));
  CHECK(backend.requests() == 0);
}

}  // namespace

TEST_CASE("a garbage request line gets 400 and a close", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  check_rejected(proxy, backend, "HELLO\r\n\r\n");
  check_rejected(proxy, backend, "GET /x\r\nHost: t\r\n\r\n");            // no version
  check_rejected(proxy, backend, "G@T /x HTTP/1.1\r\nHost: t\r\n\r\n");    // bad method token
  check_rejected(proxy, backend, "GET /x HTTP/1.1\r\nBad Header: v\r\n\r\n");  // space in a field name
}

TEST_CASE("an HTTP/1.1 request without Host gets 400", "[proxy][protocol]") {
  // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  check_rejected(proxy, backend, "GET /x HTTP/1.1\r\n\r\n");
}

TEST_CASE("Content-Length with Transfer-Encoding gets 400 (smuggling)", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  check_rejected(proxy, backend,
                 "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n");
  check_rejected(proxy, backend,
                 "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                 "0\r\n\r\n");
}

TEST_CASE("bad or conflicting Content-Length gets 400", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  check_rejected(proxy, backend, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello");
  check_rejected(proxy, backend, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n");
  check_rejected(proxy, backend, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n");
}

TEST_CASE("an unknown Transfer-Encoding gets 400", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}));
  check_rejected(proxy, backend, "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n");
}

TEST_CASE("a bad chunk size gets 400 before anything is answered", "[proxy][protocol]") {
  Backend backend("b1");
  ProxyProcess proxy(single_service_config({backend.address()}, {"retry: { attempts: 1 }"}));
  HttpClient client(proxy.port());
  client.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  check_error_response(client.read_response(), 400, "bad_request");
  CHECK(client.wait_for_close(2s));
  // The head may have been forwarded before the chunk was seen, but the
  // backend never completed a response for that body.
  CHECK(backend.responses_completed() == 0);
}
