// tgctl rules list|get|create|update|delete, notifiers list|get|create|delete,
// alerts list|show|ack|unack|resolve, silences create|list|expire
// (docs/tgctl.md, docs/alerting.md).
#include "tgctl/alert_flags.hpp"
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/json_input.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

// Flags of rules create and update.
struct RuleFlags {
  std::string name;
  TextFlag json;
  TextFlag metric, op, threshold, kind, level;
  TextFlag window, for_duration, keep_firing_for;
  TextFlag tenant, service, route, instance;
  std::vector<std::string> scope_labels, group_by, notifiers, annotations;
  TextFlag severity;
  bool take_ownership = false;
};

void add_rule_flags(CLI::App& verb, RuleFlags& flags) {
  verb.add_option("NAME", flags.name, "rule name (or \"name\" in --json)");
  add_text_flag(verb, flags.json, "--json",
                "the rule as protobuf JSON (AlertRule), or @FILE; flags given override its fields");
  add_text_flag(verb, flags.metric, "--metric",
                "request_rate, error_rate, timeout_rate, auth_failures, rate_limited, p50_latency, p95_latency, "
                "p99_latency, unhealthy_instances, ejected_instances, event_count, restarts, no_traffic");
  add_text_flag(verb, flags.op, "--op", "comparison: > >= < <= == !=");
  add_text_flag(verb, flags.threshold, "--threshold", "the value compared with (0.05 for 5%, 250 for 250 ms)");
  add_text_flag(verb, flags.kind, "--kind", "event_count: the event kind");
  add_text_flag(verb, flags.level, "--level", "event_count: only events at or above this level");
  add_text_flag(verb, flags.window, "--window", "the metric over the last WINDOW (1s..1h; default 1m)");
  add_text_flag(verb, flags.for_duration, "--for", "pending this long before firing (default 0: at once)");
  add_text_flag(verb, flags.keep_firing_for, "--keep-firing-for",
                "condition false this long before resolved (default 0: at once)");
  add_text_flag(verb, flags.tenant, "--tenant", "scope: only this tenant's series");
  add_text_flag(verb, flags.service, "--service", "scope: only this service");
  add_text_flag(verb, flags.route, "--route", "scope: only this route");
  add_text_flag(verb, flags.instance, "--instance", "scope: only this instance");
  verb.add_option("--scope-label", flags.scope_labels, "scope: instance label KEY=VALUE (repeatable)");
  verb.add_option("--group-by", flags.group_by, "one alert per distinct tenant, service, route or instance (repeatable)");
  add_text_flag(verb, flags.severity, "--severity", "critical, warning, info (free text)");
  verb.add_option("--notifier", flags.notifiers, "notify this notifier (repeatable)");
  verb.add_option("--annotation", flags.annotations,
                  "annotation KEY=TEXT, with {{ $labels.NAME }} and {{ $value }} (repeatable)");
}

