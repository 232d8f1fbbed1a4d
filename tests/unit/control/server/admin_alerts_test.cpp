// The Admin service's alerting calls (server/admin_alerts.cpp), the cascade
// of registry deletes and applies into alert rules, and POST
// /v1/alerts/<id>/ack (server/alert_ack_http.cpp): a real gRPC server on
// port 0 over the owner loop, with a fake alerting Book and a store that
// holds the episodes the tests give it.
#include "fake_alerts.hpp"
#include "fake_clock.hpp"
#include "on_owner.hpp"
#include "server/admin_service.hpp"
#include "server/alert_ack_http.hpp"

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <future>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;
using test::on_owner;

struct Harness {
  explicit Harness(std::string token_text = {}, bool with_alerts = true) {
    if (!token_text.empty()) tokens = TokenSet::parse(token_text, "tokens");
    registry.load(store.load());
    core = std::make_unique<Core>(store, registry);
    admin = std::make_unique<AdminService>(*core, tokens);
    if (with_alerts) admin->set_alerts(&alerts);
    ack = std::make_unique<AlertAckHttp>(*core, tokens, alerts);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(admin.get());
    core->start();
    server = builder.BuildAndStart();
    stub = v1::Admin::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~Harness() {
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    core->stop();
  }
  std::unique_ptr<grpc::ClientContext> context(const std::string& token = {}) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    return c;
  }
  // Runs POST `target` through the ack handler on the owner loop.
  net::HttpResponse post_ack(const std::string& target, const std::string& body = {},
                             const std::string& authorization = {}) {
    net::HttpRequest request;
    request.method = "POST";
    request.target = target;
    request.path = target.substr(0, target.find('?'));
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    request.body = body;
    std::promise<net::HttpResponse> answered;
    boost::asio::post(core->io(), [&] {
      ack->handle(std::move(request), [&answered](net::HttpResponse response) { answered.set_value(response); });
    });
    auto future = answered.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return future.get();
  }
  std::vector<AuditRow> audit() { return store.memory.list_audit({}); }

  test::AlertTestStore store;
  test::FakeClock clock;
  Registry registry{clock};
  TokenSet tokens;
  test::FakeAlerts alerts;
  std::unique_ptr<Core> core;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<AlertAckHttp> ack;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::Admin::Stub> stub;
};

v1::AlertRule rule(const std::string& name, const std::string& tenant = {}) {
  v1::AlertRule r;
  r.set_name(name);
  r.mutable_scope()->set_tenant(tenant);
  r.mutable_condition()->set_metric("error_rate");
  r.mutable_condition()->set_op(">");
  r.mutable_condition()->set_threshold(0.05);
  return r;
}

v1::Alert alert(std::uint64_t id, v1::Alert::State state, const std::string& tenant = "acme") {
  v1::Alert a;
  a.set_id(id);
  a.set_rule("acme-errors");
  a.set_tenant(tenant);
  a.set_state(state);
  a.set_value(0.1);
  return a;
}

