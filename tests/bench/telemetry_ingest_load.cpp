// tg-bench-telemetry: simulated proxies speaking Telemetry.Report to a running
// tg-control (tests/bench/telemetry_ingest.sh; not run by CI).
//
//   tg-bench-telemetry --target 127.0.0.1:7000 --proxies 100 --series 1000 --seconds 20 [--interval-ms 1000]
//
// Each proxy is one thread with its own channel and stream: every interval it
// sends one batch of `--series` route series (the same routes in every proxy,
// as proxies of one fleet serve the same table), each with requests, a gateway
// error kind and a full histogram, then reads that batch's ack. An ack slower
// than the interval delays the next batch: the achieved rate then falls short
// of the target, which is what "tg-control does not keep up" looks like here.
// Prints one line of figures: batches and series per second offered and
// stored, ack latency p50/p99/max (send to ack), stream failures.
#include "tenantgate/v1/telemetry.grpc.pb.h"

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace v1 = tenantgate::v1;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Totals {
  std::atomic<std::uint64_t> sent{0}, stored{0}, other{0}, failures{0};
  std::mutex mutex;
  std::vector<double> ack_ms;
};

void run_proxy(const std::string& target, int index, int series, int tenants, std::chrono::milliseconds interval,
               Clock::time_point end, Totals& totals) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  auto stub = v1::Telemetry::NewStub(channel);
  std::mt19937 random(static_cast<unsigned>(index));
  const std::string node = "bench-" + std::to_string(index);
  const std::string boot = "boot-" + std::to_string(now_ms()) + "-" + std::to_string(index);
  std::uint64_t seq = 0;
  std::vector<double> latencies;
  auto next = Clock::now();
  while (Clock::now() < end) {
    grpc::ClientContext context;
    auto stream = stub->Report(&context);
    bool broken = false;
    while (!broken && Clock::now() < end) {
      std::this_thread::sleep_until(next);
      next += interval;
      v1::TelemetryBatch batch;
      batch.set_node_id(node);
      batch.set_boot_id(boot);
      batch.set_seq(++seq);
      const std::int64_t now = now_ms();
      batch.set_interval_start_unix_ms(now - interval.count());
      batch.set_interval_ms(static_cast<std::uint32_t>(interval.count()));
      batch.set_sent_unix_ms(now);
      for (int s = 0; s < series; ++s) {
        v1::SeriesDelta* d = batch.add_series();
        d->set_tenant("t" + std::to_string(s % tenants));
        d->set_route("r" + std::to_string(s));
        d->set_service("svc" + std::to_string(s % (tenants * 4)));
        const std::uint64_t ok = 1 + random() % 100, failed = random() % 3;
        for (std::uint64_t n : {std::uint64_t{0}, ok, std::uint64_t{0}, std::uint64_t{0}, failed})
          d->add_requests_by_class(n);
        if (failed) (*d->mutable_gateway_errors())["upstream_timeout"] = failed;
        (*d->mutable_fates())["ok"] = ok;
        d->set_bytes_out(ok * 512);
        auto* h = d->mutable_latency();
        std::uint64_t left = ok + failed, sum = 0;
        for (int b = 0; b < 21; ++b) {
          const std::uint64_t n = b == 6 ? left : (b >= 2 && b < 6 ? std::min<std::uint64_t>(left, random() % 20) : 0);
          left -= n;
          sum += n;
          h->add_buckets(n);
        }
        h->set_count(sum);
        h->set_sum_us(sum * 1500);
      }
      const auto sent_at = Clock::now();
      if (!stream->Write(batch)) {
        broken = true;
        break;
      }
      totals.sent.fetch_add(1, std::memory_order_relaxed);
      v1::TelemetryAck ack;
      if (!stream->Read(&ack)) {
        broken = true;
        break;
      }
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count());
      (ack.result() == v1::TELEMETRY_RESULT_STORED ? totals.stored : totals.other).fetch_add(1, std::memory_order_relaxed);
      if (next < Clock::now()) next = Clock::now();  // behind: no catch-up burst, the rate just falls
    }
    if (broken) {
      totals.failures.fetch_add(1, std::memory_order_relaxed);
      --seq;  // not acked: resent as the same seq on the next stream (a new batch here; the figures allow it)
    }
    context.TryCancel();
    stream->Finish();
  }
  std::lock_guard lock(totals.mutex);
  totals.ack_ms.insert(totals.ack_ms.end(), latencies.begin(), latencies.end());
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tg-bench-telemetry: simulated proxies reporting telemetry to tg-control"};
  std::string target = "127.0.0.1:7000";
  int proxies = 10, series = 100, seconds = 10, tenants = 10;
  long long interval_ms = 1000;
  app.add_option("--target", target, "tg-control gRPC address");
  app.add_option("--proxies", proxies, "simulated proxies (one stream and thread each)");
  app.add_option("--series", series, "route series per batch (per proxy per interval)");
  app.add_option("--tenants", tenants, "tenants the series spread over");
  app.add_option("--seconds", seconds, "how long to send");
  app.add_option("--interval-ms", interval_ms, "batch interval of each proxy");
  CLI11_PARSE(app, argc, argv);
  Totals totals;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < proxies; ++i)
    threads.emplace_back(run_proxy, target, i, series, tenants, std::chrono::milliseconds(interval_ms), end,
                         std::ref(totals));
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double offered = static_cast<double>(proxies) * 1000.0 / static_cast<double>(interval_ms);
  std::printf("proxies=%d series=%d interval_ms=%lld seconds=%.1f offered_batches_s=%.1f sent=%llu stored=%llu "
              "other=%llu stored_batches_s=%.1f stored_series_s=%.0f ack_p50_ms=%.1f ack_p99_ms=%.1f "
              "ack_max_ms=%.1f stream_failures=%llu\n",
              proxies, series, interval_ms, elapsed, offered, static_cast<unsigned long long>(totals.sent.load()),
              static_cast<unsigned long long>(totals.stored.load()), static_cast<unsigned long long>(totals.other.load()),
              static_cast<double>(totals.stored.load()) / elapsed,
              static_cast<double>(totals.stored.load()) * series / elapsed, percentile(totals.ack_ms, 0.5),
              percentile(totals.ack_ms, 0.99), percentile(totals.ack_ms, 1.0),
              static_cast<unsigned long long>(totals.failures.load()));
  return totals.failures.load() == 0 ? 0 : 1;
}