// --json first, then the flags over it.
v1::AlertRule build_rule(const RuleFlags& flags) {
  v1::AlertRule rule;
  if (flags.json.given()) read_json_into(flags.json.value, rule, "--json");
  rule.clear_meta();
  if (!flags.name.empty()) rule.set_name(flags.name);
  if (rule.name().empty()) throw UsageError("give the rule NAME");
  v1::AlertCondition& condition = *rule.mutable_condition();
  if (flags.metric.given()) condition.set_metric(flags.metric.value);
  if (flags.op.given()) condition.set_op(parse_alert_op(flags.op.value, "--op"));
  if (flags.threshold.given()) condition.set_threshold(parse_double(flags.threshold.value, "--threshold"));
  if (flags.kind.given()) condition.set_kind(flags.kind.value);
  if (flags.level.given()) condition.set_level(flags.level.value);
  if (flags.window.given()) rule.set_window_ms(parse_duration_ms(flags.window.value, "--window"));
  if (flags.for_duration.given()) rule.set_for_ms(parse_duration_ms(flags.for_duration.value, "--for"));
  if (flags.keep_firing_for.given())
    rule.set_keep_firing_for_ms(parse_duration_ms(flags.keep_firing_for.value, "--keep-firing-for"));
  // The scope only when a scope flag is given (an empty scope is every series).
  if (flags.tenant.given()) rule.mutable_scope()->set_tenant(flags.tenant.value);
  if (flags.service.given()) rule.mutable_scope()->set_service(flags.service.value);
  if (flags.route.given()) rule.mutable_scope()->set_route(flags.route.value);
  if (flags.instance.given()) rule.mutable_scope()->set_instance(flags.instance.value);
  if (!flags.scope_labels.empty()) set_labels(flags.scope_labels, *rule.mutable_scope()->mutable_labels());
  if (!flags.group_by.empty()) {
    rule.clear_group_by();
    for (const std::string& label : flags.group_by) rule.add_group_by(label);
  }
  if (flags.severity.given()) rule.set_severity(flags.severity.value);
  if (!flags.notifiers.empty()) {
    rule.clear_notifiers();
    for (const std::string& notifier : flags.notifiers) rule.add_notifiers(notifier);
  }
  for (const std::string& pair : flags.annotations) {
    auto [key, value] = parse_key_value(pair, "--annotation");
    (*rule.mutable_annotations())[key] = value;
  }
  if (rule.condition().metric().empty()) throw UsageError("--metric: required (or condition.metric in --json)");
  if (rule.condition().op().empty()) throw UsageError("--op: required (or condition.op in --json)");
  return rule;
}

struct NotifierFlags {
  std::string name;
  TextFlag json, type, url, secret_file, repeat_interval, timeout;
  bool no_send_resolved = false;
  bool take_ownership = false;
};

v1::Notifier build_notifier(const NotifierFlags& flags) {
  v1::Notifier notifier;
  if (flags.json.given()) read_json_into(flags.json.value, notifier, "--json");
  notifier.clear_meta();
  if (!flags.name.empty()) notifier.set_name(flags.name);
  if (notifier.name().empty()) throw UsageError("give the notifier NAME");
  if (flags.type.given())
    notifier.set_type(static_cast<v1::Notifier::Type>(
        parse_enum(*v1::Notifier::Type_descriptor(), "TYPE_", flags.type.value, "--type")));
  if (flags.url.given()) notifier.set_url(flags.url.value);
  if (flags.secret_file.given()) notifier.set_secret_file(flags.secret_file.value);
  if (flags.repeat_interval.given())
    notifier.set_repeat_interval_ms(parse_duration_ms(flags.repeat_interval.value, "--repeat-interval"));
  if (flags.timeout.given()) notifier.set_timeout_ms(parse_duration_ms(flags.timeout.value, "--timeout-per-attempt"));
  if (flags.no_send_resolved) notifier.set_send_resolved(false);
  if (notifier.type() == v1::Notifier::TYPE_UNSPECIFIED) throw UsageError("--type: required (webhook or alertmanager)");
  if (notifier.url().empty()) throw UsageError("--url: required");
  return notifier;
}

