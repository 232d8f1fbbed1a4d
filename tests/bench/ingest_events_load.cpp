// tg-bench-ingest: the load tool of tests/bench/ingest_events.sh (not run by
// CI). CLIENTS threads POST batches of BATCH events to /v1/ingest/events for
// SECONDS, one request in flight each, and print what tg-control took:
//
//   events_per_s=... requests=... overloaded=... errors=... p50_ms=... p99_ms=...
//
// --grouped: every event of a run has the same message (one group, its count
// grows); otherwise each event gets its own fingerprint (a new group each).
#include "tg_client.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app("tg-bench-ingest: POST /v1/ingest/events load");
  std::string http, token_file, service = "web";
  int clients = 4, seconds = 10, batch = 100;
  bool grouped = false;
  app.add_option("--http", http, "tg-control HTTP port ADDR:PORT")->required();
  app.add_option("--token-file", token_file, "file with the ingest secret")->required();
  app.add_option("--service", service, "the service the events name");
  app.add_option("--clients", clients, "concurrent clients");
  app.add_option("--seconds", seconds, "run time");
  app.add_option("--batch", batch, "events per request");
  app.add_flag("--grouped", grouped, "one group (same message) instead of a group per event");
  CLI11_PARSE(app, argc, argv);
  std::string token;
  if (FILE* f = std::fopen(token_file.c_str(), "r")) {
    char line[256] = {};
    if (std::fgets(line, sizeof line, f)) token = line;
    std::fclose(f);
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();

  std::atomic<std::uint64_t> events{0}, requests{0}, overloaded{0}, errors{0}, sequence{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      std::vector<double> mine;
      while (std::chrono::steady_clock::now() < deadline) {
        std::string body = "{\"events\":[";
        for (int i = 0; i < batch; ++i) {
          tg::client::Event e;
          e.service = service;
          e.instance = "pod-" + std::to_string(c);
          e.kind = "OrderFailed";
          e.message = "order " + std::to_string(sequence.fetch_add(1)) + " failed";
          if (!grouped) e.fingerprint = "fp-" + std::to_string(c) + "-" + e.message;
          e.detail_json = "{\"attempt\":1}";
          body += (i ? "," : "") + tg::client::event_json(e);
        }
        body += "]}";
        const auto start = std::chrono::steady_clock::now();
        const auto result = tg::client::post_json(http, "/v1/ingest/events", token, body, std::chrono::seconds(10));
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        ++requests;
        if (result.ok()) events += static_cast<std::uint64_t>(batch);
        else if (result.status == 503 || result.status == 429) ++overloaded;
        else ++errors;
      }
      std::lock_guard lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  for (auto& t : threads) t.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto pct = [&](double p) {
    return latencies_ms.empty() ? 0.0 : latencies_ms[std::min(latencies_ms.size() - 1, static_cast<std::size_t>(p * latencies_ms.size()))];
  };
  std::printf("events_per_s=%.0f requests=%llu overloaded=%llu errors=%llu p50_ms=%.2f p99_ms=%.2f\n",
              static_cast<double>(events.load()) / seconds, static_cast<unsigned long long>(requests.load()),
              static_cast<unsigned long long>(overloaded.load()), static_cast<unsigned long long>(errors.load()),
              pct(0.5), pct(0.99));
  return errors.load() == 0 ? 0 : 1;
}
