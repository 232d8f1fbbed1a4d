// A real Alertmanager (Debian's prometheus-alertmanager, deploy/install-deps.sh)
// started on loopback with its own config and storage: alerts posted by the
// dispatcher through /api/v2/alerts show as active in `amtool alert query`,
// Alertmanager's own webhook reaches the test's receiver, and the resolved
// post (endsAt) ends them there too. Skipped, with a warning, only when the
// binaries are not installed.
#include "alerts/dispatcher.hpp"
#include "control/delivery/receiver.hpp"
#include "support/http_client.hpp"
#include "support/poll.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <mutex>

namespace tg::itest {
namespace {

namespace alerts = tg::control::alerts;
namespace v1 = ::tenantgate::v1;
using namespace std::chrono_literals;

std::filesystem::path find_binary(std::initializer_list<const char*> names) {
  for (const char* directory : {"/usr/bin", "/usr/local/bin", "/usr/sbin"})
    for (const char* name : names) {
      const std::filesystem::path path = std::filesystem::path(directory) / name;
      if (std::filesystem::exists(path)) return path;
    }
  return {};
}

std::uint16_t free_port() {
  Receiver probe;
  return probe.port();
}

bool ready(std::uint16_t port) {
  try {
    HttpClient client(port, 1s);
    return client.get("/-/ready").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

// `amtool alert query -o json NAME`: the active alerts of that name, as JSON.
boost::json::array amtool_query(const std::filesystem::path& amtool, std::uint16_t port, const std::string& name,
                                const TempDir& dir) {
  ChildProcess query(amtool,
                     {"--alertmanager.url=http://127.0.0.1:" + std::to_string(port), "alert", "query", "-o", "json",
                      "alertname=" + name},
                     dir.file("amtool.log"));
  const auto status = query.wait_for(20s);
  REQUIRE(status.has_value());
  const std::string output = query.read_log();
  INFO("amtool: " << output);
  REQUIRE(status->success());
  const auto parsed = boost::json::parse(output);
  REQUIRE(parsed.is_array());
  return parsed.as_array();
}

// The webhook notifications Alertmanager sent to the receiver with this status.
std::size_t notifications(const Receiver& receiver, const std::string& status, const std::string& name) {
  std::size_t n = 0;
  for (const auto& request : receiver.requests()) {
    const auto body = boost::json::parse(request.body).as_object();
    if (body.at("status") != status.c_str()) continue;
    for (const auto& alert : body.at("alerts").as_array())
      if (alert.as_object().at("labels").as_object().at("alertname") == name.c_str() &&
          alert.as_object().at("status") == status.c_str())
        ++n;
  }
  return n;
}

TEST_CASE("alert dispatcher: a real Alertmanager receives, routes and resolves our alerts",
          "[alerts][dispatcher][alertmanager]") {
  const auto alertmanager = find_binary({"prometheus-alertmanager", "alertmanager"});
  const auto amtool = find_binary({"amtool"});
  if (alertmanager.empty() || amtool.empty()) {
    WARN("skipped: prometheus-alertmanager / amtool not installed (deploy/install-deps.sh installs them)");
    return;
  }
  TempDir dir("tg-alertmanager");
  Receiver receiver;  // Alertmanager's own webhook receiver
  const std::uint16_t port = free_port();
  write_file(dir.file("alertmanager.yml"),
             "route:\n"
             "  receiver: test\n"
             "  group_by: [alertname]\n"
             "  group_wait: 100ms\n"
             "  group_interval: 1s\n"
             "  repeat_interval: 1h\n"
             "receivers:\n"
             "  - name: test\n"
             "    webhook_configs:\n"
             "      - url: " + receiver.url("/am") + "\n"
             "        send_resolved: true\n");
  std::filesystem::create_directories(dir.file("data"));
  ChildProcess process(alertmanager,
                       {"--config.file=" + dir.file("alertmanager.yml").string(),
                        "--storage.path=" + dir.file("data").string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(port), "--cluster.listen-address="},
                       dir.file("alertmanager.log"));
  INFO("alertmanager log:\n" << process.log_tail());
  REQUIRE(poll_for(20s, [&] { return ready(port) || !process.running(); }, 50ms));
  REQUIRE(process.running());

  control::SystemClock clock;
  std::mutex mutex;
  std::vector<alerts::AttemptOutcome> outcomes;
  alerts::DispatcherOptions options;
  options.external_url = "http://127.0.0.1:9080";
  options.initial_backoff = 100ms;
  options.max_backoff = 500ms;
  alerts::Dispatcher dispatcher(clock, options, [&](alerts::AttemptOutcome outcome) {
    std::lock_guard lock(mutex);
    outcomes.push_back(std::move(outcome));
  });
  dispatcher.start();
  auto delivered = [&](const std::string& id) {
    std::lock_guard lock(mutex);
    for (const auto& outcome : outcomes)
      if (outcome.id == id && outcome.status == v1::Delivery::STATUS_DELIVERED) return true;
    return false;
  };

  const std::string name = "tg_delivery_test";
  alerts::DeliveryJob job;
  job.notifier.set_name("am");
  job.notifier.set_type(v1::Notifier::TYPE_ALERTMANAGER);
  job.notifier.set_url("http://127.0.0.1:" + std::to_string(port));
  job.alert.set_id(1);
  job.alert.set_fingerprint("00000000000000aa");
  job.alert.set_rule(name);
  (*job.alert.mutable_labels())["alertname"] = name;
  (*job.alert.mutable_labels())["tenant"] = "acme";
  (*job.alert.mutable_labels())["severity"] = "critical";
  (*job.alert.mutable_annotations())["summary"] = "acme error rate above 5%";
  job.alert.set_tenant("acme");
  const std::int64_t started = clock.unix_ms() - 30'000;
  job.alert.set_active_since_unix_ms(started);
  job.alert.set_firing_since_unix_ms(started);
  job.state = v1::Alert::STATE_FIRING;
  job.created_unix_ms = clock.unix_ms();
  job.ack_url = "http://127.0.0.1:9080/v1/alerts/1/ack?token=t";
  job.id = alerts::delivery_id("am", job.alert.fingerprint(), started, job.state, 0);
  dispatcher.enqueue(job);
  REQUIRE(poll_for(10s, [&] { return delivered(job.id); }));

  // Active in Alertmanager, with our labels and annotations.
  const auto active = amtool_query(amtool, port, name, dir);
  REQUIRE(active.size() == 1);
  const auto& alert = active[0].as_object();
  CHECK(alert.at("labels").as_object().at("tenant") == "acme");
  CHECK(alert.at("annotations").as_object().at("summary") == "acme error rate above 5%");
  CHECK(alert.at("annotations").as_object().at("ackURL") == "http://127.0.0.1:9080/v1/alerts/1/ack?token=t");
  CHECK(alert.at("status").as_object().at("state") == "active");
  CHECK(alert.at("generatorURL") == "http://127.0.0.1:9080/v1/alerts/1");
  // Alertmanager routed it to its own webhook receiver.
  REQUIRE(poll_for(15s, [&] { return notifications(receiver, "firing", name) >= 1; }, 50ms));

  // Resolved: endsAt now; no longer active, and Alertmanager tells its receiver.
  auto resolved = job;
  resolved.state = v1::Alert::STATE_RESOLVED;
  resolved.alert.set_state(v1::Alert::STATE_RESOLVED);
  resolved.alert.set_resolved_unix_ms(clock.unix_ms());
  resolved.id = alerts::delivery_id("am", job.alert.fingerprint(), started, resolved.state, 0);
  dispatcher.enqueue(resolved);
  REQUIRE(poll_for(10s, [&] { return delivered(resolved.id); }));
  CHECK(poll_for(10s, [&] { return amtool_query(amtool, port, name, dir).empty(); }, 200ms));
  CHECK(poll_for(15s, [&] { return notifications(receiver, "resolved", name) >= 1; }, 50ms));
  CHECK(process.running());
}

}  // namespace
}  // namespace tg::itest
