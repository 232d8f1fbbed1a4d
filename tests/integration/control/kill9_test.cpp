// kill -9 under concurrent writes (docs/control-plane.md, "An acknowledged
// change is committed": an Admin call returns only after its change is
// committed; synchronous=NORMAL survives a process kill). Four writer threads
// create tenants and routes through the gRPC API; tg-control is SIGKILLed once
// a random number of them were acknowledged, with the others in flight; after
// each kill the database passes PRAGMA integrity_check (opened read-only)
// and, after a restart on the same file, every acknowledged write is there.
// Eight rounds.
#include "control/support/control_process.hpp"
#include "support/poll.hpp"

#include <catch2/catch.hpp>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace tg::itest;
namespace v1 = tenantgate::v1;

namespace {

constexpr int kRounds = 8;
constexpr int kWriters = 4;

// What the writers saw; filled by writer threads, read by the test thread
// after they are joined (Catch2 assertions are not thread-safe).
struct Acknowledged {
  std::mutex mutex;
  std::set<std::string> tenants, routes;
  std::atomic<int> this_round{0};
  std::vector<std::string> unexpected;  // refusals other than "server gone"

  void add(bool tenant, const std::string& name) {
    std::lock_guard lock(mutex);
    (tenant ? tenants : routes).insert(name);
    ++this_round;
  }
  void refused(const std::string& what) {
    std::lock_guard lock(mutex);
    unexpected.push_back(what);
  }
};

// Creates tenant / route pairs until the server stops answering.
void write_until_gone(const ControlProcess& control, int round, int writer, Acknowledged& acked) {
  const auto stub = control.stub();
  for (int n = 0;; ++n) {
    const std::string name = "r" + std::to_string(round) + "-w" + std::to_string(writer) + "-" + std::to_string(n);
    grpc::Status status;
    const bool tenant = n % 2 == 0;
    if (tenant) {
      v1::CreateTenantRequest request;
      request.mutable_tenant()->set_id(name);
      v1::Tenant response;
      status = stub->CreateTenant(admin_context({}, std::chrono::seconds(3)).get(), request, &response);
    } else {
      v1::CreateRouteRequest request;
      request.mutable_route()->set_name(name);
      request.mutable_route()->set_service("web");
      request.mutable_route()->mutable_match()->set_path_prefix("/" + name + "/");
      v1::Route response;
      status = stub->CreateRoute(admin_context({}, std::chrono::seconds(3)).get(), request, &response);
    }
    if (status.ok()) {
      acked.add(tenant, name);
      continue;
    }
    const auto code = status.error_code();
    if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED &&
        code != grpc::StatusCode::CANCELLED) {
      acked.refused(name + ": " + std::to_string(code) + " " + status.error_message());
    }
    return;  // the server is gone (or refused): this writer is done for the round
  }
}

// "ok", or what PRAGMA integrity_check reported, or why it could not run.
std::string integrity_check(const std::filesystem::path& db) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string why = handle != nullptr ? sqlite3_errmsg(handle) : "out of memory";
    sqlite3_close(handle);
    return "open failed: " + why;
  }
  sqlite3_busy_timeout(handle, 5000);
  sqlite3_stmt* statement = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &statement, nullptr) != SQLITE_OK) {
    result = std::string("prepare failed: ") + sqlite3_errmsg(handle);
  } else {
    while (sqlite3_step(statement) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      result += reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    if (result.empty()) result = std::string("no rows: ") + sqlite3_errmsg(handle);
  }
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return result;
}

// The acknowledged names missing from the registry (via the API).
std::vector<std::string> missing(const ControlProcess& control, Acknowledged& acked) {
  const auto stub = control.stub();
  v1::ListTenantsResponse tenants;
  v1::ListRoutesResponse routes;
  const grpc::Status listed_tenants =
      stub->ListTenants(admin_context({}, std::chrono::seconds(10)).get(), {}, &tenants);
  const grpc::Status listed_routes =
      stub->ListRoutes(admin_context({}, std::chrono::seconds(10)).get(), {}, &routes);
  if (!listed_tenants.ok() || !listed_routes.ok()) {
    return {"list failed: " + listed_tenants.error_message() + " / " + listed_routes.error_message()};
  }
  std::set<std::string> have;
  for (const auto& t : tenants.tenants()) have.insert("tenant " + t.id());
  for (const auto& r : routes.routes()) have.insert("route " + r.name());
  std::vector<std::string> lost;
  std::lock_guard lock(acked.mutex);
  for (const auto& name : acked.tenants) if (!have.contains("tenant " + name)) lost.push_back("tenant " + name);
  for (const auto& name : acked.routes) if (!have.contains("route " + name)) lost.push_back("route " + name);
  return lost;
}

}  // namespace

TEST_CASE("kill -9 during concurrent writes loses no acknowledged write, integrity_check ok",
          "[control][kill9]") {
  const auto test_start = Clock::now();
  const unsigned seed = std::random_device{}();
  CAPTURE(seed);
  std::mt19937 random(seed);
  // The random moment is a random number of acknowledged writes in the round:
  // counted, not slept for, so every round kills with writes in flight.
  std::uniform_int_distribution<int> kill_after(8, 80);

  ControlProcess control;
  {
    v1::CreateServiceRequest request;
    request.mutable_service()->set_name("web");
    v1::Service response;
    REQUIRE(control.stub()->CreateService(admin_context().get(), request, &response).ok());
  }

  Acknowledged acked;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    if (round > 0) control.start();
    {
      const std::vector<std::string> lost = missing(control, acked);
      INFO("lost after restart: " << (lost.empty() ? "" : lost.front()) << " (" << lost.size() << " in all)");
      REQUIRE(lost.empty());
    }

    acked.this_round = 0;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&control, round, w, &acked] { write_until_gone(control, round, w, acked); });
    }
    const int target = kill_after(random);
    CAPTURE(target);
    const bool reached = poll_for(std::chrono::seconds(20), [&] { return acked.this_round >= target; }, 1ms);
    const ExitStatus killed = control.kill();
    for (auto& writer : writers) writer.join();
    REQUIRE(reached);
    CHECK(killed.signal == SIGKILL);
    {
      std::lock_guard lock(acked.mutex);
      INFO("unexpected refusal: " << (acked.unexpected.empty() ? "" : acked.unexpected.front()));
      REQUIRE(acked.unexpected.empty());
    }
    CHECK(integrity_check(control.db_path()) == "ok");
  }

  control.start();
  const std::vector<std::string> lost = missing(control, acked);
  INFO("lost: " << (lost.empty() ? "" : lost.front()) << " (" << lost.size() << " in all)");
  CHECK(lost.empty());
  std::lock_guard lock(acked.mutex);
  const std::size_t total = acked.tenants.size() + acked.routes.size();
  std::cout << "kill -9: " << kRounds << " rounds, " << total << " acknowledged writes, seed " << seed
            << ", " << elapsed_ms(test_start) << " ms\n";
  CHECK(total >= kRounds * 8u);
}
