// tgctl proxies list; tgctl registry show | adopt ID (the table stream's
// registry identity, docs/control-plane.md "Registry identity and restores").
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"

#include <memory>

namespace tg::tgctl {

void add_proxy_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("proxies", "proxies on the balancer-table stream: list");
  noun->require_subcommand(1);
  CLI::App* list = noun->add_subcommand(
      "list", "list the connected proxies and the fenced ones, ordered by node id");
  auto all = std::make_shared<bool>(false);
  list->add_flag("--all", *all,
                 "also the disconnected proxies tg-control still keeps (tg-control --proxy-retention)");
  table.add(list, [list, all] {
    auto request = std::make_unique<tenantgate::v1::ListProxiesRequest>();
    request->set_all(*all);
    return make_command(*list, rpcs::list_proxies, std::move(request));
  });

  CLI::App* registry = app.add_subcommand("registry", "this database's registry identity: show, adopt");
  registry->require_subcommand(1);
  CLI::App* show = registry->add_subcommand(
      "show", "the registry id, generation, adopted registries and whether the database is older than the fleet");
  table.add(show, [show] {
    return make_command(*show, rpcs::get_registry, std::make_unique<tenantgate::v1::GetRegistryRequest>());
  });
  CLI::App* adopt = registry->add_subcommand(
      "adopt",
      "let the proxies that serve registry ID take this tg-control's table (they refuse a foreign registry "
      "otherwise); audited");
  auto id = std::make_shared<std::string>();
  adopt->add_option("ID", *id, "the registry id the proxies serve (tgctl proxies list shows it)")->required();
  table.add(adopt, [adopt, id] {
    auto request = std::make_unique<tenantgate::v1::AdoptRegistryRequest>();
    request->set_registry_id(*id);
    return make_command(*adopt, rpcs::adopt_registry, std::move(request), subject_of("registry", *id));
  });
}

}  // namespace tg::tgctl
