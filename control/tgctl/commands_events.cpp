// tgctl events list [--instance ID] [--service NAME] [--tenant ID] [--kind KIND] [--level LEVEL] [--since T]
//                   [--grouped] [--limit N] [--before LAST_SEEN:ID]
// Single occurrences by default, the newest first; --grouped lists the groups with their counts.
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

struct EventFlags {
  std::string instance, service, tenant, kind, level;
  bool grouped = false;
  TextFlag since, limit, before;
};

}  // namespace

void add_event_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("events", "events: instance health flips and more, grouped with counts");
  noun->require_subcommand(1);
  auto flags = std::make_shared<EventFlags>();
  CLI::App* list = noun->add_subcommand(
      "list", "list event occurrences, the newest first (--grouped: groups with counts, the most recently seen first)");
  list->add_option("--instance", flags->instance, "only this instance id");
  list->add_option("--service", flags->service, "only this service");
  list->add_option("--tenant", flags->tenant, "only this tenant");
  list->add_option("--kind", flags->kind, "only this kind (health, ...)");
  list->add_option("--level", flags->level, "only at or above this level (debug, info, warning, error, critical)")
      ->check(CLI::IsMember({"debug", "info", "warning", "error", "critical"}));
  list->add_flag("--grouped", flags->grouped, "event groups with their counts instead of single occurrences");
  add_text_flag(*list, flags->since, "--since",
                "groups seen from this time on: 2026-11-22T06:00:00Z, Unix ms, or 15m (ago)");
  add_text_flag(*list, flags->limit, "--limit", "at most this many groups (server default 100, max 1000)");
  add_text_flag(*list, flags->before, "--before",
                "page: groups after LAST_SEEN_MS:ID, the last_seen_unix_ms and id of the previous page's last group");
  const CommandTable* table_ptr = &table;
  table.add(list, [list, flags, table_ptr] {
    const std::int64_t now = table_ptr->environment().now_unix_ms;
    auto request = std::make_unique<v1::ListEventsRequest>();
    request->set_instance(flags->instance);
    request->set_service(flags->service);
    request->set_tenant(flags->tenant);
    request->set_kind(flags->kind);
    request->set_level(flags->level);
    request->set_occurrences(!flags->grouped);
    if (flags->since.given()) request->set_since_unix_ms(parse_time_unix_ms(flags->since.value, now, "--since"));
    if (flags->limit.given()) request->set_limit(parse_uint32(flags->limit.value, "--limit"));
    if (flags->before.given()) {
      const std::string& text = flags->before.value;
      const auto colon = text.find(':');
      if (colon == std::string::npos) throw UsageError("--before: expected LAST_SEEN_MS:ID, got \"" + text + "\"");
      request->set_before_last_seen_unix_ms(
          static_cast<std::int64_t>(parse_uint64(text.substr(0, colon), "--before (LAST_SEEN_MS)")));
      request->set_before_id(parse_uint64(text.substr(colon + 1), "--before (ID)"));
    }
    return make_command(*list, rpcs::list_events, std::move(request));
  });
}

}  // namespace tg::tgctl
