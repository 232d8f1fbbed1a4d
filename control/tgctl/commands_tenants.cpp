// tgctl tenants list|get|create|update|patch|delete (credentials: commands_credentials.cpp)
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/json_input.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

// Flags of create, update and patch.
struct TenantFlags {
  std::string id;
  std::vector<std::string> labels;
  std::vector<std::string> remove_labels;  // update/patch
  std::vector<std::string> clear;          // update/patch: mask paths to reset
  TextFlag json;
  bool take_ownership = false;
};

void add_tenant_flags(CLI::App& verb, TenantFlags& flags) {
  verb.add_option("ID", flags.id, "tenant id (or \"id\" in --json)");
  verb.add_option("--label", flags.labels, "label KEY=VALUE (repeatable)");
  add_text_flag(verb, flags.json, "--json",
                "the tenant as protobuf JSON, or @FILE; flags given override its fields");
}

// --json first, then the flags over it. `paths` (update, patch) gets the
// field-mask path of each label set or removed: "labels.KEY".
v1::Tenant build_tenant(const TenantFlags& flags, std::vector<std::string>* paths = nullptr) {
  v1::Tenant tenant;
  std::vector<std::string> given;
  if (flags.json.given()) given = read_json_with_paths(flags.json.value, tenant, "--json", {"id", "meta"});
  if (!flags.id.empty()) tenant.set_id(flags.id);
  set_labels(flags.labels, *tenant.mutable_labels());
  for (const std::string& pair : flags.labels) add_mask_path(given, "labels." + pair.substr(0, pair.find('=')));
  for (const std::string& key : flags.remove_labels) {
    if (tenant.labels().contains(key)) throw UsageError("--remove-label " + key + ": that label is set too");
    add_mask_path(given, "labels." + key);
  }
  if (tenant.id().empty()) throw UsageError("give the tenant ID");
  if (paths != nullptr) *paths = std::move(given);
  return tenant;
}

// update and patch: the same PatchTenant call; labels not named stay.
void add_patch_verb(CLI::App& noun, CommandTable& table, const std::string& name, const std::string& description) {
  auto flags = std::make_shared<TenantFlags>();
  CLI::App* verb = noun.add_subcommand(name, description);
  add_tenant_flags(*verb, *flags);
  verb->add_option("--remove-label", flags->remove_labels, "remove the label KEY (repeatable)");
  verb->add_option("--clear", flags->clear, "reset this field (mask path: labels removes them all); repeatable");
  verb->add_flag("--take-ownership", flags->take_ownership,
                 "edit it even when a config file owns it; the API owns it afterwards");
  table.add(verb, [verb, flags] {
    auto request = std::make_unique<v1::PatchTenantRequest>();
    std::vector<std::string> paths;
    *request->mutable_tenant() = build_tenant(*flags, &paths);
    set_update_mask(std::move(paths), flags->clear, *request->mutable_update_mask());
    request->set_take_ownership(flags->take_ownership);
    std::string subject = subject_of("tenant", request->tenant().id());
    return make_command(*verb, rpcs::patch_tenant, std::move(request), std::move(subject));
  });
}

}  // namespace

void add_tenant_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("tenants", "tenants: list, get, create, update, patch, delete, credentials");
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

  add_patch_verb(*noun, table, "update",
                 "set or remove the labels given; the others stay (the same as patch)");
  add_patch_verb(*noun, table, "patch",
                 "set or remove the labels given; the others stay (--clear labels removes all)");

  {
    auto id = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    auto cascade = std::make_shared<bool>(false);
    CLI::App* remove = noun->add_subcommand("delete", "delete a tenant that no service belongs to");
    remove->add_option("ID", *id, "tenant id")->required();
    remove->add_flag("--take-ownership", *take_ownership,
                     "delete it even when a config file owns it");
    remove->add_flag("--cascade", *cascade,
                     "also when alert rules name it: those rules are disabled and their alerts resolved");
    table.add(remove, [remove, cascade, id, take_ownership] {
      auto request = std::make_unique<v1::DeleteTenantRequest>();
      request->set_id(*id);
      request->set_take_ownership(*take_ownership);
      request->set_cascade(*cascade);
      return make_command(*remove, rpcs::delete_tenant, std::move(request),
                          subject_of("tenant", *id));
    });
  }

  add_credential_commands(*noun, table);
}

}  // namespace tg::tgctl
