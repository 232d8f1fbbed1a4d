// Table output of the alerting responses: rules, notifiers, alert episodes
// (list, and show with transitions and every delivery attempt), silences.
#include "tgctl/alert_flags.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/render.hpp"
#include "tgctl/table.hpp"

#include "tenantgate/v1/admin.pb.h"

#include <cstdio>
#include <map>
#include <string>

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::string source_of(const v1::Meta& meta) {
  switch (meta.source().kind()) {
    case v1::Source::KIND_API: return "api";
    case v1::Source::KIND_CONFIG_FILE:
      return "file:" + meta.source().file() +
             (meta.source().line() > 0 ? ":" + std::to_string(meta.source().line()) : "");
    case v1::Source::KIND_APPLY: return "apply:" + meta.source().file();
    default: return "-";
  }
}

// Shortest text that reads back as the same double ("0.05", "250", "1e+06").
std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string map_text(const google::protobuf::Map<std::string, std::string>& map) {
  const std::map<std::string, std::string> sorted(map.begin(), map.end());
  std::string text;
  for (const auto& [key, value] : sorted) text += (text.empty() ? "" : ",") + key + "=" + value;
  return or_dash(text);
}

template <class List>
std::string join(const List& items, const char* separator = ",") {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + std::string(item);
  return or_dash(text);
}

