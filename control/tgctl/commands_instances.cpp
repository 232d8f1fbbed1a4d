// tgctl instances register|deregister|heartbeat|discover|list|update|patch|set-state
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/json_input.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

struct RegisterFlags {
  std::string service, address;
  TextFlag id, weight, state, ttl, json;
  std::vector<std::string> labels;
  bool replace = false;
  bool take_ownership = false;
};

v1::AdminState parse_admin_state(const std::string& text, std::string_view flag) {
  return static_cast<v1::AdminState>(
      parse_enum(*v1::AdminState_descriptor(), "ADMIN_STATE_", text, flag));
}

std::unique_ptr<v1::RegisterInstanceRequest> build_register(const RegisterFlags& f) {
  auto request = std::make_unique<v1::RegisterInstanceRequest>();
  v1::Instance& instance = *request->mutable_instance();
  if (f.json.given()) read_json_into(f.json.value, instance, "--json");
  if (!f.service.empty()) instance.set_service(f.service);
  if (!f.address.empty()) instance.set_address(f.address);
  if (f.id.given()) instance.set_id(f.id.value);
  if (f.weight.given()) instance.set_weight(parse_uint32(f.weight.value, "--weight"));
  if (f.state.given()) instance.set_admin_state(parse_admin_state(f.state.value, "--state"));
  set_labels(f.labels, *instance.mutable_labels());
  if (instance.service().empty() || instance.address().empty()) {
    throw UsageError("give the SERVICE and the ADDRESS");
  }
  if (f.ttl.given()) request->set_heartbeat_ttl_ms(parse_duration_ms(f.ttl.value, "--ttl"));
  request->set_replace(f.replace);
  request->set_take_ownership(f.take_ownership);
  return request;
}

struct PatchFlags {
  std::string id;
  TextFlag address, weight, state, json;
  std::vector<std::string> labels, remove_labels, clear;
  bool take_ownership = false;
};

// update and patch: the same PatchInstance call, with the mask of the fields
// given; health, TTL and the labels not named stay.
std::unique_ptr<v1::PatchInstanceRequest> build_patch(const PatchFlags& f) {
  auto request = std::make_unique<v1::PatchInstanceRequest>();
  v1::Instance& instance = *request->mutable_instance();
  std::vector<std::string> paths;
  if (f.json.given()) {
    paths = read_json_with_paths(f.json.value, instance, "--json",
                                 {"id", "service", "meta", "health", "health_reason", "health_changed_unix_ms",
                                  "heartbeat_ttl_ms", "last_heartbeat_unix_ms"});
  }
  if (!f.id.empty()) instance.set_id(f.id);
  if (instance.id().empty()) throw UsageError("give the instance ID");
  if (f.address.given()) {
    instance.set_address(f.address.value);
    add_mask_path(paths, "address");
  }
  if (f.weight.given()) {
    instance.set_weight(parse_uint32(f.weight.value, "--weight"));
    add_mask_path(paths, "weight");
  }
  if (f.state.given()) {
    instance.set_admin_state(parse_admin_state(f.state.value, "--state"));
    add_mask_path(paths, "admin_state");
  }
  set_labels(f.labels, *instance.mutable_labels());
  for (const std::string& pair : f.labels) add_mask_path(paths, "labels." + pair.substr(0, pair.find('=')));
  for (const std::string& key : f.remove_labels) {
    if (instance.labels().contains(key)) throw UsageError("--remove-label " + key + ": that label is set too");
    add_mask_path(paths, "labels." + key);
  }
  set_update_mask(std::move(paths), f.clear, *request->mutable_update_mask());
  request->set_take_ownership(f.take_ownership);
  return request;
}

void add_patch_verb(CLI::App& noun, CommandTable& table, const std::string& name, const std::string& description) {
  auto flags = std::make_shared<PatchFlags>();
  CLI::App* verb = noun.add_subcommand(name, description);
  verb->add_option("ID", flags->id, "instance id (or \"id\" in --json)");
  add_text_flag(*verb, flags->address, "--address", "host:port or [v6]:port");
  add_text_flag(*verb, flags->weight, "--weight", "1..10000");
  add_text_flag(*verb, flags->state, "--state", "active, draining or disabled");
  verb->add_option("--label", flags->labels, "set label KEY=VALUE (repeatable)");
  verb->add_option("--remove-label", flags->remove_labels, "remove the label KEY (repeatable)");
  verb->add_option("--clear", flags->clear,
                   "reset this field (mask path: address, weight, admin_state, labels); repeatable");
  add_text_flag(*verb, flags->json, "--json",
                "fields as protobuf JSON, or @FILE; flags given override them");
  verb->add_flag("--take-ownership", flags->take_ownership,
                 "edit it even when a config file owns it; the API owns it afterwards");
  table.add(verb, [verb, flags] {
    auto request = build_patch(*flags);
    std::string subject = subject_of("instance", request->instance().id());
    return make_command(*verb, rpcs::patch_instance, std::move(request), std::move(subject));
  });
}

}  // namespace

