// tg-proxy's Telemetry.Report client against an in-process fake tg-control
// (Telemetry only: the table comes from --config; the table stream is
// refused UNIMPLEMENTED and retried, which changes nothing here). The fake
// commits like tg-control: a batch at or below the (node, boot) mark is a
// DUPLICATE, counted nowhere. Checks that the deltas stored add up to what
// the clients got, that a refused batch is dropped and counted, that
// batches are kept while tg-control is away and resent (none lost, none
// counted twice), and that SIGTERM sends the last interval.
#include "support/backend.hpp"
#include "support/config_yaml.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/process.hpp"
#include "support/proxy_process.hpp"
#include "support/temp_dir.hpp"

#include "tenantgate/v1/telemetry.grpc.pb.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

using namespace std::chrono_literals;
using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

// What the fake has committed; outlives the fake's servers, so a restarted
// fake knows the marks (as tg-control's database does).
class TelemetryStore {
 public:
  // Returns the ack for `batch`, committing it when it is new.
  v1::TelemetryAck commit(const v1::TelemetryBatch& batch) {
    std::lock_guard lock(mutex_);
    v1::TelemetryAck ack;
    ack.set_seq(batch.seq());
    ++received_;
    if (refuse_next_) {
      refuse_next_ = false;
      refused_.insert(batch.seq());
      ack.set_result(v1::TELEMETRY_RESULT_REFUSED);
      ack.set_reason("refused by the test");
      return ack;
    }
    std::uint64_t& mark = marks_[batch.node_id() + "/" + batch.boot_id()];
    if (batch.seq() <= mark) {
      ++duplicates_;
      ack.set_result(v1::TELEMETRY_RESULT_DUPLICATE);
      return ack;
    }
    mark = batch.seq();
    stored_.push_back(batch);
    ack.set_result(v1::TELEMETRY_RESULT_STORED);
    return ack;
  }

  void refuse_next() {
    std::lock_guard lock(mutex_);
    refuse_next_ = true;
  }
  std::vector<v1::TelemetryBatch> stored() const {
    std::lock_guard lock(mutex_);
    return stored_;
  }
  std::set<std::uint64_t> refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
  }
  std::uint64_t duplicates() const {
    std::lock_guard lock(mutex_);
    return duplicates_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> marks_;
  std::vector<v1::TelemetryBatch> stored_;
  std::set<std::uint64_t> refused_;
  std::uint64_t received_ = 0, duplicates_ = 0;
  bool refuse_next_ = false;
};

class FakeTelemetry final : public v1::Telemetry::Service {
 public:
  explicit FakeTelemetry(TelemetryStore& store) : store_(store) {}
  grpc::Status Report(grpc::ServerContext*, grpc::ServerReaderWriter<v1::TelemetryAck, v1::TelemetryBatch>* stream)
      override {
    v1::TelemetryBatch batch;
    while (stream->Read(&batch))
      if (!stream->Write(store_.commit(batch))) break;
    return grpc::Status::OK;
  }

 private:
  TelemetryStore& store_;
};

// A gRPC server with FakeTelemetry on 127.0.0.1 (port 0: one picked; else
// that port again, after a restart).
class FakeTelemetryServer {
 public:
  FakeTelemetryServer(TelemetryStore& store, int port = 0) : service_(store) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeTelemetryServer() { stop(); }
  void stop() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + 200ms);
    server_->Wait();
    server_.reset();
  }
  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  FakeTelemetry service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// The stored deltas of one series kind, summed over every batch.
struct Sums {
  std::array<std::uint64_t, 5> requests{};
  std::map<std::string, std::uint64_t> gateway_errors;
  std::map<std::string, std::uint64_t> fates;
  std::uint64_t retries = 0, latency_count = 0, bytes_out = 0;
};

Sums sum_series(const std::vector<v1::TelemetryBatch>& batches, const std::string& route, const std::string& instance) {
  Sums sums;
  for (const auto& batch : batches)
    for (const auto& s : batch.series()) {
      if (s.route() != route || s.instance() != instance) continue;
      for (int i = 0; i < s.requests_by_class_size() && i < 5; ++i) sums.requests[i] += s.requests_by_class(i);
      for (const auto& [kind, n] : s.gateway_errors()) sums.gateway_errors[kind] += n;
      for (const auto& [fate, n] : s.fates()) sums.fates[fate] += n;
      sums.retries += s.retries();
      sums.latency_count += s.latency().count();
      sums.bytes_out += s.bytes_out();
    }
  return sums;
}

