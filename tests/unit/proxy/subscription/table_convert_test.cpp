// The pushed Table as the proxy's config model (proxy/subscription/table_convert.cpp):
// defaults for unset fields, states, and a reason naming the object for what
// the proxy cannot use (the NACK text).
#include "subscription/table_convert.hpp"

#include "config/retry_bounds.hpp"

#include <catch2/catch.hpp>

namespace v1 = tenantgate::v1;
using tg::proxy::subscription::to_changes;
using tg::proxy::subscription::to_config;

namespace {

v1::Table small_table() {
  v1::Table table;
  table.add_tenants()->set_id("acme");
  v1::Service* service = table.add_services();
  service->set_name("web");
  service->set_tenant("acme");
  v1::Instance* instance = table.add_instances();
  instance->set_id("web-1");
  instance->set_service("web");
  instance->set_address("127.0.0.1:9001");
  v1::Route* route = table.add_routes();
  route->set_name("r");
  route->set_service("web");
  route->mutable_match()->set_host("Acme.Example");
  return table;
}

}  // namespace

TEST_CASE("a pushed table converts with the YAML defaults for unset fields", "[proxy][control][convert]") {
  v1::Table table = small_table();
  table.mutable_instances(0)->set_admin_state(v1::ADMIN_STATE_DRAINING);
  table.mutable_instances(0)->set_health(v1::HEALTH_UNHEALTHY);
  table.mutable_instances(0)->set_health_reason("heartbeat expired");
  table.mutable_routes(0)->mutable_match()->mutable_header()->set_name("X-Tenant");
  table.mutable_routes(0)->mutable_match()->mutable_header()->set_value("acme");
  tg::config::Config config;
  std::string error;
  REQUIRE(to_config(table, config, error));
  CHECK(error.empty());
  REQUIRE(config.services.size() == 1);
  const tg::config::Service& svc = config.services[0];
  const tg::config::Service defaults;
  CHECK(svc.lb == tg::config::LbPolicy::round_robin);
  CHECK(svc.timeouts.connect == defaults.timeouts.connect);
  CHECK(svc.retry.attempts == defaults.retry.attempts);
  CHECK(svc.limits.max_body == defaults.limits.max_body);
  CHECK(svc.limits.pending_timeout == defaults.limits.pending_timeout);
  CHECK_FALSE(svc.health_check.has_value());
  REQUIRE(svc.instances.size() == 1);
  const tg::config::Instance& inst = svc.instances[0];
  CHECK(inst.host == "127.0.0.1");
  CHECK(inst.port == 9001);
  CHECK(inst.weight == 1);  // 0 on the wire = 1
  CHECK(inst.admin_state == tg::config::AdminState::draining);
  CHECK(inst.health == tg::config::Health::unhealthy);
  CHECK(inst.health_reason == "heartbeat expired");
  REQUIRE(config.routes.size() == 1);
  CHECK(config.routes[0].match.host == "acme.example");  // hosts match lower-case
  CHECK(config.routes[0].match.path_prefix == "/");      // neither path given = prefix /
  REQUIRE(config.routes[0].match.header.has_value());
  CHECK(config.routes[0].match.header->name == "x-tenant");
}

