// tgctl proxies list
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"

namespace tg::tgctl {

void add_proxy_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("proxies", "proxies on the balancer-table stream: list");
  noun->require_subcommand(1);
  CLI::App* list = noun->add_subcommand(
      "list", "list every proxy seen since tg-control started, ordered by node id");
  table.add(list, [list] {
    return make_command(*list, rpcs::list_proxies,
                        std::make_unique<tenantgate::v1::ListProxiesRequest>());
  });
}

}  // namespace tg::tgctl