std::string two_route_config(const Backend& backend) {
  ConfigYaml config;
  config.service("svc", {InstanceSpec(backend.address(), 1, "i1")});
  config.route("ok", "{ path_prefix: /ok }", "svc");
  config.route("fail", "{ path_prefix: /fail }", "svc");
  return config.str();
}

ProxyOptions telemetry_proxy(const std::string& target, std::vector<std::string> more = {},
                             const std::string& interval = "200ms") {
  ProxyOptions options;
  options.workers = 2;
  options.extra_args = {"--control", target, "--node-id", "telemetry-test", "--telemetry-interval", interval};
  options.extra_args.insert(options.extra_args.end(), more.begin(), more.end());
  return options;
}

double metric(const ProxyProcess& proxy, const std::string& name, const Labels& labels = {}) {
  return proxy.metrics().sum(name, labels);
}

// Sends `ok` GET /ok (200) and `fail` GET /fail (500 from the backend).
void send_traffic(const ProxyProcess& proxy, int ok, int fail) {
  HttpClient client(proxy.port());
  for (int i = 0; i < ok; ++i) REQUIRE(client.get("/ok").status == 200);
  for (int i = 0; i < fail; ++i) REQUIRE(client.get("/fail").status == 500);
}

// Every stored seq, in order: 1..N with none missing (but `refused`).
bool seqs_complete(const std::vector<v1::TelemetryBatch>& batches, const std::set<std::uint64_t>& refused = {}) {
  std::uint64_t expected = 1;
  for (const auto& b : batches) {
    while (refused.count(expected)) ++expected;
    if (b.seq() != expected) return false;
    ++expected;
  }
  return true;
}

}  // namespace

TEST_CASE("telemetry: the stored deltas add up to what the clients got", "[proxy][control][telemetry]") {
  TelemetryStore store;
  FakeTelemetryServer fake(store);
  REQUIRE(fake.started());
  Backend backend("b");
  backend.on_path("/fail", Behaviour::fixed(500, "no"));
  backend.on_path("/ok", Behaviour::fixed(200, "hello"));
  ProxyProcess proxy(two_route_config(backend), telemetry_proxy(fake.address()));
  send_traffic(proxy, 7, 3);
  {
    HttpClient client(proxy.port());
    REQUIRE(client.get("/nowhere").status == 404);
  }
  REQUIRE(poll_for(10s, [&] {
    const auto stored = store.stored();
    return sum_series(stored, "ok", "").requests[1] == 7 && sum_series(stored, "fail", "").requests[4] == 3 &&
           sum_series(stored, "", "").requests[3] == 1;
  }, 50ms));
  // A little longer: nothing more arrives for the same requests.
  REQUIRE(poll_for(10s, [&] { return store.stored().size() >= 8; }, 50ms));
  const auto stored = store.stored();
  Sums ok = sum_series(stored, "ok", ""), fail = sum_series(stored, "fail", "");
  CHECK(ok.requests == std::array<std::uint64_t, 5>{0, 7, 0, 0, 0});
  CHECK(fail.requests == std::array<std::uint64_t, 5>{0, 0, 0, 0, 3});
  CHECK(ok.latency_count == 7);
  CHECK(ok.fates["ok"] == 7);
  CHECK(ok.bytes_out == 7 * 5);
  CHECK(fail.gateway_errors.empty());  // the 500s are the backend's answers
  Sums instance = sum_series(stored, "", "i1");
  CHECK(instance.requests == std::array<std::uint64_t, 5>{0, 7, 0, 0, 3});
  CHECK(instance.latency_count == 0);  // no --telemetry-instance-histograms
  Sums unrouted = sum_series(stored, "", "");
  CHECK(unrouted.gateway_errors["no_route"] == 1);
  CHECK(seqs_complete(stored));
  CHECK(store.duplicates() == 0);
  for (const auto& b : stored) {
    CHECK(b.node_id() == "telemetry-test");
    CHECK(b.boot_id().size() == 16);
    CHECK(b.interval_ms() > 0);
    CHECK(b.sent_unix_ms() >= b.interval_start_unix_ms());
  }
  CHECK(poll_for(5s, [&] { return metric(proxy, "tg_telemetry_batches_total", {{"result", "stored"}}) >= 8; }));
  CHECK(metric(proxy, "tg_telemetry_stream_connects_total") >= 1);
}

