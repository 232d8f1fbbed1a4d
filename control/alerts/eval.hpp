// Evaluation of alert rules (docs/alerting.md): one rule's metric over its
// window, per group, at one instant. Pure functions of their inputs: the
// engine (alerts/engine.hpp) calls them on the owner loop every
// --eval-interval, and `tgctl rules test` calls them over a series file.
#pragma once

#include "telemetry/window.hpp"

#include "tenantgate/v1/alerting.pb.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace tg::control::alerts {

namespace v1 = ::tenantgate::v1;

// Label name → value, ordered (fingerprints and payloads need one order).
using Labels = std::map<std::string, std::string>;

// An instance as rules see it (from the registry, on the owner loop).
struct InstanceState {
  std::string id, service, tenant;
  Labels labels;        // the instance's registry labels
  bool unhealthy = false;  // health UNHEALTHY
  bool ejected = false;    // ejected by a proxy's outlier detection (reported)
};

// Counts of events and container restarts in 10 s buckets for the last hour,
// per (tenant, service, instance, kind, level): what `event_count` and
// `restarts` read. Fed on the owner loop with every recorded event and
// status report. Single-threaded.
class SignalWindow {
 public:
  void add_event(const std::string& tenant, const std::string& service, const std::string& instance,
                 const std::string& kind, const std::string& level, std::int64_t time_unix_ms, std::uint64_t count = 1);
  // A container's restart counter as reported (a status report); an increase
  // over the previous report of the instance counts as that many restarts.
  void add_restarts(const std::string& tenant, const std::string& service, const std::string& instance,
                    std::int64_t restarts_total, std::int64_t time_unix_ms);
  void prune(std::int64_t now_unix_ms);

  // Events in [since, until) matching the non-empty fields, of `kind`, at or
  // above `min_level` (empty = any level).
  std::uint64_t events(const v1::AlertScope& scope, const Labels& group, const std::string& kind,
                       const std::string& min_level, std::int64_t since_unix_ms, std::int64_t until_unix_ms) const;
  std::uint64_t restarts(const v1::AlertScope& scope, const Labels& group, std::int64_t since_unix_ms,
                         std::int64_t until_unix_ms) const;
  // The distinct (tenant, service, instance) values seen, for grouping.
  void for_each_key(const std::function<void(const std::string& tenant, const std::string& service,
                                             const std::string& instance)>& visit) const;

 // The counts of [since, until) per (tenant, service, instance) of the
  // events of `kind` at or above `min_level` (restarts: kind and level
  // ignored), each key once. What evaluate() groups from.
  void visit_events(const std::string& kind, const std::string& min_level, std::int64_t since_unix_ms,
                    std::int64_t until_unix_ms,
                    const std::function<void(const std::string& tenant, const std::string& service,
                                             const std::string& instance, std::uint64_t count)>& visit) const;
  void visit_restarts(std::int64_t since_unix_ms, std::int64_t until_unix_ms,
                      const std::function<void(const std::string& tenant, const std::string& service,
                                               const std::string& instance, std::uint64_t count)>& visit) const;

 private:  // (the members are the implementation's choice)
  struct Key {
    std::string tenant, service, instance, kind, level;  // kind, level "" for restarts
    friend bool operator<(const Key& a, const Key& b) {
      return std::tie(a.tenant, a.service, a.instance, a.kind, a.level) <
             std::tie(b.tenant, b.service, b.instance, b.kind, b.level);
    }
  };
  std::map<Key, std::map<std::int64_t, std::uint64_t>> events_;    // key → 10 s bucket start → count
  std::map<Key, std::map<std::int64_t, std::uint64_t>> restarts_;  // key → bucket → count
  std::map<Key, std::int64_t> last_restarts_total_;               // instance key → last total
};

struct EvalInputs {
  const telemetry::Window* window = nullptr;  // request telemetry (never null)
  const SignalWindow* signals = nullptr;      // events and restarts (never null)
  std::vector<InstanceState> instances;       // every registered instance
  std::int64_t now_unix_ms = 0;
  // The in-memory windows hold complete data from this time on (tg-control's
  // start minus what the rollups re-seeded). A rule whose window starts
  // before it is skipped.
  std::int64_t covered_since_unix_ms = 0;
  // no_traffic needs every proxy that serves the scope to have reported
  // during the window: the proxies connected now and the ones that reported.
  std::size_t proxies_connected = 0;
};

struct GroupValue {
  Labels group;            // the rule's group_by labels for this group (empty when no group_by)
  double value = 0;        // the metric
  bool condition = false;  // value op threshold
};

struct RuleValue {
  bool skipped = false;    // nothing decided this round (window not covered, ...)
  std::string skip_reason;
  std::vector<GroupValue> groups;  // one per group with data; a group absent = condition false
};

// The rule's metric per group over [now - window, now) and whether its
// condition holds. Groups come from group_by over the series, instances and
// signals in scope; a rule without group_by has exactly one group.
RuleValue evaluate(const v1::AlertRule& rule, const EvalInputs& inputs);

// One evaluation round's view of the inputs, built once and shared by every
// rule of the round: the series indexed by tenant, service, route and
// instance, the instances by id, and each series' sum over a window start
// computed once for all the rules that share it. 10,000 rules over 1,000
// series then cost what their scopes select, not 10,000 passes over the
// window (docs/performance.md). Valid while `inputs` and what it points to
// are unchanged.
class EvalIndex {
 public:
  explicit EvalIndex(const EvalInputs& inputs);
  ~EvalIndex();
  EvalIndex(const EvalIndex&) = delete;
  EvalIndex& operator=(const EvalIndex&) = delete;

  const EvalInputs& inputs() const { return inputs_; }

 private:
  friend RuleValue evaluate(const v1::AlertRule& rule, EvalIndex& index);
  struct State;  // (eval.cpp)
  const EvalInputs& inputs_;
  std::unique_ptr<State> state_;
};

// evaluate() through a round's index (the same answer, cheaper).
RuleValue evaluate(const v1::AlertRule& rule, EvalIndex& index);

// The metric names, ops and levels rules may use (docs/alerting.md).
bool is_alert_metric(const std::string& metric);
// The condition "value op threshold"; false for an unknown op.
bool compare(double value, const std::string& op, double threshold);

// The labels of an alert of `rule` for `group`: alertname, severity, the
// scope's set fields (tenant, service, route, instance) and the group labels.
Labels alert_labels(const v1::AlertRule& rule, const Labels& group);
// 16 lower-case hex digits of a stable 64-bit hash of (rule name, group labels).
std::string fingerprint(const std::string& rule, const Labels& group);
// "{{ $labels.NAME }}" → the label's value (empty when absent), "{{ $value }}"
// → the value (shortest round-trip decimal); anything else unchanged.
std::string render_annotation(const std::string& text, const Labels& labels, double value);

}  // namespace tg::control::alerts
