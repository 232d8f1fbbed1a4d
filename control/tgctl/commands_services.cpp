// tgctl services list|get|create|update|patch|delete
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/json_input.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

// Flags of create, update and patch: the common fields of a service. Outlier
// detection and the retry budget are reached through --json.
struct ServiceFlags {
  std::string name;
  TextFlag tenant, lb, hash_header, hash_cookie;
  bool hash_client_ip = false;
  TextFlag health_check, health_path, health_interval, health_timeout;
  TextFlag healthy_threshold, unhealthy_threshold;
  TextFlag connect_timeout, response_headers_timeout, idle_timeout;
  TextFlag retry_attempts, per_try_timeout;
  std::vector<std::string> retry_on;
  TextFlag max_connections, max_pending, max_body, buffer_body;
  TextFlag json;
  std::vector<std::string> clear;  // update/patch: mask paths to reset
  bool take_ownership = false;
};

void add_service_flags(CLI::App& verb, ServiceFlags& flags) {
  verb.add_option("NAME", flags.name, "service name (or \"name\" in --json)");
  add_text_flag(verb, flags.tenant, "--tenant", "tenant the service belongs to");
  add_text_flag(verb, flags.lb, "--lb",
                "balancing policy: round_robin, weighted, least_request, ip_hash, ring_hash, "
                "maglev, peak_ewma, sticky_link");
  add_text_flag(verb, flags.hash_header, "--hash-header", "hash key: this request header");
  add_text_flag(verb, flags.hash_cookie, "--hash-cookie", "hash key: this cookie");
  verb.add_flag("--hash-client-ip", flags.hash_client_ip, "hash key: the client address");
  add_text_flag(verb, flags.health_check, "--health-check", "active health check: http or tcp");
  add_text_flag(verb, flags.health_path, "--health-path", "HTTP health check path (/healthz)");
  add_text_flag(verb, flags.health_interval, "--health-interval", "health check interval (5s)");
  add_text_flag(verb, flags.health_timeout, "--health-timeout", "health check timeout (1s)");
  add_text_flag(verb, flags.healthy_threshold, "--healthy-threshold", "passes to become healthy");
  add_text_flag(verb, flags.unhealthy_threshold, "--unhealthy-threshold",
                "failures to become unhealthy");
  add_text_flag(verb, flags.connect_timeout, "--connect-timeout", "upstream connect timeout");
  add_text_flag(verb, flags.response_headers_timeout, "--response-headers-timeout",
                "request start to upstream response head");
  add_text_flag(verb, flags.idle_timeout, "--idle-timeout", "no byte either way");
  add_text_flag(verb, flags.retry_attempts, "--retry-attempts", "tries in all, the first included");
  verb.add_option("--retry-on", flags.retry_on,
                  "retry condition: connect_failure, reset, timeout, 502, 503, 504 "
                  "(repeatable or comma-separated)")
      ->delimiter(',');
  add_text_flag(verb, flags.per_try_timeout, "--per-try-timeout", "timeout of each try");
  add_text_flag(verb, flags.max_connections, "--max-connections",
                "connections per instance, per proxy");
  add_text_flag(verb, flags.max_pending, "--max-pending", "queued requests per instance");
  add_text_flag(verb, flags.max_body, "--max-body", "largest request body (10MiB)");
  add_text_flag(verb, flags.buffer_body, "--buffer-body",
                "bodies up to this size are received whole before an upstream is chosen, and retried (64KiB; 0 streams all)");
  add_text_flag(verb, flags.json, "--json",
                "the service as protobuf JSON, or @FILE; flags given override its fields");
}

