// tg-control under hostile or unlucky clients: large unauthenticated calls
// do not grow its memory, the open-files limit is raised at start, and the
// gRPC port accepts again after descriptor exhaustion (docs/operations.md,
// "Limits").
#include "control/support/control_process.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/prometheus_text.hpp"
#include "support/tcp_socket.hpp"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <sys/resource.h>

#include <filesystem>
#include <fstream>

using namespace tg::itest;
namespace v1 = ::tenantgate::v1;

namespace {

// VmRSS of a process, in bytes.
std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

std::size_t open_descriptors(pid_t pid) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++count;
  return count;
}

PrometheusText metrics(const ControlProcess& control) {
  const HttpResponse response = http_get(control.http_port(), "/metrics", {{"Connection", "close"}});
  if (response.status != 200) throw std::runtime_error("GET /metrics: " + response.describe());
  return PrometheusText::parse(response.body);
}

unsigned ready_status(const ControlProcess& control) {
  return http_get(control.http_port(), "/ready", {{"Connection", "close"}}).status;
}

std::unique_ptr<v1::Admin::Stub> large_message_stub(const ControlProcess& control) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::Admin::NewStub(
      grpc::CreateCustomChannel(control.grpc_address(), grpc::InsecureChannelCredentials(), args));
}

}  // namespace

TEST_CASE("large unauthenticated calls are refused without growing tg-control's memory",
          "[control][limits]") {
  ControlOptions options;
  options.tokens = "ops s3cret\n";
  ControlProcess control(options);
  auto stub = large_message_stub(control);
  {  // warm up: one refused call, so gRPC's per-process setup is in the baseline
    v1::ListTenantsResponse out;
    REQUIRE(stub->ListTenants(admin_context().get(), {}, &out).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  const std::uint64_t baseline = rss_bytes(control.pid());

  // Just under the receive limit, without a token: read, then refused by the
  // token check. One at a time, before the oversized ones: several at once,
  // or while gRPC still reclaims the memory of oversized reads, may exceed
  // --grpc-memory-quota-mb, and gRPC then resets them (RESOURCE_EXHAUSTED).
  v1::ApplyRequest large;
  large.set_yaml(std::string(4 * 1024 * 1024 - 1024, '#'));
  constexpr int under_limit = 6;
  for (int i = 0; i < under_limit; ++i) {
    v1::ApplyResponse out;
    const grpc::Status status = stub->Apply(admin_context({}, std::chrono::seconds(30)).get(), large, &out);
    INFO("call " << i << ": " << status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }

  large.Clear();
  const std::uint64_t after_under = rss_bytes(control.pid());

  // Far over the receive limit: refused by gRPC before any handler runs. By
  // the size check or a reset stream (RESOURCE_EXHAUSTED), or, when the
  // memory quota reclaims a whole connection, a closed one (UNAVAILABLE):
  // either way the call never reaches tg-control's token check.
  v1::ApplyRequest huge;
  huge.set_yaml(std::string(64 * 1024 * 1024, '#'));
  for (int i = 0; i < 6; ++i) {
    v1::ApplyResponse out;
    const grpc::Status status = stub->Apply(admin_context({}, std::chrono::seconds(30)).get(), huge, &out);
    INFO("call " << i << ": " << status.error_message());
    CHECK_FALSE(status.ok());
    CHECK(status.error_code() != grpc::StatusCode::UNAUTHENTICATED);
  }
  huge.Clear();

  const std::uint64_t after = rss_bytes(control.pid());
  const std::int64_t growth = static_cast<std::int64_t>(after) - static_cast<std::int64_t>(baseline);
  INFO("VmRSS " << baseline / 1024 << " kB -> " << after_under / 1024 << " kB (unauthenticated) -> " << after / 1024
                << " kB (oversized)");
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in quarantine (256 MB by default) and pads every
  // allocation: RSS says nothing about the allocator here. The Release suite
  // checks the bound; the refusals below are checked in both.
  WARN("VmRSS growth under ASan (not checked): " << growth / 1024 << " kB");
#else
  CHECK(growth < 50 * 1024 * 1024);
#endif

  const PrometheusText text = metrics(control);
  INFO(text.describe("tg_control_admin_calls_total"));
  CHECK(text.sum("tg_control_admin_calls_total", {{"method", "Apply"}, {"code", "UNAUTHENTICATED"}}) == under_limit);
  CHECK(control.running());
}

TEST_CASE("tg-control raises its open-files limit to the hard limit and reports it", "[control][limits]") {
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE(limit.rlim_max != RLIM_INFINITY);
  ControlProcess control;
  const PrometheusText text = metrics(control);
  CHECK(text.value("tg_control_open_files_limit") == static_cast<double>(limit.rlim_max));
  CHECK(control.log().find("open files limit (RLIMIT_NOFILE soft) " + std::to_string(limit.rlim_max)) !=
        std::string::npos);
}

// tg-control accepts on its gRPC port itself and backs off while accept
// fails with EMFILE (docs/operations.md, "Descriptor exhaustion"): once the
// descriptors are back, the port accepts again without a restart; Admin
// calls work and /ready (the self-probe) is ok again.
TEST_CASE("descriptor exhaustion: the gRPC port accepts again once descriptors are free, without a restart",
          "[control][limits]") {
  ControlOptions options;
  options.extra_args = {"--grpc-probe-interval", "100ms", "--grpc-probe-timeout", "500ms"};
  ControlProcess control(options);
  REQUIRE(poll_for(10s, [&] { return ready_status(control) == 200; }));
  {
    const PrometheusText text = metrics(control);
    CHECK(text.value("tg_control_grpc_accepting") == 1);
    CHECK(text.value("tg_control_grpc_accept_errors_total") == 0);
  }

  // A low limit, as `ulimit -n 64` would give it.
  const rlimit low{64, 64};
  REQUIRE(prlimit(control.pid(), RLIMIT_NOFILE, &low, nullptr) == 0);

  // Idle connections until tg-control has no descriptor left: its accept
  // fails and backs off (logged at most once a second).
  std::vector<TcpSocket> idle;
  for (int i = 0; i < 100; ++i) idle.emplace_back(control.grpc_port(), std::chrono::seconds(5));
  const std::string backing_off =
      "tg-control: cannot accept on 127.0.0.1:" + std::to_string(control.grpc_port()) + ": Too many open files";
  const bool exhausted = poll_for(10s, [&] { return control.log().find(backing_off) != std::string::npos; });
  INFO(control.describe());
  REQUIRE(exhausted);
  CHECK(open_descriptors(control.pid()) >= 60);

  // Released: gRPC closes the connections it had, the acceptor takes (and
  // gRPC closes) those left in the backlog, and new ones are served.
  idle.clear();
  REQUIRE(poll_for(10s, [&] { return open_descriptors(control.pid()) < 50; }));
  auto stub = control.stub();
  v1::ListTenantsResponse out;
  const grpc::Status status = stub->ListTenants(admin_context({}, std::chrono::seconds(5)).get(), {}, &out);
  INFO(status.error_message());
  CHECK(status.ok());
  REQUIRE(poll_for(10s, [&] { return ready_status(control) == 200; }));
  CHECK(http_get(control.http_port(), "/healthz", {{"Connection", "close"}}).status == 200);
  const PrometheusText text = metrics(control);
  CHECK(text.value("tg_control_grpc_accepting") == 1);
  CHECK(text.value("tg_control_grpc_accept_errors_total") > 0);
  CHECK(text.value("tg_control_grpc_connections_refused_total") == 0);
  CHECK(control.running());
}
