// tgctl tenants credentials create|list|delete
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

struct CredentialFlags {
  std::string tenant, name, kind;
  bool take_ownership = false;
};

v1::Credential::Kind parse_kind(const std::string& kind) {
  if (kind == "api_key") return v1::Credential::KIND_API_KEY;
  if (kind == "ingest") return v1::Credential::KIND_INGEST;
  throw UsageError("--kind: must be api_key or ingest, got \"" + kind + "\"");
}

}  // namespace

void add_credential_commands(CLI::App& tenants, CommandTable& table) {
  CLI::App* noun = tenants.add_subcommand(
      "credentials", "a tenant's credentials (api_key: requests on auth routes; ingest: its containers): "
                     "create, list, delete");
  noun->require_subcommand(1);

  {
    auto flags = std::make_shared<CredentialFlags>();
    CLI::App* create = noun->add_subcommand(
        "create", "create a credential; prints its secret once (tg-control keeps only its SHA-256)");
    create->add_option("TENANT", flags->tenant, "tenant id")->required();
    create->add_option("NAME", flags->name, "credential name, unique within the tenant")->required();
    create->add_option("--kind", flags->kind, "api_key or ingest")->required();
    create->add_flag("--take-ownership", flags->take_ownership,
                     "even when a config file owns the tenant; the API owns it afterwards");
    table.add(create, [create, flags] {
      auto request = std::make_unique<v1::CreateCredentialRequest>();
      request->set_tenant(flags->tenant);
      request->set_name(flags->name);
      request->set_kind(parse_kind(flags->kind));
      request->set_take_ownership(flags->take_ownership);
      return make_command(*create, rpcs::create_credential, std::move(request),
                          subject_of("credential", flags->name) + " of tenant \"" + flags->tenant + "\"");
    });
  }

  {
    auto tenant = std::make_shared<std::string>();
    CLI::App* list = noun->add_subcommand("list", "list a tenant's credentials (names and kinds; never a secret)");
    list->add_option("TENANT", *tenant, "tenant id")->required();
    table.add(list, [list, tenant] {
      auto request = std::make_unique<v1::ListCredentialsRequest>();
      request->set_tenant(*tenant);
      return make_command(*list, rpcs::list_credentials, std::move(request), subject_of("tenant", *tenant));
    });
  }

  {
    auto flags = std::make_shared<CredentialFlags>();
    CLI::App* remove = noun->add_subcommand(
        "delete", "delete (revoke) a credential; every proxy stops accepting it with the next table version");
    remove->add_option("TENANT", flags->tenant, "tenant id")->required();
    remove->add_option("NAME", flags->name, "credential name")->required();
    remove->add_flag("--take-ownership", flags->take_ownership, "even when a config file owns the tenant");
    table.add(remove, [remove, flags] {
      auto request = std::make_unique<v1::DeleteCredentialRequest>();
      request->set_tenant(flags->tenant);
      request->set_name(flags->name);
      request->set_take_ownership(flags->take_ownership);
      return make_command(*remove, rpcs::delete_credential, std::move(request),
                          subject_of("credential", flags->name) + " of tenant \"" + flags->tenant + "\"");
    });
  }
}

}  // namespace tg::tgctl
