// A restart keeps everything (registry and audit log); the audit log's
// filters (Admin.ListAudit).
#include "control/support/control_process.hpp"
#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/util/message_differencer.h>

#include <thread>

using namespace tg::itest;
namespace v1 = tenantgate::v1;
using google::protobuf::util::MessageDifferencer;

namespace {

void ok(const ControlProcess& control, const std::vector<std::string>& args) {
  const TgctlResult result = tgctl(control, args);
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
}

template <class T>
T list(const ControlProcess& control, std::vector<std::string> args) {
  args.insert(args.end(), {"-o", "json"});
  return json_as<T>(tgctl(control, args));
}

void populate(const ControlProcess& control) {
  ok(control, {"tenants", "create", "acme", "--label", "tier=gold"});
  ok(control, {"services", "create", "web", "--tenant", "acme", "--lb", "least_request"});
  ok(control, {"instances", "register", "web", "127.0.0.1:9001", "--id", "w1", "--weight", "5"});
  ok(control, {"instances", "set-state", "w1", "draining"});
  ok(control, {"routes", "create", "api", "--service", "web", "--path-prefix", "/api/"});
  ok(control, {"routes", "patch", "api", "--method", "GET"});
}

}  // namespace

TEST_CASE("restart keeps the registry and the audit log", "[control][restart]") {
  ControlProcess control;
  populate(control);
  const auto tenants = list<v1::ListTenantsResponse>(control, {"tenants", "list"});
  const auto services = list<v1::ListServicesResponse>(control, {"services", "list"});
  const auto instances = list<v1::DiscoverInstancesResponse>(control, {"instances", "discover", "web"});
  const auto routes = list<v1::ListRoutesResponse>(control, {"routes", "list"});
  const auto audit = list<v1::ListAuditResponse>(control, {"audit", "list"});

  SECTION("after a clean stop") { control.stop(); }
  SECTION("after kill -9") { control.kill(); }
  control.start();

  CHECK(MessageDifferencer::Equals(list<v1::ListTenantsResponse>(control, {"tenants", "list"}), tenants));
  CHECK(MessageDifferencer::Equals(list<v1::ListServicesResponse>(control, {"services", "list"}), services));
  CHECK(MessageDifferencer::Equals(list<v1::ListRoutesResponse>(control, {"routes", "list"}), routes));
  const auto instances_after = list<v1::DiscoverInstancesResponse>(control, {"instances", "discover", "web"});
  REQUIRE(instances_after.instances_size() == 1);
  CHECK(instances_after.instances(0).weight() == 5);
  CHECK(instances_after.instances(0).admin_state() == v1::ADMIN_STATE_DRAINING);
  CHECK(instances_after.instances(0).meta().revision() == instances.instances(0).meta().revision());
  const auto audit_after = list<v1::ListAuditResponse>(control, {"audit", "list"});
  REQUIRE(audit_after.entries_size() >= audit.entries_size());
  // the old entries are all still there, same ids (newer ones may be added by the restart)
  for (const v1::AuditEntry& entry : audit.entries()) {
    bool found = false;
    for (const v1::AuditEntry& after : audit_after.entries()) found |= MessageDifferencer::Equals(entry, after);
    CHECK(found);
  }

  // revisions keep growing after a restart
  const auto tenant = json_as<v1::Tenant>(tgctl(control, {"tenants", "create", "later", "-o", "json"}));
  std::uint64_t max_revision = 0;
  for (const auto& r : routes.routes()) max_revision = std::max(max_revision, r.meta().revision());
  CHECK(tenant.meta().revision() > max_revision);
}

TEST_CASE("audit list: newest first, filters, limit, time bounds", "[control][audit]") {
  ControlProcess control;
  populate(control);
  const auto all = list<v1::ListAuditResponse>(control, {"audit", "list"});
  REQUIRE(all.entries_size() >= 6);
  for (int i = 1; i < all.entries_size(); ++i) CHECK(all.entries(i - 1).id() > all.entries(i).id());
  const v1::AuditEntry& newest = all.entries(0);
  CHECK(newest.method() == "PatchRoute");
  CHECK(newest.kind() == "route");
  CHECK(newest.name() == "api");
  CHECK(newest.actor() == "anonymous");
  CHECK(newest.before_json().find("/api/") != std::string::npos);
  CHECK(newest.after_json().find("GET") != std::string::npos);

  const auto routes = list<v1::ListAuditResponse>(control, {"audit", "list", "--kind", "route"});
  REQUIRE(routes.entries_size() == 2);
  for (const auto& e : routes.entries()) CHECK(e.kind() == "route");
  const auto created = list<v1::ListAuditResponse>(control, {"audit", "list", "--method", "CreateTenant"});
  REQUIRE(created.entries_size() == 1);
  CHECK(created.entries(0).name() == "acme");
  CHECK(created.entries(0).before_json().empty());
  CHECK(list<v1::ListAuditResponse>(control, {"audit", "list", "--name", "w1"}).entries_size() == 2);
  CHECK(list<v1::ListAuditResponse>(control, {"audit", "list", "--actor", "someone-else"}).entries_size() == 0);
  CHECK(list<v1::ListAuditResponse>(control, {"audit", "list", "--actor", "anonymous"}).entries_size() ==
        all.entries_size());

  const auto two = list<v1::ListAuditResponse>(control, {"audit", "list", "--limit", "2"});
  REQUIRE(two.entries_size() == 2);
  CHECK(two.entries(0).id() == newest.id());
  const auto page = list<v1::ListAuditResponse>(
      control, {"audit", "list", "--limit", "2", "--before-id", std::to_string(two.entries(1).id())});
  REQUIRE(page.entries_size() == 2);
  CHECK(page.entries(0).id() < two.entries(1).id());

  // time bounds: since is inclusive, until exclusive
  const std::int64_t t = newest.time_unix_ms();
  const auto since = list<v1::ListAuditResponse>(control, {"audit", "list", "--since", std::to_string(t)});
  for (const auto& e : since.entries()) CHECK(e.time_unix_ms() >= t);
  CHECK(since.entries_size() >= 1);
  const auto until = list<v1::ListAuditResponse>(control, {"audit", "list", "--until", std::to_string(t)});
  for (const auto& e : until.entries()) CHECK(e.time_unix_ms() < t);
  CHECK(since.entries_size() + until.entries_size() == all.entries_size());

  const TgctlResult table = tgctl(control, {"audit", "list", "--kind", "route"});
  CHECK(table.out.find("PatchRoute") != std::string::npos);
  CHECK(table.out.find("match.method: (none) -> GET") != std::string::npos);
}