// --json first, then each flag given over it. `paths` (update, patch) gets
// the field-mask path of every field the document or a flag sets.
v1::Service build_service(const ServiceFlags& f, std::vector<std::string>* paths = nullptr) {
  v1::Service service;
  std::vector<std::string> given;
  if (f.json.given()) given = read_json_with_paths(f.json.value, service, "--json", {"name", "meta"});
  const auto set = [&given](const TextFlag& flag, const std::string& path) {
    if (flag.given()) add_mask_path(given, path);
    return flag.given();
  };
  if (!f.name.empty()) service.set_name(f.name);
  if (service.name().empty()) throw UsageError("give the service NAME");
  if (set(f.tenant, "tenant")) service.set_tenant(f.tenant.value);
  if (set(f.lb, "lb_policy")) {
    service.set_lb_policy(static_cast<v1::LbPolicy>(
        parse_enum(*v1::LbPolicy_descriptor(), "LB_POLICY_", f.lb.value, "--lb")));
  }
  const int hash_keys = int(f.hash_header.given()) + int(f.hash_cookie.given()) + int(f.hash_client_ip);
  if (hash_keys > 1) {
    throw UsageError("give one of --hash-header, --hash-cookie, --hash-client-ip");
  }
  if (hash_keys > 0) add_mask_path(given, "hash_key");
  if (f.hash_header.given()) {
    service.mutable_hash_key()->set_kind(v1::HashKey::KIND_HEADER);
    service.mutable_hash_key()->set_name(f.hash_header.value);
  } else if (f.hash_cookie.given()) {
    service.mutable_hash_key()->set_kind(v1::HashKey::KIND_COOKIE);
    service.mutable_hash_key()->set_name(f.hash_cookie.value);
  } else if (f.hash_client_ip) {
    service.mutable_hash_key()->set_kind(v1::HashKey::KIND_CLIENT_IP);
    service.mutable_hash_key()->clear_name();
  }

  if (set(f.health_check, "health_check.type")) {
    service.mutable_health_check()->set_type(static_cast<v1::HealthCheck::Type>(parse_enum(
        *v1::HealthCheck::Type_descriptor(), "TYPE_", f.health_check.value, "--health-check")));
  }
  if (set(f.health_path, "health_check.path")) service.mutable_health_check()->set_path(f.health_path.value);
  if (set(f.health_interval, "health_check.interval_ms")) {
    service.mutable_health_check()->set_interval_ms(
        parse_duration_ms(f.health_interval.value, "--health-interval"));
  }
  if (set(f.health_timeout, "health_check.timeout_ms")) {
    service.mutable_health_check()->set_timeout_ms(
        parse_duration_ms(f.health_timeout.value, "--health-timeout"));
  }
  if (set(f.healthy_threshold, "health_check.healthy_threshold")) {
    service.mutable_health_check()->set_healthy_threshold(
        parse_uint32(f.healthy_threshold.value, "--healthy-threshold"));
  }
  if (set(f.unhealthy_threshold, "health_check.unhealthy_threshold")) {
    service.mutable_health_check()->set_unhealthy_threshold(
        parse_uint32(f.unhealthy_threshold.value, "--unhealthy-threshold"));
  }

  if (set(f.connect_timeout, "timeouts.connect_ms")) {
    service.mutable_timeouts()->set_connect_ms(
        parse_duration_ms(f.connect_timeout.value, "--connect-timeout"));
  }
  if (set(f.response_headers_timeout, "timeouts.response_headers_ms")) {
    service.mutable_timeouts()->set_response_headers_ms(
        parse_duration_ms(f.response_headers_timeout.value, "--response-headers-timeout"));
  }
  if (set(f.idle_timeout, "timeouts.idle_ms")) {
    service.mutable_timeouts()->set_idle_ms(
        parse_duration_ms(f.idle_timeout.value, "--idle-timeout"));
  }

  if (set(f.retry_attempts, "retry.attempts")) {
    service.mutable_retry()->set_attempts(parse_uint32(f.retry_attempts.value, "--retry-attempts"));
  }
  if (!f.retry_on.empty()) {
    add_mask_path(given, "retry.on");
    service.mutable_retry()->clear_on();
    for (const std::string& on : f.retry_on) {
      service.mutable_retry()->add_on(static_cast<v1::RetryOn>(
          parse_enum(*v1::RetryOn_descriptor(), "RETRY_ON_", on, "--retry-on")));
    }
  }
  if (set(f.per_try_timeout, "retry.per_try_timeout_ms")) {
    service.mutable_retry()->set_per_try_timeout_ms(
        parse_duration_ms(f.per_try_timeout.value, "--per-try-timeout"));
  }

  if (set(f.max_connections, "limits.max_connections_per_instance")) {
    service.mutable_limits()->set_max_connections_per_instance(
        parse_uint32(f.max_connections.value, "--max-connections"));
  }
  if (set(f.max_pending, "limits.max_pending_per_instance")) {
    service.mutable_limits()->set_max_pending_per_instance(
        parse_uint32(f.max_pending.value, "--max-pending"));
  }
  if (set(f.max_body, "limits.max_body")) {
    service.mutable_limits()->set_max_body(parse_size_bytes(f.max_body.value, "--max-body"));
  }
  if (set(f.buffer_body, "limits.buffer_body")) {
    service.mutable_limits()->set_buffer_body(parse_size_bytes(f.buffer_body.value, "--buffer-body"));
  }
  if (paths != nullptr) *paths = std::move(given);
  return service;
}