void add_instance_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand(
      "instances", "instances: register, deregister, heartbeat, discover, list, update, patch, set-state");
  noun->require_subcommand(1);

  {
    auto flags = std::make_shared<RegisterFlags>();
    CLI::App* reg = noun->add_subcommand("register", "register an instance of a service");
    reg->add_option("SERVICE", flags->service, "service (or \"service\" in --json)");
    reg->add_option("ADDRESS", flags->address, "host:port or [v6]:port");
    add_text_flag(*reg, flags->id, "--id", "instance id (default SERVICE/ADDRESS)");
    add_text_flag(*reg, flags->weight, "--weight", "1..10000 (default 1)");
    add_text_flag(*reg, flags->state, "--state", "active (default), draining or disabled");
    add_text_flag(*reg, flags->ttl, "--ttl",
                  "heartbeat TTL (10s): unhealthy when no heartbeat comes for this long");
    reg->add_option("--label", flags->labels, "label KEY=VALUE (repeatable)");
    reg->add_flag("--replace", flags->replace, "replace an instance of the same id");
    reg->add_flag("--take-ownership", flags->take_ownership,
                  "with --replace: take over an instance a config file owns (it becomes API-owned)");
    add_text_flag(*reg, flags->json, "--json",
                  "the instance as protobuf JSON, or @FILE; flags given override its fields");
    table.add(reg, [reg, flags] {
      auto request = build_register(*flags);
      std::string subject = subject_of("instance", request->instance().id());
      return make_command(*reg, rpcs::register_instance, std::move(request), std::move(subject));
    });
  }

  {
    auto id = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    CLI::App* dereg = noun->add_subcommand("deregister", "remove an instance");
    dereg->add_option("ID", *id, "instance id")->required();
    dereg->add_flag("--take-ownership", *take_ownership,
                    "remove it even when a config file owns it");
    table.add(dereg, [dereg, id, take_ownership] {
      auto request = std::make_unique<v1::DeregisterInstanceRequest>();
      request->set_id(*id);
      request->set_take_ownership(*take_ownership);
      return make_command(*dereg, rpcs::deregister_instance, std::move(request),
                          subject_of("instance", *id));
    });
  }

  {
    auto id = std::make_shared<std::string>();
    CLI::App* beat = noun->add_subcommand("heartbeat", "report an instance alive (once)");
    beat->add_option("ID", *id, "instance id")->required();
    table.add(beat, [beat, id] {
      auto request = std::make_unique<v1::HeartbeatRequest>();
      request->set_id(*id);
      return make_command(*beat, rpcs::heartbeat, std::move(request), subject_of("instance", *id));
    });
  }

  {
    auto service = std::make_shared<std::string>();
    CLI::App* discover = noun->add_subcommand(
        "discover", "list a service's instances with their state and health");
    discover->add_option("SERVICE", *service, "service name")->required();
    table.add(discover, [discover, service] {
      auto request = std::make_unique<v1::DiscoverInstancesRequest>();
      request->set_service(*service);
      return make_command(*discover, rpcs::discover_instances, std::move(request),
                          subject_of("service", *service));
    });
  }

  {
    struct ListFlags {
      std::string positional_service;
      TextFlag service, tenant, state, health;
    };
    auto flags = std::make_shared<ListFlags>();
    CLI::App* list = noun->add_subcommand(
        "list", "list instances of every service (or of SERVICE), filtered, ordered by id");
    list->add_option("SERVICE", flags->positional_service, "only this service's instances (as --service)");
    add_text_flag(*list, flags->service, "--service", "only this service's instances");
    add_text_flag(*list, flags->tenant, "--tenant", "only instances of this tenant's services");
    add_text_flag(*list, flags->state, "--state", "only this admin state: active, draining or disabled");
    add_text_flag(*list, flags->health, "--health", "only this health: unknown, healthy or unhealthy");
    table.add(list, [list, flags] {
      auto request = std::make_unique<v1::ListInstancesRequest>();
      if (!flags->positional_service.empty() && flags->service.given() &&
          flags->positional_service != flags->service.value) {
        throw UsageError("give the service once: SERVICE or --service");
      }
      request->set_service(flags->service.given() ? flags->service.value : flags->positional_service);
      request->set_tenant(flags->tenant.value);
      if (flags->state.given()) request->set_admin_state(parse_admin_state(flags->state.value, "--state"));
      if (flags->health.given()) {
        request->set_health(static_cast<v1::Health>(
            parse_enum(*v1::Health_descriptor(), "HEALTH_", flags->health.value, "--health")));
      }
      return make_command(*list, rpcs::list_instances, std::move(request));
    });
  }

  add_patch_verb(*noun, table, "update",
                 "change only the fields given (flags and --json fields); the same as patch");
  add_patch_verb(*noun, table, "patch",
                 "change only the fields given: address, weight, state, labels (health and TTL stay)");

  {
    auto id = std::make_shared<std::string>();
    auto state = std::make_shared<std::string>();
    CLI::App* set_state = noun->add_subcommand("set-state", "set an instance's admin state");
    set_state->add_option("ID", *id, "instance id")->required();
    set_state->add_option("STATE", *state, "active, draining or disabled")->required();
    table.add(set_state, [set_state, id, state] {
      auto request = std::make_unique<v1::SetInstanceStateRequest>();
      request->set_id(*id);
      request->set_admin_state(parse_admin_state(*state, "STATE"));
      return make_command(*set_state, rpcs::set_instance_state, std::move(request),
                          subject_of("instance", *id));
    });
  }
}

}  // namespace tg::tgctl