TEST_CASE("set fields are kept: policies, hash key, timeouts, retry conditions", "[proxy][control][convert]") {
  v1::Table table = small_table();
  v1::Service* service = table.mutable_services(0);
  service->set_lb_policy(v1::LB_POLICY_MAGLEV);
  service->mutable_hash_key()->set_kind(v1::HashKey::KIND_HEADER);
  service->mutable_hash_key()->set_name("X-User");
  service->mutable_timeouts()->set_connect_ms(250);
  service->mutable_limits()->set_pending_timeout_ms(350);
  service->mutable_retry()->add_on(v1::RETRY_ON_503);
  service->mutable_retry()->set_attempts(3);
  table.mutable_instances(0)->set_weight(7);
  table.mutable_routes(0)->mutable_match()->set_path_exact("/x");
  tg::config::Config config;
  std::string error;
  REQUIRE(to_config(table, config, error));
  const tg::config::Service& svc = config.services[0];
  CHECK(svc.lb == tg::config::LbPolicy::maglev);
  CHECK(svc.hash_key.kind == tg::config::HashKey::Kind::header);
  CHECK(svc.hash_key.name == "x-user");
  CHECK(svc.timeouts.connect == std::chrono::milliseconds(250));
  CHECK(svc.timeouts.idle == tg::config::Timeouts{}.idle);
  CHECK(svc.limits.pending_timeout == std::chrono::milliseconds(350));
  CHECK(svc.retry.on == tg::config::retry_503);
  CHECK(svc.retry.attempts == 3);
  CHECK(svc.instances[0].weight == 7);
  CHECK(config.routes[0].match.path_exact == "/x");
  CHECK(config.routes[0].match.path_prefix.empty());
}

TEST_CASE("outlier and retry budget fields are carried: count_5xx, max_ejection, min_retries_per_second",
          "[proxy][control][convert]") {
  v1::Table table = small_table();
  v1::Service* service = table.mutable_services(0);
  service->mutable_outlier()->set_consecutive_failures(2);
  service->mutable_outlier()->set_count_5xx(true);
  service->mutable_outlier()->set_base_ejection_ms(500);
  service->mutable_outlier()->set_max_ejection_ms(4000);
  service->mutable_retry()->set_budget_percent(50);
  service->mutable_retry()->set_min_retries_per_second(0);  // set: no minimum, not the default
  tg::config::Config config;
  std::string error;
  REQUIRE(to_config(table, config, error));
  const tg::config::Service& svc = config.services[0];
  REQUIRE(svc.outlier.has_value());
  CHECK(svc.outlier->consecutive_failures == 2);
  CHECK(svc.outlier->count_5xx);
  CHECK(svc.outlier->base_ejection == std::chrono::milliseconds(500));
  CHECK(svc.outlier->max_ejection == std::chrono::milliseconds(4000));
  CHECK(svc.retry.budget_percent == 50);
  CHECK(svc.retry.min_retries_per_second == 0);

  // Unset on the wire: the YAML defaults.
  v1::Table plain = small_table();
  plain.mutable_services(0)->mutable_outlier()->set_consecutive_failures(3);
  plain.mutable_services(0)->mutable_retry()->set_attempts(2);
  tg::config::Config defaults_config;
  REQUIRE(to_config(plain, defaults_config, error));
  const tg::config::Service& d = defaults_config.services[0];
  REQUIRE(d.outlier.has_value());
  CHECK_FALSE(d.outlier->count_5xx);
  CHECK(d.outlier->max_ejection == tg::config::Outlier{}.max_ejection);
  CHECK(d.retry.min_retries_per_second == tg::config::Retry{}.min_retries_per_second);
}

TEST_CASE("retry attempts above the configured range are refused, the maximum itself read", "[proxy][control][convert]") {
  for (std::uint32_t pushed : {11u, 100u, 4000000000u}) {
    v1::Table table = small_table();
    table.mutable_services(0)->mutable_retry()->set_attempts(pushed);
    tg::config::Config config;
    std::string error;
    CHECK_FALSE(to_config(table, config, error));
    CHECK(error.find("retry.attempts") != std::string::npos);
  }
  v1::Table table = small_table();
  table.mutable_services(0)->mutable_retry()->set_attempts(tg::config::kMaxRetryAttempts);
  tg::config::Config config;
  std::string error;
  REQUIRE(to_config(table, config, error));
  CHECK(config.services[0].retry.attempts == 10);
}

