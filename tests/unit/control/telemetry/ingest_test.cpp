// Ingest: exactly-once counting (marks in the store's transaction, known
// marks answered at once), REFUSED with reasons, failures answer no ack,
// the window and /metrics fed after commit only, the per-tenant series cap.
// The writer is a queue the test drains by hand (a fake at the thread
// boundary), over a MemoryStore.
#include "telemetry/ingest.hpp"

#include "fake_clock.hpp"
#include "store/memory_store.hpp"
#include "telemetry/queries.hpp"
#include "telemetry/telemetry_fixtures.hpp"

#include <catch2/catch.hpp>

#include <deque>

namespace tg::control::telemetry {
namespace {

namespace v1 = tenantgate::v1;
using namespace tg::control::test;

// Commits submitted batches when the test says so, like the writer thread.
struct ManualWriter {
  MemoryStore store;
  std::deque<std::pair<CommitBatch, std::function<void(const Status&, CommitBatch&&)>>> pending;
  bool fail = false;

  Ingest::Submit submit() {
    return [this](CommitBatch batch, std::function<void(const Status&, CommitBatch&&)> done) {
      pending.emplace_back(std::move(batch), std::move(done));
    };
  }
  void drain() {
    while (!pending.empty()) {
      auto [batch, done] = std::move(pending.front());
      pending.pop_front();
      // As CommitQueue: the batches committed are the ones handed back
      // (the store marks resends in them).
      std::vector<CommitBatch> group;
      group.push_back(std::move(batch));
      Status status;
      if (fail) {
        status = Status{Code::unavailable, "the database is full"};
      } else {
        store.commit(group);
      }
      done(status, std::move(group.front()));
    }
  }
};

struct Answers {
  std::vector<v1::TelemetryAck> acks;
  std::vector<Status> failures;
  Ingest::Done done() {
    return [this](std::optional<v1::TelemetryAck> ack, const Status& failure) {
      if (ack) acks.push_back(*ack);
      else failures.push_back(failure);
    };
  }
};

std::uint64_t stored_requests(Store& store, const std::string& tenant) {
  RollupQuery q;
  q.tenant = tenant;
  q.since_unix_ms = 0;
  q.until_unix_ms = kT0 + 3'600'000;
  std::uint64_t n = 0;
  for (const auto& m : store.read_rollup_minutes(q)) n += m.counters.requests();
  return n;
}

TEST_CASE("ingest: a batch is stored once and its resend is DUPLICATE, counted nowhere", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  Answers answers;
  auto b = batch("proxy-1", "boot-a", 1);
  *b.add_series() = route_delta("acme", "web", "web-svc", 10, 2);
  ingest.receive(b, answers.done());
  CHECK(answers.acks.empty());  // nothing before the commit
  writer.drain();
  REQUIRE(answers.acks.size() == 1);
  CHECK(answers.acks[0].seq() == 1);
  CHECK(answers.acks[0].result() == v1::TELEMETRY_RESULT_STORED);
  // Resent after its ack was lost: known mark, answered without a commit.
  ingest.receive(b, answers.done());
  CHECK(writer.pending.empty());
  REQUIRE(answers.acks.size() == 2);
  CHECK(answers.acks[1].result() == v1::TELEMETRY_RESULT_DUPLICATE);
  CHECK(stored_requests(writer.store, "acme") == 12);
  CHECK(ingest.counters().stored == 1);
  CHECK(ingest.counters().duplicate == 1);
  v1::TopRequest request;
  v1::TopResponse top_response;
  REQUIRE(top(ingest.window(), request, clock.unix_ms(), &top_response).ok());
  REQUIRE(top_response.rows_size() == 1);
  CHECK(top_response.rows(0).requests() == 12);
  CHECK(top_response.rows(0).errors() == 2);
  CHECK(top_response.proxies_reporting() == 1);
}

TEST_CASE("ingest: a resend racing its original is found by the store's mark", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  Answers answers;
  auto b = batch("proxy-1", "boot-a", 7);
  *b.add_series() = route_delta("acme", "web", "web-svc", 5, 0);
  ingest.receive(b, answers.done());  // stream 1, then cut
  ingest.receive(b, answers.done());  // stream 2 resends before the commit returned
  REQUIRE(writer.pending.size() == 2);
  writer.drain();
  REQUIRE(answers.acks.size() == 2);
  CHECK(answers.acks[0].result() == v1::TELEMETRY_RESULT_STORED);
  CHECK(answers.acks[1].result() == v1::TELEMETRY_RESULT_DUPLICATE);
  CHECK(stored_requests(writer.store, "acme") == 5);
  v1::TopResponse response;
  REQUIRE(top(ingest.window(), v1::TopRequest{}, clock.unix_ms(), &response).ok());
  CHECK(response.rows(0).requests() == 5);  // the window too counted it once
}

TEST_CASE("ingest: marks loaded at start answer resends of a previous run", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  ingest.load({TelemetryMark{"proxy-1", "boot-a", 40, kT0}}, {}, {});
  Answers answers;
  ingest.receive(batch("proxy-1", "boot-a", 40), answers.done());
  ingest.receive(batch("proxy-1", "boot-b", 1), answers.done());  // a new boot starts at 1
  writer.drain();
  REQUIRE(answers.acks.size() == 2);
  CHECK(answers.acks[0].result() == v1::TELEMETRY_RESULT_DUPLICATE);
  CHECK(answers.acks[1].result() == v1::TELEMETRY_RESULT_STORED);
}

TEST_CASE("ingest: a malformed batch is REFUSED with the reason and counted", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  Answers answers;
  auto b = batch("proxy-1", "boot-a", 3);
  *b.add_series() = route_delta("acme", "web", "web-svc", 5, 0);
  b.mutable_series(0)->mutable_requests_by_class()->RemoveLast();
  ingest.receive(b, answers.done());
  REQUIRE(answers.acks.size() == 1);
  CHECK(answers.acks[0].result() == v1::TELEMETRY_RESULT_REFUSED);
  CHECK(answers.acks[0].reason() == "series 0: requests_by_class has 4 entries (0 or 5)");
  CHECK(writer.pending.empty());
  CHECK(ingest.counters().refused == 1);
  CHECK(ingest.render_metrics().find("tg_control_telemetry_batches_total{result=\"refused\"} 1") != std::string::npos);
}

TEST_CASE("ingest: a failed commit answers no ack and counts nothing", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  Answers answers;
  auto b = batch("proxy-1", "boot-a", 1);
  *b.add_series() = route_delta("acme", "web", "web-svc", 5, 0);
  ingest.receive(b, answers.done());
  writer.fail = true;
  writer.drain();
  CHECK(answers.acks.empty());
  REQUIRE(answers.failures.size() == 1);
  CHECK(answers.failures[0].code == Code::unavailable);
  CHECK_FALSE(ingest.mark("proxy-1", "boot-a"));
  // The proxy sends it again: stored now.
  writer.fail = false;
  ingest.receive(b, answers.done());
  writer.drain();
  REQUIRE(answers.acks.size() == 1);
  CHECK(answers.acks[0].result() == v1::TELEMETRY_RESULT_STORED);
  CHECK(stored_requests(writer.store, "acme") == 5);
}

TEST_CASE("ingest: series beyond the per-tenant cap fold into the tenant's other series", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  IngestOptions options;
  options.max_series_per_tenant = 2;
  Ingest ingest(clock, writer.submit(), options);
  Answers answers;
  auto b = batch("proxy-1", "boot-a", 1);
  for (int i = 0; i < 5; ++i) *b.add_series() = route_delta("acme", "r" + std::to_string(i), "svc", 1, 0);
  *b.add_series() = route_delta("beta", "b0", "svc-b", 1, 0);  // another tenant has its own cap
  ingest.receive(b, answers.done());
  writer.drain();
  CHECK(ingest.counters().overflow == 3);
  const auto series = writer.store.load_telemetry_series();
  CHECK(series.size() == 4);  // r0, r1, acme's other, b0
  CHECK(std::count(series.begin(), series.end(), SeriesKey{"acme", "other", "other", ""}) == 1);
  v1::TopRequest request;
  request.set_tenant("acme");
  request.set_sort("name");
  v1::TopResponse response;
  REQUIRE(top(ingest.window(), request, clock.unix_ms(), &response).ok());
  REQUIRE(response.rows_size() == 3);
  CHECK(response.rows(0).route() == "other");
  CHECK(response.rows(0).requests() == 3);
  CHECK(stored_requests(writer.store, "acme") == 5);  // nothing lost
}

TEST_CASE("ingest: a late batch is stored in the minute it arrived and counted", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  Answers answers;
  clock.advance(std::chrono::minutes(5));
  auto b = batch("proxy-1", "boot-a", 1, kT0, clock.unix_ms());  // buffered through an outage
  *b.add_series() = route_delta("acme", "web", "svc", 4, 0);
  ingest.receive(b, answers.done());
  writer.drain();
  CHECK(ingest.counters().late == 1);
  const auto rows = writer.store.read_rollups_since(0);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].minute_unix_ms == minute_of(kT0 + 300'000));
  CHECK(ingest.render_metrics().find("tg_control_telemetry_late_total 1") != std::string::npos);
}

TEST_CASE("ingest: /metrics totals by tenant and service from route series", "[telemetry]") {
  FakeClock clock;
  ManualWriter writer;
  Ingest ingest(clock, writer.submit());
  Answers answers;
  clock.advance(std::chrono::milliseconds(1500));  // received half a second after the interval ended
  auto b = batch("proxy-1", "boot-a", 1);
  *b.add_series() = route_delta("acme", "web", "svc", 7, 3, 1500);
  v1::SeriesDelta instance;  // an instance series: tries, not requests
  instance.set_tenant("acme");
  instance.set_service("svc");
  instance.set_instance("svc/10.0.0.1:80");
  for (int n : {0, 9, 0, 0, 3}) instance.add_requests_by_class(static_cast<std::uint64_t>(n));
  *b.add_series() = instance;
  ingest.receive(b, answers.done());
  writer.drain();
  const std::string text = ingest.render_metrics();
  CHECK(text.find("tg_control_tenant_requests_total{tenant=\"acme\",service=\"svc\",class=\"2xx\"} 7") !=
        std::string::npos);
  CHECK(text.find("tg_control_tenant_requests_total{tenant=\"acme\",service=\"svc\",class=\"5xx\"} 3") !=
        std::string::npos);
  CHECK(text.find("tg_control_tenant_gateway_errors_total{tenant=\"acme\",service=\"svc\"} 3") != std::string::npos);
  CHECK(text.find("tg_control_tenant_request_duration_seconds_bucket{tenant=\"acme\",service=\"svc\",le=\"0.002\"} 10") !=
        std::string::npos);
  CHECK(text.find("tg_control_telemetry_lag_seconds{node=\"proxy-1\"} 0.5") != std::string::npos);
}

}  // namespace
}  // namespace tg::control::telemetry
