// TEMPORARY stand-ins for the parts of alerting other branches implement
// (evaluation, lifecycle, convert), written to their headers'
// contracts so the Book's tests run before those branches are merged. Only
// event_count is evaluated. Deleted at the merge.
#include "alerts/convert.hpp"
#include "alerts/eval.hpp"
#include "alerts/lifecycle.hpp"

#include <cstdio>

namespace tg::control::alerts {
namespace {

std::uint64_t fnv(const std::string& text, std::uint64_t hash = 14695981039346656037ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string hex16(std::uint64_t v) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(v));
  return buffer;
}

std::string key(const std::string& t, const std::string& s, const std::string& i, const std::string& k,
                const std::string& l) {
  return t + '\x1f' + s + '\x1f' + i + '\x1f' + k + '\x1f' + l;
}

int rank(const std::string& level) {
  const char* levels[] = {"debug", "info", "warning", "error", "critical"};
  for (int i = 0; i < 5; ++i)
    if (level == levels[i]) return i;
  return -1;
}

}  // namespace

void SignalWindow::add_event(const std::string& tenant, const std::string& service, const std::string& instance,
                             const std::string& kind, const std::string& level, std::int64_t time_unix_ms,
                             std::uint64_t count) {
  events_[key(tenant, service, instance, kind, level)][time_unix_ms - time_unix_ms % 10'000] += count;
}
void SignalWindow::add_restarts(const std::string&, const std::string&, const std::string&, std::int64_t,
                                std::int64_t) {}
void SignalWindow::prune(std::int64_t) {}
std::uint64_t SignalWindow::events(const v1::AlertScope& scope, const Labels&, const std::string& kind,
                                   const std::string& min_level, std::int64_t since, std::int64_t until) const {
  std::uint64_t total = 0;
  for (const auto& [k, buckets] : events_) {
    std::vector<std::string> parts;
    std::string part;
    for (char c : k + '\x1f') {
      if (c == '\x1f') {
        parts.push_back(part);
        part.clear();
      } else {
        part += c;
      }
    }
    if (!scope.tenant().empty() && parts[0] != scope.tenant()) continue;
    if (parts[3] != kind) continue;
    if (!min_level.empty() && rank(parts[4]) < rank(min_level)) continue;
    for (const auto& [bucket, count] : buckets)
      if (bucket >= since - since % 10'000 && bucket < until) total += count;
  }
  return total;
}
std::uint64_t SignalWindow::restarts(const v1::AlertScope&, const Labels&, std::int64_t, std::int64_t) const {
  return 0;
}
void SignalWindow::for_each_key(const std::function<void(const std::string&, const std::string&, const std::string&)>&) const {}

RuleValue evaluate(const v1::AlertRule& rule, const EvalInputs& inputs) {
  RuleValue out;
  const std::int64_t window = static_cast<std::int64_t>(rule.window_ms());
  if (inputs.now_unix_ms - window < inputs.covered_since_unix_ms) {
    out.skipped = true;
    out.skip_reason = "window not covered";
    return out;
  }
  const double value = static_cast<double>(inputs.signals->events(rule.scope(), {}, rule.condition().kind(),
                                                                   rule.condition().level(),
                                                                   inputs.now_unix_ms - window, inputs.now_unix_ms));
  const std::string& op = rule.condition().op();
  const double t = rule.condition().threshold();
  const bool condition = op == ">" ? value > t : op == ">=" ? value >= t : op == "<" ? value < t : op == "<=" ? value <= t
                         : op == "==" ? value == t : value != t;
  out.groups.push_back(GroupValue{{}, value, condition});
  return out;
}

Labels alert_labels(const v1::AlertRule& rule, const Labels& group) {
  Labels labels = group;
  labels["alertname"] = rule.name();
  if (!rule.severity().empty()) labels["severity"] = rule.severity();
  if (!rule.scope().tenant().empty()) labels["tenant"] = rule.scope().tenant();
  if (!rule.scope().service().empty()) labels["service"] = rule.scope().service();
  return labels;
}

std::string fingerprint(const std::string& rule, const Labels& group) {
  std::string text = rule;
  for (const auto& [k, v] : group) text += '\x1f' + k + '\x1e' + v;
  return hex16(fnv(text));
}

std::string render_annotation(const std::string& text, const Labels& labels, double value) {
  std::string out = text;
  for (const auto& [k, v] : labels) {
    const std::string pattern = "{{ $labels." + k + " }}";
    for (std::size_t at; (at = out.find(pattern)) != std::string::npos;) out.replace(at, pattern.size(), v);
  }
  char number[32];
  std::snprintf(number, sizeof number, "%g", value);
  for (std::size_t at; (at = out.find("{{ $value }}")) != std::string::npos;) out.replace(at, 12, number);
  return out;
}

Step step(Track& track, const v1::AlertRule& rule, bool condition, double value, std::int64_t now) {
  Step s;
  s.from = track.state;
  track.value = value;
  using A = v1::Alert;
  if (condition) {
    track.false_since_unix_ms = 0;
    if (track.state == A::STATE_UNSPECIFIED || track.state == A::STATE_RESOLVED) {
      track.state = A::STATE_PENDING;
      track.active_since_unix_ms = now;
      track.firing_since_unix_ms = 0;
    }
    if (track.state == A::STATE_PENDING && now - track.active_since_unix_ms >= static_cast<std::int64_t>(rule.for_ms())) {
      track.state = A::STATE_FIRING;
      track.firing_since_unix_ms = now;
    }
  } else if (track.state == A::STATE_PENDING) {
    track.state = A::STATE_RESOLVED;
  } else if (track.state == A::STATE_FIRING) {
    if (track.false_since_unix_ms == 0) track.false_since_unix_ms = now;
    if (now - track.false_since_unix_ms >= static_cast<std::int64_t>(rule.keep_firing_for_ms()))
      track.state = A::STATE_RESOLVED;
  }
  s.to = track.state;
  s.changed = s.from != s.to;
  return s;
}

v1::AlertRule to_proto(const config::AlertRuleConfig& r, const std::string& file) {
  v1::AlertRule rule;
  rule.set_name(r.name);
  rule.mutable_scope()->set_tenant(r.scope_tenant);
  rule.mutable_condition()->set_metric(r.metric);
  rule.mutable_condition()->set_op(r.op);
  rule.mutable_condition()->set_threshold(r.threshold);
  rule.mutable_condition()->set_kind(r.event_kind);
  rule.set_window_ms(static_cast<std::uint64_t>(r.window.count()));
  rule.set_for_ms(static_cast<std::uint64_t>(r.for_duration.count()));
  rule.set_keep_firing_for_ms(static_cast<std::uint64_t>(r.keep_firing_for.count()));
  rule.set_severity(r.severity);
  for (const auto& n : r.notifiers) rule.add_notifiers(n);
  rule.mutable_meta()->mutable_source()->set_kind(v1::Source::KIND_CONFIG_FILE);
  rule.mutable_meta()->mutable_source()->set_file(file);
  rule.mutable_meta()->mutable_source()->set_line(r.location.line);
  return rule;
}

v1::Notifier to_proto(const config::NotifierConfig& n, const std::string& file) {
  v1::Notifier notifier;
  notifier.set_name(n.name);
  notifier.set_type(n.type == config::NotifierConfig::Type::webhook ? v1::Notifier::TYPE_WEBHOOK
                                                                    : v1::Notifier::TYPE_ALERTMANAGER);
  notifier.set_url(n.url);
  notifier.set_repeat_interval_ms(static_cast<std::uint64_t>(n.repeat_interval.count()));
  notifier.mutable_meta()->mutable_source()->set_kind(v1::Source::KIND_CONFIG_FILE);
  notifier.mutable_meta()->mutable_source()->set_file(file);
  notifier.mutable_meta()->mutable_source()->set_line(n.location.line);
  return notifier;
}

Status check_rule(v1::AlertRule& rule) {
  if (rule.condition().metric().empty()) return Status::invalid("rule.condition.metric", "required");
  if (rule.window_ms() == 0) rule.set_window_ms(60'000);
  return {};
}

Status check_notifier(v1::Notifier& notifier) {
  if (notifier.url().empty()) return Status::invalid("notifier.url", "required");
  return {};
}

}  // namespace tg::control::alerts