TEST_CASE("telemetry: a connect failure, its retry and the breaker event, with instance histograms",
          "[proxy][control][telemetry]") {
  TelemetryStore store;
  FakeTelemetryServer fake(store);
  REQUIRE(fake.started());
  Backend good("good", Behaviour::fixed(200, "ok"));
  // A port with nothing listening: connect_failure, retried on the other instance.
  std::uint16_t dead_port = 0;
  {
    Backend dead("dead");
    dead_port = dead.port();
  }
  ConfigYaml config;
  config.service("svc", {InstanceSpec("127.0.0.1:" + std::to_string(dead_port), 1, "dead"), InstanceSpec(good.address(), 1, "good")},
                 {"lb: { policy: round_robin }", "retry: { attempts: 2, on: [connect_failure] }",
                  "outlier: { consecutive_failures: 1, base_ejection: 60s }"});
  config.route("r", "{ path_prefix: / }", "svc");
  ProxyProcess proxy(config.str(), telemetry_proxy(fake.address(), {"--telemetry-instance-histograms"}));
  HttpClient client(proxy.port());
  for (int i = 0; i < 4; ++i) REQUIRE(client.get("/x").status == 200);
  REQUIRE(poll_for(10s, [&] { return sum_series(store.stored(), "r", "").requests[1] == 4; }, 50ms));
  const auto stored = store.stored();
  Sums route = sum_series(stored, "r", "");
  Sums dead = sum_series(stored, "", "dead");
  Sums live = sum_series(stored, "", "good");
  // Every try on the dead instance failed to connect and was retried.
  CHECK(dead.gateway_errors["connect_failure"] >= 1);
  CHECK(route.retries == dead.gateway_errors["connect_failure"]);
  CHECK(route.fates["retried_ok"] == route.retries);
  CHECK(route.fates["ok"] + route.fates["retried_ok"] == 4);
  CHECK(route.gateway_errors.empty());  // every request was answered 200 in the end
  CHECK(live.requests[1] == 4);
  CHECK(live.latency_count == 4);  // --telemetry-instance-histograms
  // The dead instance's breaker opened: one warning event.
  REQUIRE(poll_for(10s, [&] {
    for (const auto& b : store.stored())
      if (b.events_size() > 0) return true;
    return false;
  }, 50ms));
  std::vector<v1::TelemetryEvent> events;
  for (const auto& b : store.stored())
    for (const auto& e : b.events()) events.push_back(e);
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind() == "breaker");
  CHECK(events[0].level() == "warning");
  CHECK(events[0].service() == "svc");
  CHECK(events[0].instance() == "dead");
  CHECK(events[0].message() == "closed -> open (1 consecutive failure)");
  CHECK(events[0].detail_json().find("\"open_for_ms\"") != std::string::npos);
}

TEST_CASE("telemetry: a refused batch is dropped and counted", "[proxy][control][telemetry]") {
  TelemetryStore store;
  FakeTelemetryServer fake(store);
  REQUIRE(fake.started());
  Backend backend("b", Behaviour::fixed(200, "hello"));
  ProxyProcess proxy(two_route_config(backend), telemetry_proxy(fake.address()));
  REQUIRE(poll_for(10s, [&] { return !store.stored().empty(); }, 20ms));
  store.refuse_next();
  REQUIRE(poll_for(10s, [&] { return metric(proxy, "tg_telemetry_batches_total", {{"result", "refused"}}) == 1; }, 50ms));
  const std::set<std::uint64_t> refused = store.refused();
  REQUIRE(refused.size() == 1);
  // The batches after it say one was dropped.
  REQUIRE(poll_for(10s, [&] { return store.stored().back().seq() > *refused.begin(); }, 20ms));
  const auto stored = store.stored();
  CHECK(stored.back().dropped_batches() == 1);
  CHECK(seqs_complete(stored, refused));
  CHECK(metric(proxy, "tg_telemetry_batches_total", {{"result", "dropped_buffer_full"}}) == 0);
}

