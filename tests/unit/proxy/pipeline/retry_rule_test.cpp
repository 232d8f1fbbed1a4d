// The one retry rule (proxy/pipeline/retry_rule.hpp).
#include "pipeline/retry_rule.hpp"
#include "upstream/upstream.hpp"
#include "table/worker_table.hpp"

#include "../http/parse_helpers.hpp"

#include <catch2/catch.hpp>

using namespace tg::proxy;
using tg::proxy::http::test::ParsedRequest;

namespace {

tg::config::Retry retry_on_all(int attempts = 3) {
  tg::config::Retry r;
  r.attempts = attempts;
  r.on = tg::config::retry_connect_failure | tg::config::retry_reset | tg::config::retry_timeout;
  return r;
}

constexpr std::uint64_t kBufferBody = 64 * 1024;

}  // namespace

TEST_CASE("nothing sent: retried whatever the method", "[proxy][pipeline][retry]") {
  ParsedRequest post("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  Exchange ex;
  ex.attempts = 1;
  ex.body.kind = BodyKind::fixed;
  ex.body.done = false;
  CHECK(decide_retry(ex, post.head, retry_on_all(), kBufferBody, {ErrorKind::connect_failure, Sent::nothing}) ==
        RetryDecision::next_instance);
}

TEST_CASE("bytes sent: retried only for an idempotent method with a body kept whole", "[proxy][pipeline][retry]") {
  ParsedRequest get("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ParsedRequest post("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  ParsedRequest put("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  Exchange ex;
  ex.attempts = 1;
  const TryFailure reset{ErrorKind::upstream_reset, Sent::some};
  CHECK(decide_retry(ex, get.head, retry_on_all(), kBufferBody, reset) == RetryDecision::next_instance);
  ex.body.kind = BodyKind::fixed;
  ex.body.done = true;
  ex.body.in_head_buffer = 5;
  CHECK(decide_retry(ex, post.head, retry_on_all(), kBufferBody, reset) == RetryDecision::answer);
  CHECK(decide_retry(ex, put.head, retry_on_all(), kBufferBody, reset) == RetryDecision::next_instance);
  SECTION("a streamed body is not kept whole") {
    ex.body.streamed = true;
    CHECK(decide_retry(ex, put.head, retry_on_all(), kBufferBody, reset) == RetryDecision::answer);
  }
  SECTION("buffer_body 0 keeps no body whole") {
    CHECK(decide_retry(ex, put.head, retry_on_all(), 0, reset) == RetryDecision::answer);
  }
  SECTION("a body larger than buffer_body is not kept whole") {
    CHECK(decide_retry(ex, put.head, retry_on_all(), 4, reset) == RetryDecision::answer);
  }
}

TEST_CASE("retries stop at attempts and at kinds retry.on does not list", "[proxy][pipeline][retry]") {
  ParsedRequest get("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Exchange ex;
  ex.attempts = 2;
  CHECK(decide_retry(ex, get.head, retry_on_all(2), kBufferBody, {ErrorKind::timeout, Sent::some}) ==
        RetryDecision::answer);
  ex.attempts = 1;
  tg::config::Retry only_connect = retry_on_all();
  only_connect.on = tg::config::retry_connect_failure;
  CHECK(decide_retry(ex, get.head, only_connect, kBufferBody, {ErrorKind::timeout, Sent::some}) ==
        RetryDecision::answer);
  CHECK(decide_retry(ex, get.head, only_connect, kBufferBody, {ErrorKind::connect_failure, Sent::nothing}) ==
        RetryDecision::next_instance);
  CHECK(decide_retry(ex, get.head, retry_on_all(), kBufferBody, {ErrorKind::client_closed, Sent::some}) ==
        RetryDecision::answer);
}

TEST_CASE("a stale pooled connection is replayed once on a fresh one, even past attempts", "[proxy][pipeline][retry]") {
  ParsedRequest get("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Exchange ex;
  ex.attempts = 1;
  const TryFailure stale{ErrorKind::upstream_reset, Sent::some, true};
  CHECK(decide_retry(ex, get.head, retry_on_all(1), kBufferBody, stale) == RetryDecision::fresh_connection);
  ex.stale_retry_used = true;
  CHECK(decide_retry(ex, get.head, retry_on_all(1), kBufferBody, stale) == RetryDecision::answer);
}

TEST_CASE("once the client has part of the response nothing is retried", "[proxy][pipeline][retry]") {
  ParsedRequest get("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Exchange ex;
  ex.attempts = 1;
  ex.response.started = true;
  CHECK(decide_retry(ex, get.head, retry_on_all(), kBufferBody, {ErrorKind::upstream_reset, Sent::some, true}) ==
        RetryDecision::answer);
}
