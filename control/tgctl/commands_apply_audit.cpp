// tgctl apply -f FILE ...   and   tgctl audit list ...
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/json_input.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

struct ApplyFlags {
  std::string file;
  TextFlag file_name;
  bool dry_run = false, prune = false, take_ownership = false;
};

struct AuditFlags {
  std::string actor, kind, name, method;
  TextFlag since, until, limit, before_id;
};

}  // namespace

void add_apply_command(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<ApplyFlags>();
  CLI::App* apply = app.add_subcommand(
      "apply",
      "apply a YAML document (tenants, services with instances, routes) and print the changes");
  apply->add_option("-f,--file", flags->file, "the YAML file (- = standard input)")->required();
  add_text_flag(*apply, flags->file_name, "--file-name",
                "name the objects record as their source (default: FILE as given); "
                "--prune deletes what an earlier apply under this name created");
  apply->add_flag("--dry-run", flags->dry_run, "show the changes, commit nothing");
  apply->add_flag("--prune", flags->prune,
                  "delete objects an earlier apply of this file created that the document no "
                  "longer holds");
  apply->add_flag("--take-ownership", flags->take_ownership,
                  "also take over objects another source (a config file, the API) owns");
  table.add(apply, [apply, flags] {
    auto request = std::make_unique<v1::ApplyRequest>();
    request->set_yaml(read_input_file(flags->file, "-f"));
    if (flags->file_name.given()) {
      if (flags->file_name.value.empty()) throw UsageError("--file-name: must not be empty");
      request->set_file_name(flags->file_name.value);
    } else {
      request->set_file_name(flags->file == "-" ? "<stdin>" : flags->file);
    }
    request->set_dry_run(flags->dry_run);
    request->set_prune(flags->prune);
    request->set_take_ownership(flags->take_ownership);
    std::string subject = request->file_name();
    return make_command(*apply, rpcs::apply, std::move(request), std::move(subject));
  });
}

void add_audit_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("audit", "the audit log: who changed what, when");
  noun->require_subcommand(1);
  auto flags = std::make_shared<AuditFlags>();
  CLI::App* list = noun->add_subcommand("list", "list audit entries, newest first");
  list->add_option("--actor", flags->actor, "only this actor (token name, or anonymous)");
  list->add_option("--kind", flags->kind, "only this kind: tenant, service, instance, route");
  list->add_option("--name", flags->name, "only this object id or name");
  list->add_option("--method", flags->method, "only this Admin method (CreateRoute, startup, ...)");
  add_text_flag(*list, flags->since, "--since",
                "from this time on: 2026-11-22T06:00:00Z, Unix ms, or 15m (ago)");
  add_text_flag(*list, flags->until, "--until", "before this time (same forms)");
  add_text_flag(*list, flags->limit, "--limit", "at most this many entries (server default 100, max 1000)");
  add_text_flag(*list, flags->before_id, "--before-id", "page: entries older than this id");
  const CommandTable* table_ptr = &table;
  table.add(list, [list, flags, table_ptr] {
    const std::int64_t now = table_ptr->environment().now_unix_ms;
    auto request = std::make_unique<v1::ListAuditRequest>();
    request->set_actor(flags->actor);
    request->set_kind(flags->kind);
    request->set_name(flags->name);
    request->set_method(flags->method);
    if (flags->since.given()) {
      request->set_since_unix_ms(parse_time_unix_ms(flags->since.value, now, "--since"));
    }
    if (flags->until.given()) {
      request->set_until_unix_ms(parse_time_unix_ms(flags->until.value, now, "--until"));
    }
    if (flags->limit.given()) request->set_limit(parse_uint32(flags->limit.value, "--limit"));
    if (flags->before_id.given()) {
      request->set_before_id(parse_uint64(flags->before_id.value, "--before-id"));
    }
    return make_command(*list, rpcs::list_audit, std::move(request));
  });
}

}  // namespace tg::tgctl
