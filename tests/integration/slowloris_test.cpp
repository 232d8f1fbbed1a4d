// Slowloris (a crowd of clients that keep connections busy by sending their
// heads a byte at a time): every such connection is closed at the
// header-read deadline, however steadily it drips, while prompt clients keep
// being served at once. The test client is an equivalent of slowhttptest's
// slowloris mode (-H): many connections, each sending a partial head and then
// one more header byte at a fixed interval.
#include "proxy_test_helpers.hpp"
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/proxy_process.hpp"

#include <algorithm>
#include <thread>
#include <vector>

using namespace tg::itest;

TEST_CASE("a slowloris crowd is cut at the header deadline while prompt clients are served",
          "[proxy][limits][timeouts][slowloris]") {
  constexpr std::size_t kSlowClients = 300;
  Backend backend("b1");
  ProxyOptions options;
  options.extra_args = {"--header-timeout", "1s"};
  ProxyProcess proxy(single_service_config({backend.address()}), options);

  std::vector<TcpSocket> slow;
  slow.reserve(kSlowClients);
  for (std::size_t i = 0; i < kSlowClients; ++i) {
    slow.emplace_back(proxy.port(), 2s);
    slow.back().send_all("GET /slow HTTP/1.1\r\nHost: t\r\n", 2s);
  }
  const auto start = Clock::now();
  std::vector<bool> open(kSlowClients, true);
  std::vector<double> closed_at(kSlowClients, 0);
  std::size_t still_open = kSlowClients;
  double worst_prompt_ms = 0;
  std::size_t prompt_requests = 0;
  // Drip one header byte per connection every 100 ms; between rounds, a
  // prompt client does a request on a fresh connection.
  while (still_open > 0 && elapsed_ms(start) < 5000) {
    for (std::size_t i = 0; i < kSlowClients; ++i) {
      if (!open[i]) continue;
      bool closed = false;
      try {
        slow[i].send_all("X", 200ms);
        std::string ignored;
        closed = slow[i].receive_some(ignored, 4096, 0ms) == 0;
      } catch (const SocketError& error) {
        closed = error.kind() != SocketError::Kind::timeout;
      }
      if (closed) {
        open[i] = false;
        closed_at[i] = elapsed_ms(start);
        --still_open;
      }
    }
    const auto request_start = Clock::now();
    const HttpResponse prompt = http_get(proxy.port(), "/fast");
    worst_prompt_ms = std::max(worst_prompt_ms, elapsed_ms(request_start));
    ++prompt_requests;
    REQUIRE(prompt.status == 200);
    std::this_thread::sleep_for(100ms);  // the drip interval of the attack, not a wait for a result
  }
  INFO("prompt requests: " << prompt_requests << ", worst latency " << worst_prompt_ms << " ms");
  CHECK(still_open == 0);
  const double first = *std::min_element(closed_at.begin(), closed_at.end());
  const double last = *std::max_element(closed_at.begin(), closed_at.end());
  INFO("slow connections closed between " << first << " and " << last << " ms");
  CHECK(first >= 800);   // not before the deadline (1 s from each connection's first byte)
  CHECK(last < 3500);    // and all of them soon after it
  CHECK(worst_prompt_ms < 500);
  CHECK(prompt_requests >= 8);
  CHECK(backend.requests() == prompt_requests);  // no slow head ever reached the backend
  CHECK(metric_settles(proxy, "tg_header_timeouts_total", {}, double(kSlowClients)) == double(kSlowClients));
}