// "error_rate > 0.05 over 1m"; event_count adds its kind and level.
std::string condition_text(const v1::AlertRule& rule) {
  const v1::AlertCondition& c = rule.condition();
  std::string metric = c.metric();
  if (!c.kind().empty()) metric += "{kind=" + c.kind() + (c.level().empty() ? "" : ",level>=" + c.level()) + "}";
  return metric + " " + c.op() + " " + number_text(c.threshold()) + " over " +
         format_duration_ms(rule.window_ms() == 0 ? 60'000 : rule.window_ms());
}

std::string scope_text(const v1::AlertScope& scope) {
  std::string text;
  const auto add = [&text](const char* name, const std::string& value) {
    if (!value.empty()) text += (text.empty() ? "" : ",") + std::string(name) + "=" + value;
  };
  add("tenant", scope.tenant());
  add("service", scope.service());
  add("route", scope.route());
  add("instance", scope.instance());
  const std::map<std::string, std::string> labels(scope.labels().begin(), scope.labels().end());
  for (const auto& [key, value] : labels) add(("label." + key).c_str(), value);
  return text.empty() ? "all" : text;
}

void rule_table(const google::protobuf::RepeatedPtrField<v1::AlertRule>& rules, std::ostream& out) {
  Table table({"NAME", "CONDITION", "FOR", "KEEP FIRING", "SCOPE", "GROUP BY", "SEVERITY", "NOTIFIERS", "STATE",
               "SOURCE"});
  for (const v1::AlertRule& r : rules) {
    table.add_row({r.name(), condition_text(r), format_duration_ms(r.for_ms()),
                   format_duration_ms(r.keep_firing_for_ms()), scope_text(r.scope()), join(r.group_by()),
                   or_dash(r.severity()), join(r.notifiers()), r.disabled() ? "disabled" : "enabled",
                   source_of(r.meta())});
  }
  table.write(out);
}

void notifier_table(const google::protobuf::RepeatedPtrField<v1::Notifier>& notifiers, std::ostream& out) {
  Table table({"NAME", "TYPE", "URL", "SIGNED", "REPEAT", "SEND RESOLVED", "TIMEOUT", "SOURCE"});
  for (const v1::Notifier& n : notifiers) {
    table.add_row({n.name(), enum_short_name(*v1::Notifier::Type_descriptor(), "TYPE_", n.type()), n.url(),
                   n.secret_file().empty() ? "no" : "yes",
                   n.repeat_interval_ms() == 0 ? "never" : format_duration_ms(n.repeat_interval_ms()),
                   !n.has_send_resolved() || n.send_resolved() ? "yes" : "no",
                   format_duration_ms(n.timeout_ms() == 0 ? 10'000 : n.timeout_ms()), source_of(n.meta())});
  }
  table.write(out);
}

std::string state_name(int state) { return enum_short_name(*v1::Alert::State_descriptor(), "STATE_", state); }

// "firing", "firing, acked", "firing, silenced".
std::string alert_state_text(const v1::Alert& a) {
  std::string text = state_name(a.state());
  if (a.has_ack() && a.ack().unix_ms() != 0) text += ", acked";
  if (!a.silenced_by().empty()) text += ", silenced";
  return text;
}

// The labels beyond those shown in their own columns.
std::string other_labels(const v1::Alert& a) {
  google::protobuf::Map<std::string, std::string> labels = a.labels();
  labels.erase("alertname");
  labels.erase("severity");
  labels.erase("tenant");
  return map_text(labels);
}

void alert_list(const v1::ListAlertsResponse& response, std::ostream& out) {
  Table table({"ID", "STATE", "RULE", "SEVERITY", "TENANT", "VALUE", "SINCE", "RESOLVED", "LABELS"});
  for (const v1::Alert& a : response.alerts()) {
    table.add_row({std::to_string(a.id()), alert_state_text(a), a.rule(), or_dash(a.severity()), or_dash(a.tenant()),
                   number_text(a.value()), format_time_unix_ms(a.active_since_unix_ms()),
                   format_time_unix_ms(a.resolved_unix_ms()), other_labels(a)});
  }
  table.write(out);
  if (response.alerts_size() > 0)
    out << "Next page: --before " << response.alerts(response.alerts_size() - 1).id() << "\n";
}

std::string delivery_status_text(v1::Delivery::Status status) {
  return enum_short_name(*v1::Delivery::Status_descriptor(), "STATUS_", status);
}

// `tgctl alerts show` (and the answer of ack, unack, resolve): the episode,
// its transitions, its deliveries with each attempt.
void alert_detail(const v1::Alert& a, std::ostream& out) {
  out << "Alert:        " << a.id() << " (fingerprint " << a.fingerprint() << ")\n"
      << "Rule:         " << a.rule() << "\n"
      << "State:        " << alert_state_text(a) << "\n"
      << "Severity:     " << or_dash(a.severity()) << "\n"
      << "Tenant:       " << or_dash(a.tenant()) << "\n"
      << "Labels:       " << map_text(a.labels()) << "\n"
      << "Value:        " << number_text(a.value()) << " (evaluated " << format_time_unix_ms(a.last_evaluated_unix_ms())
      << ")\n"
      << "Active since: " << format_time_unix_ms(a.active_since_unix_ms()) << "\n"
      << "Firing since: " << format_time_unix_ms(a.firing_since_unix_ms()) << "\n";
  if (a.resolved_unix_ms() != 0)
    out << "Resolved:     " << format_time_unix_ms(a.resolved_unix_ms()) << " by " << or_dash(a.resolved_by())
        << (a.resolve_reason().empty() ? "" : ": " + a.resolve_reason()) << "\n";
  if (a.has_ack() && a.ack().unix_ms() != 0)
    out << "Acknowledged: " << format_time_unix_ms(a.ack().unix_ms()) << " by " << a.ack().by()
        << (a.ack().comment().empty() ? "" : ": " + a.ack().comment()) << "\n";
  if (!a.silenced_by().empty()) out << "Silenced by:  " << join(a.silenced_by(), ", ") << "\n";
  const std::map<std::string, std::string> annotations(a.annotations().begin(), a.annotations().end());
  for (const auto& [key, value] : annotations) out << "  " << key << ": " << value << "\n";

  out << "\nTransitions:\n";
  Table transitions({"TIME", "FROM", "TO", "VALUE", "ACTION", "ACTOR", "REASON"});
  for (const v1::AlertTransition& t : a.transitions()) {
    transitions.add_row({format_time_unix_ms(t.unix_ms()), state_name(t.from()), state_name(t.to()),
                         number_text(t.value()), or_dash(t.action()), or_dash(t.actor()), or_dash(t.reason())});
  }
  transitions.write(out);

  out << "\nDeliveries:\n";
  Table deliveries({"DELIVERY", "NOTIFIER", "TELLS", "REPEAT", "STATUS", "ATTEMPT", "TIME", "HTTP", "DURATION",
                    "ERROR"});
  for (const v1::Delivery& d : a.deliveries()) {
    const std::string status = delivery_status_text(d.status()) +
                               (d.status() == v1::Delivery::STATUS_PENDING && d.next_attempt_unix_ms() != 0
                                    ? " (next " + format_time_unix_ms(d.next_attempt_unix_ms()) + ")"
                                    : "");
    if (d.attempts().empty()) {
      deliveries.add_row({d.id(), d.notifier(), state_name(d.state()), std::to_string(d.repeat()), status, "-",
                          format_time_unix_ms(d.created_unix_ms()), "-", "-", "-"});
      continue;
    }
    int n = 0;
    for (const v1::DeliveryAttempt& attempt : d.attempts()) {
      ++n;
      // The delivery's own columns on its first attempt's row only.
      const bool first = n == 1;
      deliveries.add_row({first ? d.id() : "", first ? d.notifier() : "", first ? state_name(d.state()) : "",
                          first ? std::to_string(d.repeat()) : "", first ? status : "", std::to_string(n),
                          format_time_unix_ms(attempt.unix_ms()),
                          attempt.http_status() == 0 ? "-" : std::to_string(attempt.http_status()),
                          format_duration_ms(attempt.duration_ms()), or_dash(attempt.error())});
    }
  }
  deliveries.write(out);
}

void silence_table(const google::protobuf::RepeatedPtrField<v1::Silence>& silences, std::ostream& out) {
  Table table({"ID", "EXPIRED", "MATCHERS", "STARTS", "ENDS", "CREATED BY", "COMMENT"});
  for (const v1::Silence& s : silences) {
    std::string matchers;
    for (const v1::Matcher& m : s.matchers()) matchers += (matchers.empty() ? "" : " ") + matcher_text(m);
    table.add_row({s.id(), s.expired() ? "yes" : "no", or_dash(matchers),
                   format_time_unix_ms(s.starts_unix_ms()), format_time_unix_ms(s.ends_unix_ms()),
                   or_dash(s.created_by()), or_dash(s.comment())});
  }
  table.write(out);
}

template <class T>
google::protobuf::RepeatedPtrField<T> single(const google::protobuf::Message& message) {
  google::protobuf::RepeatedPtrField<T> list;
  *list.Add() = static_cast<const T&>(message);
  return list;
}

}  // namespace

bool render_alerting_table(const Command& command, const google::protobuf::Message& response, std::ostream& out) {
  const std::string& type = response.GetDescriptor()->full_name();
  if (type == "tenantgate.v1.ListAlertRulesResponse") {
    rule_table(static_cast<const v1::ListAlertRulesResponse&>(response).rules(), out);
  } else if (type == "tenantgate.v1.AlertRule") {
    rule_table(single<v1::AlertRule>(response), out);
  } else if (type == "tenantgate.v1.ListNotifiersResponse") {
    notifier_table(static_cast<const v1::ListNotifiersResponse&>(response).notifiers(), out);
  } else if (type == "tenantgate.v1.Notifier") {
    notifier_table(single<v1::Notifier>(response), out);
  } else if (type == "tenantgate.v1.ListAlertsResponse") {
    alert_list(static_cast<const v1::ListAlertsResponse&>(response), out);
  } else if (type == "tenantgate.v1.Alert") {
    alert_detail(static_cast<const v1::Alert&>(response), out);
  } else if (type == "tenantgate.v1.ListSilencesResponse") {
    silence_table(static_cast<const v1::ListSilencesResponse&>(response).silences(), out);
  } else if (type == "tenantgate.v1.Silence") {
    const auto& silence = static_cast<const v1::Silence&>(response);
    if (command.rpc != nullptr && command.rpc->method == "CreateSilence") out << "Created silence " << silence.id() << ".\n";
    if (command.rpc != nullptr && command.rpc->method == "ExpireSilence") out << "Expired silence " << silence.id() << ".\n";
    silence_table(single<v1::Silence>(response), out);
  } else {
    return false;
  }
  return true;
}

}  // namespace tg::tgctl
