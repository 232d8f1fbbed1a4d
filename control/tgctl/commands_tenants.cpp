// tgctl tenants list|get|create|update|delete
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/json_input.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

// Flags of create and update: the whole tenant.
struct TenantFlags {
  std::string id;
  std::vector<std::string> labels;
  TextFlag json;
  bool take_ownership = false;
};

void add_tenant_flags(CLI::App& verb, TenantFlags& flags) {
  verb.add_option("ID", flags.id, "tenant id (or \"id\" in --json)");
  verb.add_option("--label", flags.labels, "label KEY=VALUE (repeatable)");
  add_text_flag(verb, flags.json, "--json",
                "the tenant as protobuf JSON, or @FILE; flags given override its fields");
}

// --json first, then the flags over it.
v1::Tenant build_tenant(const TenantFlags& flags) {
  v1::Tenant tenant;
  if (flags.json.given()) read_json_into(flags.json.value, tenant, "--json");
  if (!flags.id.empty()) tenant.set_id(flags.id);
  set_labels(flags.labels, *tenant.mutable_labels());
  if (tenant.id().empty()) throw UsageError("give the tenant ID");
  return tenant;
}

}  // namespace

void add_tenant_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("tenants", "tenants: list, get, create, update, delete");
  noun->require_subcommand(1);

  CLI::App* list = noun->add_subcommand("list", "list every tenant, ordered by id");
  table.add(list, [list] {
    return make_command(*list, rpcs::list_tenants, std::make_unique<v1::ListTenantsRequest>());
  });

  {
    auto id = std::make_shared<std::string>();
    CLI::App* get = noun->add_subcommand("get", "show one tenant");
    get->add_option("ID", *id, "tenant id")->required();
    table.add(get, [get, id] {
      auto request = std::make_unique<v1::GetTenantRequest>();
      request->set_id(*id);
      return make_command(*get, rpcs::get_tenant, std::move(request), subject_of("tenant", *id));
    });
  }

  {
    auto flags = std::make_shared<TenantFlags>();
    CLI::App* create = noun->add_subcommand("create", "create a tenant");
    add_tenant_flags(*create, *flags);
    table.add(create, [create, flags] {
      auto request = std::make_unique<v1::CreateTenantRequest>();
      *request->mutable_tenant() = build_tenant(*flags);
      std::string subject = subject_of("tenant", request->tenant().id());
      return make_command(*create, rpcs::create_tenant, std::move(request), std::move(subject));
    });
  }

  {
    auto flags = std::make_shared<TenantFlags>();
    CLI::App* update = noun->add_subcommand(
        "update", "replace a tenant (its labels become exactly those given)");
    add_tenant_flags(*update, *flags);
    update->add_flag("--take-ownership", flags->take_ownership,
                     "edit it even when a config file owns it; the API owns it afterwards");
    table.add(update, [update, flags] {
      auto request = std::make_unique<v1::UpdateTenantRequest>();
      *request->mutable_tenant() = build_tenant(*flags);
      request->set_take_ownership(flags->take_ownership);
      std::string subject = subject_of("tenant", request->tenant().id());
      return make_command(*update, rpcs::update_tenant, std::move(request), std::move(subject));
    });
  }

  {
    auto id = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    CLI::App* remove = noun->add_subcommand("delete", "delete a tenant that no service belongs to");
    remove->add_option("ID", *id, "tenant id")->required();
    remove->add_flag("--take-ownership", *take_ownership,
                     "delete it even when a config file owns it");
    table.add(remove, [remove, id, take_ownership] {
      auto request = std::make_unique<v1::DeleteTenantRequest>();
      request->set_id(*id);
      request->set_take_ownership(*take_ownership);
      return make_command(*remove, rpcs::delete_tenant, std::move(request),
                          subject_of("tenant", *id));
    });
  }
}

}  // namespace tg::tgctl
