// tgctl instances register|deregister|heartbeat|discover|set-state
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

}  // namespace

void add_instance_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand(
      "instances", "instances: register, deregister, heartbeat, discover, set-state");
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
    discover->alias("list");
    discover->add_option("SERVICE", *service, "service name")->required();
    table.add(discover, [discover, service] {
      auto request = std::make_unique<v1::DiscoverInstancesRequest>();
      request->set_service(*service);
      return make_command(*discover, rpcs::discover_instances, std::move(request),
                          subject_of("service", *service));
    });
  }

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