TEST_CASE("what the proxy cannot use is refused naming the object", "[proxy][control][convert]") {
  struct Case {
    const char* what;
    void (*spoil)(v1::Table&);
    const char* expected;
  };
  const Case cases[] = {
      {"unknown policy", [](v1::Table& t) { t.mutable_services(0)->set_lb_policy(static_cast<v1::LbPolicy>(99)); },
       "service web: unknown lb policy 99 (a newer tg-control?)"},
      {"unknown retry condition", [](v1::Table& t) { t.mutable_services(0)->mutable_retry()->add_on(static_cast<v1::RetryOn>(99)); },
       "service web: unknown retry condition 99"},
      {"hash key without a name",
       [](v1::Table& t) { t.mutable_services(0)->mutable_hash_key()->set_kind(v1::HashKey::KIND_COOKIE); },
       "service web: hash_key needs a name"},
      {"service twice", [](v1::Table& t) { *t.add_services() = t.services(0); }, "service web: listed twice"},
      {"instance of no service", [](v1::Table& t) { t.mutable_instances(0)->set_service("nope"); },
       "instance web-1: unknown service 'nope'"},
      {"instance twice", [](v1::Table& t) { *t.add_instances() = t.instances(0); },
       "instance 'web-1': empty or listed twice"},
      {"bad address", [](v1::Table& t) { t.mutable_instances(0)->set_address("no-port"); },
       "instance web-1: bad address 'no-port'"},
      {"weight too high", [](v1::Table& t) { t.mutable_instances(0)->set_weight(10001); },
       "instance web-1: weight 10001 is above 10000"},
      {"route of no service", [](v1::Table& t) { t.mutable_routes(0)->set_service("nope"); },
       "route r: unknown service 'nope'"},
      {"both paths",
       [](v1::Table& t) {
         t.mutable_routes(0)->mutable_match()->set_path_prefix("/a/");
         t.mutable_routes(0)->mutable_match()->set_path_exact("/b");
       },
       "route r: both path_prefix and path_exact"},
      {"relative path", [](v1::Table& t) { t.mutable_routes(0)->mutable_match()->set_path_prefix("api/"); },
       "route r: path 'api/' does not start with /"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    v1::Table table = small_table();
    c.spoil(table);
    tg::config::Config config;
    std::string error;
    CHECK_FALSE(to_config(table, config, error));
    CHECK(error == c.expected);
  }
}

TEST_CASE("a health update becomes one state change per instance", "[proxy][control][convert]") {
  v1::HealthUpdate update;
  v1::InstanceState* a = update.add_instances();
  a->set_id("a");
  a->set_health(v1::HEALTH_HEALTHY);
  a->set_admin_state(v1::ADMIN_STATE_DISABLED);
  v1::InstanceState* b = update.add_instances();
  b->set_id("b");
  b->set_health(v1::HEALTH_UNHEALTHY);
  b->set_health_reason("HTTP 500");
  const auto changes = to_changes(update);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].id == "a");
  CHECK(changes[0].health == tg::config::Health::healthy);
  CHECK(changes[0].admin_state == tg::config::AdminState::disabled);
  CHECK(changes[1].admin_state == tg::config::AdminState::active);  // unset = active
  CHECK(changes[1].health == tg::config::Health::unhealthy);
  CHECK(changes[1].health_reason == "HTTP 500");
}