TEST_CASE("telemetry: batches are kept while tg-control is away and resent, none lost, none counted twice",
          "[proxy][control][telemetry]") {
  TelemetryStore store;
  auto fake = std::make_unique<FakeTelemetryServer>(store);
  REQUIRE(fake->started());
  const int port = fake->port();
  Backend backend("b");
  backend.on_path("/fail", Behaviour::fixed(500, "no"));
  backend.on_path("/ok", Behaviour::fixed(200, "hello"));
  ProxyProcess proxy(two_route_config(backend), telemetry_proxy(fake->address()));
  send_traffic(proxy, 5, 1);
  REQUIRE(poll_for(10s, [&] { return sum_series(store.stored(), "ok", "").requests[1] == 5; }, 50ms));
  fake->stop();
  // Away: requests go on, batches pile up.
  send_traffic(proxy, 11, 2);
  REQUIRE(poll_for(10s, [&] { return metric(proxy, "tg_telemetry_buffered_batches") >= 5; }, 50ms));
  const std::size_t stored_while_away = store.stored().size();
  fake = std::make_unique<FakeTelemetryServer>(store, port);
  REQUIRE(fake->started());
  REQUIRE(poll_for(20s, [&] { return metric(proxy, "tg_telemetry_buffered_batches") <= 1; }, 50ms));
  REQUIRE(poll_for(10s, [&] { return sum_series(store.stored(), "ok", "").requests[1] >= 16; }, 50ms));
  const auto stored = store.stored();
  CHECK(stored.size() > stored_while_away);
  CHECK(sum_series(stored, "ok", "").requests[1] == 16);
  CHECK(sum_series(stored, "fail", "").requests[4] == 3);
  CHECK(seqs_complete(stored));
  CHECK(metric(proxy, "tg_telemetry_stream_connects_total") >= 2);
  CHECK(metric(proxy, "tg_telemetry_batches_total", {{"result", "dropped_buffer_full"}}) == 0);
}

TEST_CASE("telemetry: SIGTERM sends the last interval before the proxy exits", "[proxy][control][telemetry]") {
  TelemetryStore store;
  FakeTelemetryServer fake(store);
  REQUIRE(fake.started());
  Backend backend("b");
  backend.on_path("/fail", Behaviour::fixed(500, "no"));
  backend.on_path("/ok", Behaviour::fixed(200, "hello"));
  // An interval longer than the test: only the drain's last interval carries the requests.
  ProxyProcess proxy(two_route_config(backend), telemetry_proxy(fake.address(), {}, "1h"));
  send_traffic(proxy, 4, 2);
  CHECK(store.stored().empty());
  proxy.send_signal(SIGTERM);
  const auto exit = proxy.process().wait_for(10s);
  REQUIRE(exit);
  CHECK(exit->success());
  const auto stored = store.stored();
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].seq() == 1);
  CHECK(sum_series(stored, "ok", "").requests[1] == 4);
  CHECK(sum_series(stored, "fail", "").requests[4] == 2);
}

TEST_CASE("telemetry: promtool check metrics passes with the tg_telemetry_* series", "[proxy][control][telemetry][promtool]") {
  TelemetryStore store;
  FakeTelemetryServer fake(store);
  REQUIRE(fake.started());
  Backend backend("b", Behaviour::fixed(200, "hello"));
  ProxyProcess proxy(two_route_config(backend), telemetry_proxy(fake.address()));
  send_traffic(proxy, 2, 0);
  REQUIRE(poll_for(10s, [&] { return metric(proxy, "tg_telemetry_batches_total", {{"result", "stored"}}) >= 1; }, 50ms));
  const std::string text = proxy.admin_get("/metrics").body;
  TempDir dir("tg-itest-telemetry-promtool");
  const auto input = dir.path() / "metrics.txt";
  std::ofstream(input) << text;
  ChildProcess lint("/bin/sh", {"-c", "exec promtool check metrics < '" + input.string() + "'"},
                    dir.path() / "promtool.log");
  const auto status = lint.wait_for(30s);
  REQUIRE(status);
  const std::string output = lint.read_log();
  INFO("promtool:\n" << output);
  CHECK(status->success());
  CHECK(output.empty());
}