void add_rule_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("rules", "alert rules: list, get, create, update, delete");
  noun->require_subcommand(1);

  {
    auto tenant = std::make_shared<std::string>();
    CLI::App* list = noun->add_subcommand("list", "list alert rules, ordered by name");
    list->add_option("--tenant", *tenant, "only rules whose scope names this tenant");
    table.add(list, [list, tenant] {
      auto request = std::make_unique<v1::ListAlertRulesRequest>();
      request->set_tenant(*tenant);
      return make_command(*list, rpcs::list_alert_rules, std::move(request));
    });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* get = noun->add_subcommand("get", "show one alert rule");
    get->add_option("NAME", *name, "rule name")->required();
    table.add(get, [get, name] {
      auto request = std::make_unique<v1::GetAlertRuleRequest>();
      request->set_name(*name);
      return make_command(*get, rpcs::get_alert_rule, std::move(request), subject_of("alert rule", *name));
    });
  }
  {
    auto flags = std::make_shared<RuleFlags>();
    CLI::App* create = noun->add_subcommand("create", "create an alert rule from flags and/or --json");
    add_rule_flags(*create, *flags);
    table.add(create, [create, flags] {
      auto request = std::make_unique<v1::CreateAlertRuleRequest>();
      *request->mutable_rule() = build_rule(*flags);
      std::string subject = subject_of("alert rule", request->rule().name());
      return make_command(*create, rpcs::create_alert_rule, std::move(request), std::move(subject));
    });
  }
  {
    auto flags = std::make_shared<RuleFlags>();
    CLI::App* update = noun->add_subcommand(
        "update", "replace an alert rule with the one given (tgctl rules get NAME -o json > r.json to start from it)");
    add_rule_flags(*update, *flags);
    update->add_flag("--take-ownership", flags->take_ownership,
                     "edit it even when a config file owns it; the API owns it afterwards");
    table.add(update, [update, flags] {
      auto request = std::make_unique<v1::UpdateAlertRuleRequest>();
      *request->mutable_rule() = build_rule(*flags);
      request->set_take_ownership(flags->take_ownership);
      std::string subject = subject_of("alert rule", request->rule().name());
      return make_command(*update, rpcs::update_alert_rule, std::move(request), std::move(subject));
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    CLI::App* remove = noun->add_subcommand("delete", "delete an alert rule (its open alerts are resolved)");
    remove->add_option("NAME", *name, "rule name")->required();
    remove->add_flag("--take-ownership", *take_ownership, "delete it even when a config file owns it");
    table.add(remove, [remove, name, take_ownership] {
      auto request = std::make_unique<v1::DeleteAlertRuleRequest>();
      request->set_name(*name);
      request->set_take_ownership(*take_ownership);
      return make_command(*remove, rpcs::delete_alert_rule, std::move(request), subject_of("alert rule", *name));
    });
  }
}

void add_notifier_verbs(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("notifiers", "notifiers (webhook, alertmanager): list, get, create, delete");
  noun->require_subcommand(1);

  CLI::App* list = noun->add_subcommand("list", "list notifiers, ordered by name");
  table.add(list, [list] {
    return make_command(*list, rpcs::list_notifiers, std::make_unique<v1::ListNotifiersRequest>());
  });
  {
    auto name = std::make_shared<std::string>();
    CLI::App* get = noun->add_subcommand("get", "show one notifier");
    get->add_option("NAME", *name, "notifier name")->required();
    table.add(get, [get, name] {
      auto request = std::make_unique<v1::GetNotifierRequest>();
      request->set_name(*name);
      return make_command(*get, rpcs::get_notifier, std::move(request), subject_of("notifier", *name));
    });
  }
  {
    auto flags = std::make_shared<NotifierFlags>();
    CLI::App* create = noun->add_subcommand("create", "create a notifier");
    create->add_option("NAME", flags->name, "notifier name (or \"name\" in --json)");
    add_text_flag(*create, flags->json, "--json", "the notifier as protobuf JSON (Notifier), or @FILE");
    add_text_flag(*create, flags->type, "--type", "webhook or alertmanager");
    add_text_flag(*create, flags->url, "--url",
                  "webhook: the URL posted to; alertmanager: its base URL (/api/v2/alerts is added)");
    add_text_flag(*create, flags->secret_file, "--secret-file",
                  "webhook: sign with the secret in this file (on tg-control's host)");
    add_text_flag(*create, flags->repeat_interval, "--repeat-interval",
                  "re-notify while firing and not acknowledged (default 4h; 0 = never)");
    add_text_flag(*create, flags->timeout, "--timeout-per-attempt", "per HTTP attempt (default 10s)");
    create->add_flag("--no-send-resolved", flags->no_send_resolved, "do not notify when an alert resolves");
    table.add(create, [create, flags] {
      auto request = std::make_unique<v1::CreateNotifierRequest>();
      *request->mutable_notifier() = build_notifier(*flags);
      std::string subject = subject_of("notifier", request->notifier().name());
      return make_command(*create, rpcs::create_notifier, std::move(request), std::move(subject));
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    CLI::App* remove = noun->add_subcommand("delete", "delete a notifier no rule names");
    remove->add_option("NAME", *name, "notifier name")->required();
    remove->add_flag("--take-ownership", *take_ownership, "delete it even when a config file owns it");
    table.add(remove, [remove, name, take_ownership] {
      auto request = std::make_unique<v1::DeleteNotifierRequest>();
      request->set_name(*name);
      request->set_take_ownership(*take_ownership);
      return make_command(*remove, rpcs::delete_notifier, std::move(request), subject_of("notifier", *name));
    });
  }
}

struct AlertListFlags {
  std::string tenant, rule;
  TextFlag state, limit, before;
};

void add_alert_verbs(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("alerts", "alert episodes: list, show, ack, unack, resolve");
  noun->require_subcommand(1);
  {
    auto flags = std::make_shared<AlertListFlags>();
    CLI::App* list = noun->add_subcommand("list", "list alert episodes, the newest first");
    add_text_flag(*list, flags->state, "--state", "only pending, firing or resolved ones");
    list->add_option("--tenant", flags->tenant, "only this tenant's");
    list->add_option("--rule", flags->rule, "only this rule's");
    add_text_flag(*list, flags->limit, "--limit", "at most this many (server default 100, max 1000)");
    add_text_flag(*list, flags->before, "--before", "page: episodes with an id below this one");
    table.add(list, [list, flags] {
      auto request = std::make_unique<v1::ListAlertsRequest>();
      if (flags->state.given())
        request->set_state(static_cast<v1::Alert::State>(
            parse_enum(*v1::Alert::State_descriptor(), "STATE_", flags->state.value, "--state")));
      request->set_tenant(flags->tenant);
      request->set_rule(flags->rule);
      if (flags->limit.given()) request->set_limit(parse_uint32(flags->limit.value, "--limit"));
      if (flags->before.given()) request->set_before_id(parse_uint64(flags->before.value, "--before"));
      return make_command(*list, rpcs::list_alerts, std::move(request));
    });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* show = noun->add_subcommand("show", "one alert with its transitions and every delivery attempt");
    show->add_option("ID", *id, "alert id")->required();
    table.add(show, [show, id] {
      auto request = std::make_unique<v1::GetAlertRequest>();
      request->set_id(parse_alert_id(*id));
      return make_command(*show, rpcs::get_alert, std::move(request), "alert " + *id);
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto comment = std::make_shared<std::string>();
    CLI::App* ack = noun->add_subcommand("ack", "acknowledge a firing alert: no repeat notifications, it keeps firing");
    ack->add_option("ID", *id, "alert id")->required();
    ack->add_option("--comment", *comment, "why, who is on it");
    table.add(ack, [ack, id, comment] {
      auto request = std::make_unique<v1::AckAlertRequest>();
      request->set_id(parse_alert_id(*id));
      request->set_comment(*comment);
      return make_command(*ack, rpcs::ack_alert, std::move(request), "alert " + *id);
    });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* unack = noun->add_subcommand("unack", "take an acknowledgement back (repeats resume)");
    unack->add_option("ID", *id, "alert id")->required();
    table.add(unack, [unack, id] {
      auto request = std::make_unique<v1::UnackAlertRequest>();
      request->set_id(parse_alert_id(*id));
      return make_command(*unack, rpcs::unack_alert, std::move(request), "alert " + *id);
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    CLI::App* resolve = noun->add_subcommand("resolve", "resolve an open alert by hand (notified like any resolve)");
    resolve->add_option("ID", *id, "alert id")->required();
    resolve->add_option("--reason", *reason, "why (required; recorded in its history)")->required();
    table.add(resolve, [resolve, id, reason] {
      if (reason->find_first_not_of(" \t") == std::string::npos) throw UsageError("--reason: must not be empty");
      auto request = std::make_unique<v1::ResolveAlertRequest>();
      request->set_id(parse_alert_id(*id));
      request->set_reason(*reason);
      return make_command(*resolve, rpcs::resolve_alert, std::move(request), "alert " + *id);
    });
  }
}

struct SilenceFlags {
  std::vector<std::string> matchers;
  TextFlag duration, until, starts;
  std::string comment;
};

void add_silence_verbs(CLI::App& app, CommandTable& table) {
  CLI::App* noun = app.add_subcommand("silences", "silences: alerts matching them are recorded but not delivered");
  noun->require_subcommand(1);
  const CommandTable* table_ptr = &table;
  {
    auto flags = std::make_shared<SilenceFlags>();
    CLI::App* create = noun->add_subcommand("create", "silence alerts whose labels match every --matcher");
    create->add_option("--matcher", flags->matchers,
                       "LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEX or LABEL!~REGEX (repeatable; at least one)")
        ->required();
    add_text_flag(*create, flags->duration, "--duration", "how long from the start (2h, 30m)");
    add_text_flag(*create, flags->until, "--until", "or: the end, 2026-11-22T06:00:00Z or Unix ms");
    add_text_flag(*create, flags->starts, "--starts", "the start (default now), as --until");
    create->add_option("--comment", flags->comment, "why (required)")->required();
    table.add(create, [create, flags, table_ptr] {
      const std::int64_t now = table_ptr->environment().now_unix_ms;
      auto request = std::make_unique<v1::CreateSilenceRequest>();
      v1::Silence& silence = *request->mutable_silence();
      for (const std::string& text : flags->matchers) *silence.add_matchers() = parse_matcher(text, "--matcher");
      const std::int64_t starts =
          flags->starts.given() ? parse_absolute_time_unix_ms(flags->starts.value, "--starts") : 0;
      silence.set_starts_unix_ms(starts);
      if (flags->duration.given() == flags->until.given()) throw UsageError("give one of --duration and --until");
      if (flags->duration.given()) {
        const std::uint64_t duration = parse_duration_ms(flags->duration.value, "--duration");
        if (duration == 0) throw UsageError("--duration: must be more than 0");
        silence.set_ends_unix_ms((starts != 0 ? starts : now) + static_cast<std::int64_t>(duration));
      } else {
        silence.set_ends_unix_ms(parse_absolute_time_unix_ms(flags->until.value, "--until"));
      }
      if (silence.ends_unix_ms() <= (starts != 0 ? starts : now))
        throw UsageError("the silence would end before it starts");
      if (flags->comment.find_first_not_of(" \t") == std::string::npos)
        throw UsageError("--comment: must not be empty");
      silence.set_comment(flags->comment);
      return make_command(*create, rpcs::create_silence, std::move(request), "silence");
    });
  }
  {
    auto all = std::make_shared<bool>(false);
    CLI::App* list = noun->add_subcommand("list", "list active and pending silences, the latest ending first");
    list->add_flag("--all", *all, "expired ones too");
    table.add(list, [list, all] {
      auto request = std::make_unique<v1::ListSilencesRequest>();
      request->set_include_expired(*all);
      return make_command(*list, rpcs::list_silences, std::move(request));
    });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* expire = noun->add_subcommand("expire", "end a silence now");
    expire->add_option("ID", *id, "silence id")->required();
    table.add(expire, [expire, id] {
      auto request = std::make_unique<v1::ExpireSilenceRequest>();
      request->set_id(*id);
      return make_command(*expire, rpcs::expire_silence, std::move(request), "silence " + *id);
    });
  }
}

}  // namespace

void add_alerting_commands(CLI::App& app, CommandTable& table) {
  add_rule_commands(app, table);
  add_notifier_verbs(app, table);
  add_alert_verbs(app, table);
  add_silence_verbs(app, table);
}

}  // namespace tg::tgctl
