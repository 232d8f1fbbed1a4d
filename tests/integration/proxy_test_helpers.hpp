// Assertions shared by the proxy test files (Catch2 macros: test thread only).
#pragma once

#include "support/http_client.hpp"
#include "support/json_bodies.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"
#include "support/proxy_process.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace tg::itest {

// The contract's error response: `status`, Content-Type application/json,
// body {"error":"<kind>","request_id":"<id>"} whose id is the X-Request-Id
// header of the response.
inline void check_error_response(const HttpResponse& response, int status, std::string_view kind) {
  INFO("response:\n" << response.describe());
  CHECK(response.status == status);
  CHECK(response.header("content-type").rfind("application/json", 0) == 0);
  const ErrorBody error = parse_error(response);
  CHECK(error.error == kind);
  CHECK_FALSE(error.request_id.empty());
  CHECK(error.request_id == response.header("x-request-id"));
}

// True when `id` is a valid request id per the contract: 1..128 chars of
// [A-Za-z0-9._:-].
inline bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Polls /metrics until sum(name, labels) == expected (counters may be
// gathered from the workers with a short delay) and returns the last sum, so
// `CHECK(metric_settles(...) == expected)` reports the value seen.
inline double metric_settles(const ProxyProcess& proxy, const std::string& name, const Labels& labels,
                             double expected, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  double value = -1;
  std::string series;
  const bool settled = poll_for(timeout, [&] {
    const PrometheusText metrics = proxy.metrics();
    value = metrics.sum(name, labels);
    series = metrics.describe(name);
    return value == expected;
  }, std::chrono::milliseconds(20));
  // Attached to the caller's CHECK: what the series looked like.
  if (!settled) UNSCOPED_INFO("series " << name << " at the deadline:\n" << series);
  return value;
}

}  // namespace tg::itest