TEST_CASE("a pushed value a configuration file could not hold is refused with the reason",
          "[proxy][control][convert][validate]") {
  // The YAML loader's rules (config::validate), plus values that do not fit
  // the model's field at all: nothing is wrapped or clamped on the way in.
  struct Case {
    const char* what;
    void (*spoil)(v1::Table&);
    const char* expected;
  };
  const Case cases[] = {
      {"a timeout of 2^64-1 ms",
       [](v1::Table& t) { t.mutable_services(0)->mutable_timeouts()->set_connect_ms(UINT64_MAX); },
       "service web: timeouts.connect_ms 18446744073709551615 is out of range"},
      {"an idle timeout of 2^63 ms",
       [](v1::Table& t) { t.mutable_services(0)->mutable_timeouts()->set_idle_ms(std::uint64_t{1} << 63); },
       "service web: timeouts.idle_ms 9223372036854775808 is out of range"},
      {"a timeout over 365 days that fits",
       [](v1::Table& t) { t.mutable_services(0)->mutable_timeouts()->set_response_headers_ms(31'536'000'001); },
       "service \"web\": timeouts.response_headers: too large (at most 365d)"},
      {"a per-try timeout of 2^64-1 ms",
       [](v1::Table& t) { t.mutable_services(0)->mutable_retry()->set_per_try_timeout_ms(UINT64_MAX); },
       "service web: retry.per_try_timeout_ms 18446744073709551615 is out of range"},
      {"a health interval over 365 days",
       [](v1::Table& t) { t.mutable_services(0)->mutable_health_check()->set_interval_ms(31'536'000'001); },
       "service \"web\": health_check.interval: too large (at most 365d)"},
      {"a threshold past int",
       [](v1::Table& t) { t.mutable_services(0)->mutable_health_check()->set_healthy_threshold(2147483648u); },
       "service web: health_check.healthy_threshold 2147483648 is out of range"},
      {"retry attempts 11 (not clamped)",
       [](v1::Table& t) { t.mutable_services(0)->mutable_retry()->set_attempts(11); },
       "service \"web\": retry.attempts: must be from 1 to 10, got 11"},
      {"retry attempts 4000000000 (not clamped)",
       [](v1::Table& t) { t.mutable_services(0)->mutable_retry()->set_attempts(4'000'000'000u); },
       "service web: retry.attempts 4000000000 is out of range"},
      {"an ejection percent over 100",
       [](v1::Table& t) { t.mutable_services(0)->mutable_outlier()->set_max_ejection_percent(101); },
       "service \"web\": outlier.max_ejection_percent: must be from 0 to 100, got 101"},
      {"max pending over a million",
       [](v1::Table& t) { t.mutable_services(0)->mutable_limits()->set_max_pending_per_instance(1'000'001); },
       "service \"web\": limits.max_pending_per_instance: must be from 0 to 1000000, got 1000001"},
      {"a route host *", [](v1::Table& t) { t.mutable_routes(0)->mutable_match()->set_host("*"); },
       "route \"r\": match.host: bad host \"*\": a wildcard is only allowed as a leading \"*.\" (e.g. "
       "\"*.example.com\")"},
      {"a header name with CRLF",
       [](v1::Table& t) {
         t.mutable_routes(0)->mutable_match()->mutable_header()->set_name("X-A\r\nX-Evil");
         t.mutable_routes(0)->mutable_match()->mutable_header()->set_value("1");
       },
       "route \"r\": match.header.name: \"x-a\\x0d\\x0ax-evil\" is not a valid header name (letters, digits and "
       "!#$%&'*+-.^_`|~)"},
      {"a header value with CRLF",
       [](v1::Table& t) {
         t.mutable_routes(0)->mutable_match()->mutable_header()->set_name("X-A");
         t.mutable_routes(0)->mutable_match()->mutable_header()->set_value("1\r\nX-Evil: 1");
       },
       "route \"r\": match.header.value: must not contain control character 0x0d"},
      {"a method that is not a token", [](v1::Table& t) { t.mutable_routes(0)->mutable_match()->set_method("GET /"); },
       "route \"r\": match.method: \"GET /\" is not a valid HTTP method (a token such as GET or POST)"},
      {"a path prefix with a space", [](v1::Table& t) { t.mutable_routes(0)->mutable_match()->set_path_prefix("/a b/"); },
       "route \"r\": match.path_prefix: must not contain a space"},
      {"an instance port 0", [](v1::Table& t) { t.mutable_instances(0)->set_address("127.0.0.1:0"); },
       "instance web-1: bad address '127.0.0.1:0'"},
      {"a tenant id with a NUL", [](v1::Table& t) { t.mutable_tenants(0)->set_id(std::string("ac\0me", 5)); },
       "tenant \"ac\\x00me\": id: must not contain control character 0x00"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    v1::Table table = small_table();
    c.spoil(table);
    tg::config::Config config;
    std::string error;
    CHECK_FALSE(to_config(table, config, error));
    CHECK(error == c.expected);
  }
}