// update and patch: the same PatchService call, with the mask of the fields
// given, so that no field left off the command line changes.
void add_patch_verb(CLI::App& noun, CommandTable& table, const std::string& name, const std::string& description) {
  auto flags = std::make_shared<ServiceFlags>();
  CLI::App* verb = noun.add_subcommand(name, description);
  add_service_flags(*verb, *flags);
  verb->add_option("--clear", flags->clear,
                   "reset this field to its default (mask path: tenant, lb_policy, hash_key, "
                   "health_check, outlier, retry, timeouts, limits, or one inside, e.g. "
                   "timeouts.idle_ms); repeatable");
  verb->add_flag("--take-ownership", flags->take_ownership,
                 "edit it even when a config file owns it; the API owns it afterwards");
  table.add(verb, [verb, flags] {
    auto request = std::make_unique<v1::PatchServiceRequest>();
    std::vector<std::string> paths;
    *request->mutable_service() = build_service(*flags, &paths);
    set_update_mask(std::move(paths), flags->clear, *request->mutable_update_mask());
    request->set_take_ownership(flags->take_ownership);
    std::string subject = subject_of("service", request->service().name());
    return make_command(*verb, rpcs::patch_service, std::move(request), std::move(subject));
  });
}

}  // namespace

void add_service_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("services", "services: list, get, create, update, patch, delete");
  noun->require_subcommand(1);

  {
    auto tenant = std::make_shared<std::string>();
    CLI::App* list = noun->add_subcommand("list", "list services, ordered by name");
    list->add_option("--tenant", *tenant, "only this tenant's services");
    table.add(list, [list, tenant] {
      auto request = std::make_unique<v1::ListServicesRequest>();
      request->set_tenant(*tenant);
      return make_command(*list, rpcs::list_services, std::move(request));
    });
  }

  {
    auto name = std::make_shared<std::string>();
    CLI::App* get = noun->add_subcommand("get", "show one service (-o yaml shows every field)");
    get->add_option("NAME", *name, "service name")->required();
    table.add(get, [get, name] {
      auto request = std::make_unique<v1::GetServiceRequest>();
      request->set_name(*name);
      return make_command(*get, rpcs::get_service, std::move(request), subject_of("service", *name));
    });
  }

  {
    auto flags = std::make_shared<ServiceFlags>();
    CLI::App* create = noun->add_subcommand("create", "create a service");
    add_service_flags(*create, *flags);
    table.add(create, [create, flags] {
      auto request = std::make_unique<v1::CreateServiceRequest>();
      *request->mutable_service() = build_service(*flags);
      std::string subject = subject_of("service", request->service().name());
      return make_command(*create, rpcs::create_service, std::move(request), std::move(subject));
    });
  }

  add_patch_verb(*noun, table, "update",
                 "change only the fields given (flags and --json fields); the same as patch");
  add_patch_verb(*noun, table, "patch",
                 "change only the fields given (the field mask is built from the flags and --json "
                 "fields; --tenant \"\" removes the tenant, --clear resets a field)");

  {
    auto name = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    auto cascade = std::make_shared<bool>(false);
    CLI::App* remove = noun->add_subcommand(
        "delete", "delete a service that no route uses and no instance is registered in");
    remove->add_option("NAME", *name, "service name")->required();
    remove->add_flag("--take-ownership", *take_ownership,
                     "delete it even when a config file owns it");
    remove->add_flag("--cascade", *cascade,
                     "also when alert rules name it: those rules are disabled and their alerts resolved");
    table.add(remove, [remove, cascade, name, take_ownership] {
      auto request = std::make_unique<v1::DeleteServiceRequest>();
      request->set_name(*name);
      request->set_take_ownership(*take_ownership);
      request->set_cascade(*cascade);
      return make_command(*remove, rpcs::delete_service, std::move(request),
                          subject_of("service", *name));
    });
  }
}

}  // namespace tg::tgctl