TEST_CASE("Admin alerting: rule CRUD through the book, committed and audited", "[admin][alerts]") {
  Harness h;
  v1::CreateAlertRuleRequest create;
  *create.mutable_rule() = rule("acme-errors", "acme");
  v1::AlertRule created;
  REQUIRE(h.stub->CreateAlertRule(h.context().get(), create, &created).ok());
  CHECK(created.name() == "acme-errors");
  // Answered after COMMIT: the rule's row is in the store already.
  REQUIRE(h.store.committed().size() == 1);
  CHECK(h.store.committed()[0].rules.at(0).name == "acme-errors");
  REQUIRE(h.audit().size() == 1);
  CHECK(h.audit()[0].record.kind == "alert_rule");
  CHECK(h.audit()[0].record.method == "CreateAlertRule");
  CHECK(h.audit()[0].record.before_json.empty());
  CHECK_THAT(h.audit()[0].record.after_json, Catch::Contains("error_rate"));

  v1::AlertRule again;
  CHECK(h.stub->CreateAlertRule(h.context().get(), create, &again).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  v1::CreateAlertRuleRequest empty;
  const grpc::Status missing = h.stub->CreateAlertRule(h.context().get(), empty, &again);
  CHECK(missing.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(missing.error_message() == "rule: required");

  v1::ListAlertRulesRequest list;
  list.set_tenant("acme");
  v1::ListAlertRulesResponse listed;
  REQUIRE(h.stub->ListAlertRules(h.context().get(), list, &listed).ok());
  CHECK(listed.rules_size() == 1);
  list.set_tenant("other");
  listed.Clear();
  REQUIRE(h.stub->ListAlertRules(h.context().get(), list, &listed).ok());
  CHECK(listed.rules_size() == 0);

  v1::GetAlertRuleRequest get;
  get.set_name("nope");
  v1::AlertRule got;
  const grpc::Status absent = h.stub->GetAlertRule(h.context().get(), get, &got);
  CHECK(absent.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absent.error_message() == "alert rule \"nope\" not found");
  get.set_name("acme-errors");
  REQUIRE(h.stub->GetAlertRule(h.context().get(), get, &got).ok());

  v1::UpdateAlertRuleRequest update;
  *update.mutable_rule() = rule("acme-errors", "acme");
  update.mutable_rule()->set_severity("critical");
  v1::AlertRule updated;
  REQUIRE(h.stub->UpdateAlertRule(h.context().get(), update, &updated).ok());
  CHECK(updated.severity() == "critical");
  CHECK_FALSE(h.audit()[0].record.before_json.empty());  // newest first: the update

  v1::DeleteAlertRuleRequest remove;
  remove.set_name("acme-errors");
  v1::DeleteResponse deleted;
  REQUIRE(h.stub->DeleteAlertRule(h.context().get(), remove, &deleted).ok());
  CHECK(h.audit()[0].record.after_json.empty());
  CHECK(h.audit()[0].record.method == "DeleteAlertRule");
  CHECK(h.stub->DeleteAlertRule(h.context().get(), remove, &deleted).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("Admin alerting: notifiers and silences", "[admin][alerts]") {
  Harness h;
  v1::CreateNotifierRequest create;
  create.mutable_notifier()->set_name("ops");
  create.mutable_notifier()->set_type(v1::Notifier::TYPE_WEBHOOK);
  create.mutable_notifier()->set_url("http://127.0.0.1:1/hook");
  v1::Notifier notifier;
  REQUIRE(h.stub->CreateNotifier(h.context().get(), create, &notifier).ok());
  v1::ListNotifiersResponse notifiers;
  REQUIRE(h.stub->ListNotifiers(h.context().get(), {}, &notifiers).ok());
  CHECK(notifiers.notifiers_size() == 1);
  v1::GetNotifierRequest get;
  get.set_name("ops");
  REQUIRE(h.stub->GetNotifier(h.context().get(), get, &notifier).ok());
  CHECK(notifier.url() == "http://127.0.0.1:1/hook");

  // A rule naming it keeps it (the book's refusal passes through).
  v1::CreateAlertRuleRequest with_notifier;
  *with_notifier.mutable_rule() = rule("r");
  with_notifier.mutable_rule()->add_notifiers("ops");
  v1::AlertRule created;
  REQUIRE(h.stub->CreateAlertRule(h.context().get(), with_notifier, &created).ok());
  v1::DeleteNotifierRequest remove;
  remove.set_name("ops");
  v1::DeleteResponse deleted;
  CHECK(h.stub->DeleteNotifier(h.context().get(), remove, &deleted).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);

  v1::CreateSilenceRequest silence;
  auto* matcher = silence.mutable_silence()->add_matchers();
  matcher->set_name("tenant");
  matcher->set_value("acme");
  silence.mutable_silence()->set_ends_unix_ms(2'000'000);
  silence.mutable_silence()->set_comment("maintenance");
  v1::Silence created_silence;
  REQUIRE(h.stub->CreateSilence(h.context().get(), silence, &created_silence).ok());
  CHECK(created_silence.id() == "s1");
  CHECK(created_silence.created_by() == "anonymous");
  CHECK(h.audit()[0].record.kind == "silence");
  CHECK(h.audit()[0].record.name == "s1");

  v1::ExpireSilenceRequest expire;
  expire.set_id("s1");
  v1::Silence expired;
  REQUIRE(h.stub->ExpireSilence(h.context().get(), expire, &expired).ok());
  CHECK(expired.expired());
  v1::ListSilencesRequest list;
  v1::ListSilencesResponse silences;
  REQUIRE(h.stub->ListSilences(h.context().get(), list, &silences).ok());
  CHECK(silences.silences_size() == 0);
  list.set_include_expired(true);
  REQUIRE(h.stub->ListSilences(h.context().get(), list, &silences).ok());
  CHECK(silences.silences_size() == 1);
  expire.set_id("");
  CHECK(h.stub->ExpireSilence(h.context().get(), expire, &expired).error_message() == "id: required");
}

TEST_CASE("Admin alerting: ack, unack, resolve", "[admin][alerts]") {
  Harness h("ops tok-ops\nro tok-ro viewer\n");
  on_owner(*h.core, [&] {
    h.alerts.open[7] = alert(7, v1::Alert::STATE_FIRING);
    h.alerts.open[8] = alert(8, v1::Alert::STATE_PENDING);
    return 0;
  });
  v1::AckAlertRequest ack;
  ack.set_id(7);
  ack.set_comment("on it");
  v1::Alert out;
  CHECK(h.stub->AckAlert(h.context("tok-ro").get(), ack, &out).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  REQUIRE(h.stub->AckAlert(h.context("tok-ops").get(), ack, &out).ok());
  CHECK(out.ack().by() == "ops/admin");
  CHECK(out.ack().comment() == "on it");
  CHECK(h.audit()[0].record.kind == "alert");
  CHECK(h.audit()[0].record.name == "7");
  CHECK(h.audit()[0].record.method == "AckAlert");
  CHECK_THAT(h.audit()[0].record.after_json, Catch::Contains("on it"));
  REQUIRE(h.store.committed().size() == 1);
  CHECK(h.store.committed()[0].episodes.at(0).id == 7);

  ack.set_id(8);
  CHECK(h.stub->AckAlert(h.context("tok-ops").get(), ack, &out).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  ack.set_id(0);
  CHECK(h.stub->AckAlert(h.context("tok-ops").get(), ack, &out).error_message() == "id: required");

  v1::UnackAlertRequest unack;
  unack.set_id(7);
  REQUIRE(h.stub->UnackAlert(h.context("tok-ops").get(), unack, &out).ok());
  CHECK_FALSE(out.has_ack());

  v1::ResolveAlertRequest resolve;
  resolve.set_id(7);
  const grpc::Status no_reason = h.stub->ResolveAlert(h.context("tok-ops").get(), resolve, &out);
  CHECK(no_reason.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(no_reason.error_message(), Catch::StartsWith("reason: required"));
  resolve.set_reason("rolled back");
  REQUIRE(h.stub->ResolveAlert(h.context("tok-ops").get(), resolve, &out).ok());
  CHECK(out.state() == v1::Alert::STATE_RESOLVED);
  CHECK(out.resolve_reason() == "rolled back");
  CHECK(out.resolved_by() == "ops/admin");
  // Committed with the episode's row (the engine, a Core observer, hands its
  // deliveries to the dispatcher).
  const std::vector<AlertChanges> committed = h.store.committed();
  REQUIRE(committed.size() == 3);  // ack, unack, resolve
  CHECK(committed[2].episodes.at(0).state == v1::Alert::STATE_RESOLVED);
  CHECK(h.stub->ResolveAlert(h.context("tok-ops").get(), resolve, &out).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("Admin alerting: list and get read the store, open episodes from the book", "[admin][alerts]") {
  Harness h;
  v1::Alert stored_open = alert(3, v1::Alert::STATE_PENDING);  // the store's copy is behind
  v1::AlertTransition* transition = stored_open.add_transitions();
  transition->set_to(v1::Alert::STATE_PENDING);
  transition->set_action("evaluate");
  stored_open.add_deliveries()->set_id("d1");
  h.store.episodes[3] = stored_open;
  h.store.episodes[2] = alert(2, v1::Alert::STATE_RESOLVED, "globex");
  h.store.episodes[1] = alert(1, v1::Alert::STATE_RESOLVED);
  on_owner(*h.core, [&] {
    v1::Alert current = alert(3, v1::Alert::STATE_FIRING);
    current.set_value(0.4);
    current.mutable_ack()->set_by("alice/admin");
    h.alerts.open[3] = current;
    h.alerts.open[4] = alert(4, v1::Alert::STATE_PENDING);  // evaluated, not committed yet
    return 0;
  });

  v1::ListAlertsRequest list;
  v1::ListAlertsResponse listed;
  REQUIRE(h.stub->ListAlerts(h.context().get(), list, &listed).ok());
  REQUIRE(listed.alerts_size() == 3);
  CHECK(listed.alerts(0).id() == 3);
  CHECK(listed.alerts(0).state() == v1::Alert::STATE_FIRING);  // the book's copy
  CHECK(listed.alerts(0).value() == 0.4);
  CHECK(listed.alerts(0).transitions_size() == 0);
  CHECK(listed.alerts(1).id() == 2);

  list.set_state(v1::Alert::STATE_RESOLVED);
  list.set_tenant("acme");
  listed.Clear();
  REQUIRE(h.stub->ListAlerts(h.context().get(), list, &listed).ok());
  REQUIRE(listed.alerts_size() == 1);
  CHECK(listed.alerts(0).id() == 1);

  // Filtered on what is shown: the store says pending, the book firing.
  list.Clear();
  list.set_state(v1::Alert::STATE_PENDING);
  listed.Clear();
  REQUIRE(h.stub->ListAlerts(h.context().get(), list, &listed).ok());
  CHECK(listed.alerts_size() == 0);

  list.Clear();
  list.set_before_id(3);
  list.set_limit(1);
  listed.Clear();
  REQUIRE(h.stub->ListAlerts(h.context().get(), list, &listed).ok());
  REQUIRE(listed.alerts_size() == 1);
  CHECK(listed.alerts(0).id() == 2);
  list.set_limit(1001);
  CHECK(h.stub->ListAlerts(h.context().get(), list, &listed).error_message() == "limit: at most 1000");

  v1::GetAlertRequest get;
  get.set_id(3);
  v1::Alert got;
  REQUIRE(h.stub->GetAlert(h.context().get(), get, &got).ok());
  CHECK(got.state() == v1::Alert::STATE_FIRING);
  CHECK(got.ack().by() == "alice/admin");
  CHECK(got.transitions_size() == 1);  // kept from the store
  CHECK(got.deliveries(0).id() == "d1");
  get.set_id(4);
  REQUIRE(h.stub->GetAlert(h.context().get(), get, &got).ok());
  CHECK(got.state() == v1::Alert::STATE_PENDING);
  get.set_id(99);
  const grpc::Status absent = h.stub->GetAlert(h.context().get(), get, &got);
  CHECK(absent.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absent.error_message() == "alert 99 not found");
}

TEST_CASE("Admin alerting: without a book the calls are UNIMPLEMENTED and deletes ignore rules",
          "[admin][alerts]") {
  Harness h({}, false);
  v1::ListAlertRulesResponse listed;
  CHECK(h.stub->ListAlertRules(h.context().get(), {}, &listed).error_code() == grpc::StatusCode::UNIMPLEMENTED);
  v1::AckAlertRequest ack;
  ack.set_id(1);
  v1::Alert out;
  CHECK(h.stub->AckAlert(h.context().get(), ack, &out).error_code() == grpc::StatusCode::UNIMPLEMENTED);
  v1::ListAlertsResponse alerts;
  CHECK(h.stub->ListAlerts(h.context().get(), {}, &alerts).error_code() == grpc::StatusCode::UNIMPLEMENTED);

  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_id("acme");
  v1::Tenant tenant;
  REQUIRE(h.stub->CreateTenant(h.context().get(), create, &tenant).ok());
  v1::DeleteTenantRequest remove;
  remove.set_id("acme");
  v1::DeleteResponse deleted;
  REQUIRE(h.stub->DeleteTenant(h.context().get(), remove, &deleted).ok());
}

TEST_CASE("Admin alerting: deleting what a rule names needs cascade", "[admin][alerts][cascade]") {
  Harness h;
  v1::CreateTenantRequest tenant;
  tenant.mutable_tenant()->set_id("acme");
  v1::Tenant t;
  REQUIRE(h.stub->CreateTenant(h.context().get(), tenant, &t).ok());
  v1::CreateServiceRequest service;
  service.mutable_service()->set_name("web");
  service.mutable_service()->set_tenant("acme");
  v1::Service s;
  REQUIRE(h.stub->CreateService(h.context().get(), service, &s).ok());
  on_owner(*h.core, [&] {
    h.alerts.rules["acme-errors"] = rule("acme-errors", "acme");
    h.alerts.rules["acme-latency"] = rule("acme-latency", "acme");
    v1::AlertRule web = rule("web-errors");
    web.mutable_scope()->set_service("web");
    h.alerts.rules["web-errors"] = web;
    return 0;
  });

  v1::DeleteServiceRequest delete_service;
  delete_service.set_name("web");
  v1::DeleteResponse deleted;
  const grpc::Status refused = h.stub->DeleteService(h.context().get(), delete_service, &deleted);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(),
             Catch::StartsWith("service \"web\" is named by the scope of alert rule \"web-errors\";"));
  CHECK(h.registry.services().contains("web"));  // nothing changed

  delete_service.set_cascade(true);
  REQUIRE(h.stub->DeleteService(h.context().get(), delete_service, &deleted).ok());
  CHECK_FALSE(h.registry.services().contains("web"));
  // The rule disabled in the same commit as the delete.
  const std::vector<AlertChanges> committed = h.store.committed();
  REQUIRE(committed.size() == 1);
  REQUIRE(committed[0].rules.size() == 1);
  CHECK(committed[0].rules[0].name == "web-errors");
  CHECK(on_owner(*h.core, [&] { return h.alerts.rules["web-errors"].disabled(); }));
  // Audited: the delete, and the rule it disabled.
  const std::vector<AuditRow> audit = h.audit();
  REQUIRE(audit.size() >= 2);
  CHECK(audit[0].record.kind == "alert_rule");
  CHECK(audit[0].record.name == "web-errors");
  CHECK(audit[0].record.method == "DeleteService");
  CHECK_THAT(audit[0].record.after_json, Catch::Contains("\"disabled\":true"));
  CHECK(audit[1].record.kind == "service");

  v1::DeleteTenantRequest delete_tenant;
  delete_tenant.set_id("acme");
  const grpc::Status two = h.stub->DeleteTenant(h.context().get(), delete_tenant, &deleted);
  CHECK(two.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(two.error_message(), Catch::Contains("alert rules \"acme-errors\", \"acme-latency\""));

  // An object that does not exist is NOT_FOUND, whatever names it.
  v1::DeleteRouteRequest delete_route;
  delete_route.set_name("none");
  CHECK(h.stub->DeleteRoute(h.context().get(), delete_route, &deleted).error_code() == grpc::StatusCode::NOT_FOUND);

  // Cascade on an object no rule names is a plain delete.
  delete_tenant.set_cascade(true);
  REQUIRE(h.stub->DeleteTenant(h.context().get(), delete_tenant, &deleted).ok());
  CHECK(on_owner(*h.core, [&] { return h.alerts.cascaded.size(); }) == 2);
}

TEST_CASE("Admin alerting: an apply never prunes what a rule names", "[admin][alerts][cascade]") {
  Harness h;
  v1::ApplyRequest apply;
  apply.set_yaml("tenants:\n  - id: acme\n  - id: beta\n");
  apply.set_file_name("site.yaml");
  v1::ApplyResponse applied;
  REQUIRE(h.stub->Apply(h.context().get(), apply, &applied).ok());
  on_owner(*h.core, [&] {
    h.alerts.rules["acme-errors"] = rule("acme-errors", "acme");
    return 0;
  });

  apply.set_yaml("tenants:\n  - id: beta\n");
  apply.set_prune(true);
  applied.Clear();
  const grpc::Status refused = h.stub->Apply(h.context().get(), apply, &applied);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Contains("tenant \"acme\" (alert rules \"acme-errors\")"));
  CHECK(h.registry.tenants().contains("acme"));

  apply.set_dry_run(true);  // a dry run shows the delete without the check
  applied.Clear();
  REQUIRE(h.stub->Apply(h.context().get(), apply, &applied).ok());
  CHECK(h.registry.tenants().contains("acme"));

  // Deleted on purpose with cascade, the apply goes through.
  v1::DeleteTenantRequest remove;
  remove.set_id("acme");
  remove.set_cascade(true);
  remove.set_take_ownership(true);
  v1::DeleteResponse deleted;
  REQUIRE(h.stub->DeleteTenant(h.context().get(), remove, &deleted).ok());
  apply.set_dry_run(false);
  applied.Clear();
  REQUIRE(h.stub->Apply(h.context().get(), apply, &applied).ok());
  CHECK(on_owner(*h.core, [&] { return h.alerts.rules["acme-errors"].disabled(); }));
}

TEST_CASE("POST /v1/alerts/<id>/ack: admin token or the alert's signed token", "[admin][alerts][http]") {
  Harness h("ops tok-ops\nro tok-ro viewer\n");
  h.store.episodes[5] = alert(5, v1::Alert::STATE_RESOLVED);
  on_owner(*h.core, [&] {
    h.alerts.open[7] = alert(7, v1::Alert::STATE_FIRING);
    h.alerts.open[8] = alert(8, v1::Alert::STATE_PENDING);
    return 0;
  });

  net::HttpResponse r = h.post_ack("/v1/alerts/7/ack");
  CHECK(r.status == 401);
  r = h.post_ack("/v1/alerts/7/ack", "", "Bearer wrong");
  CHECK(r.status == 401);
  r = h.post_ack("/v1/alerts/7/ack", "", "Bearer tok-ro");
  CHECK(r.status == 403);
  r = h.post_ack("/v1/alerts/7/ack?token=signed-8");
  CHECK(r.status == 403);
  CHECK_THAT(r.body, Catch::Contains("not the signed token of alert 7"));
  r = h.post_ack("/v1/alerts/7/ack", "{\"note\": 1}", "Bearer tok-ops");
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("unknown field \\\"note\\\""));
  r = h.post_ack("/v1/alerts/7/ack", "not json", "Bearer tok-ops");
  CHECK(r.status == 400);
  CHECK(on_owner(*h.core, [&] { return h.alerts.open[7].has_ack(); }) == false);

  r = h.post_ack("/v1/alerts/7/ack?token=signed-7", "{\"comment\": \"from the pager\"}");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK_THAT(r.body, Catch::Contains("\"by\":\"ack-url\""));
  CHECK_THAT(r.body, Catch::Contains("\"comment\":\"from the pager\""));
  CHECK(h.audit()[0].record.actor == "ack-url");
  CHECK(h.audit()[0].record.name == "7");
  REQUIRE(h.store.committed().size() == 1);

  // Again: 200, the latest ack is recorded.
  r = h.post_ack("/v1/alerts/7/ack", "", "Bearer tok-ops");
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("\"by\":\"ops/admin\""));

  CHECK(h.post_ack("/v1/alerts/8/ack", "", "Bearer tok-ops").status == 409);  // pending
  CHECK(h.post_ack("/v1/alerts/5/ack", "", "Bearer tok-ops").status == 409);  // resolved (in the store)
  CHECK(h.post_ack("/v1/alerts/6/ack", "", "Bearer tok-ops").status == 404);  // never was
  CHECK(h.post_ack("/v1/alerts/x/ack", "", "Bearer tok-ops").status == 404);
  CHECK(h.post_ack("/v1/alerts/7", "", "Bearer tok-ops").status == 404);

  const std::string metrics = h.ack->render_metrics();
  CHECK_THAT(metrics, Catch::Contains("tg_control_alert_ack_requests_total{result=\"acked\"} 2\n"));
  CHECK_THAT(metrics, Catch::Contains("tg_control_alert_ack_requests_total{result=\"unauthenticated\"} 2\n"));
  CHECK_THAT(metrics, Catch::Contains("tg_control_alert_ack_requests_total{result=\"forbidden\"} 2\n"));
  CHECK_THAT(metrics, Catch::Contains("tg_control_alert_ack_requests_total{result=\"bad_request\"} 2\n"));
  CHECK_THAT(metrics, Catch::Contains("tg_control_alert_ack_requests_total{result=\"not_firing\"} 2\n"));
  CHECK_THAT(metrics, Catch::Contains("tg_control_alert_ack_requests_total{result=\"not_found\"} 3\n"));
}

TEST_CASE("ack URL parsing: the id and the query token", "[alerts][http]") {
  CHECK(alert_ack_id("/v1/alerts/42/ack") == 42u);
  CHECK_FALSE(alert_ack_id("/v1/alerts/0/ack"));
  CHECK_FALSE(alert_ack_id("/v1/alerts//ack"));
  CHECK_FALSE(alert_ack_id("/v1/alerts/4x/ack"));
  CHECK_FALSE(alert_ack_id("/v1/alerts/42/ack/more"));
  CHECK_FALSE(alert_ack_id("/v1/alerts/42"));
  CHECK(query_parameter("/v1/alerts/1/ack?token=ab%2Bc%3D&x=1", "token") == "ab+c=");
  CHECK(query_parameter("/p?x=1&token=t+u", "token") == "t u");
  CHECK(query_parameter("/p?token", "token") == "");
  CHECK_FALSE(query_parameter("/p?tokens=1", "token"));
  CHECK_FALSE(query_parameter("/p", "token"));
  CHECK(query_parameter("/p?token=%zz", "token") == "%zz");
}

}  // namespace
}  // namespace tg::control
