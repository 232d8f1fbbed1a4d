// A small in-memory AlertAccess for the tests of the Admin service's
// alerting calls and the ack endpoint: the Book's contract (validate, change
// memory, fill AlertChanges and the response) without evaluation, and a
// MemoryStore that keeps the episodes the tests put in it and the alerting
// changes committed.
#pragma once

#include "server/alert_access.hpp"
#include "store/memory_store.hpp"

#include <map>
#include <mutex>

namespace tg::control::test {

class FakeAlerts final : public AlertAccess {
 public:
  std::map<std::string, v1::AlertRule> rules;
  std::map<std::string, v1::Notifier> notifiers;
  std::map<std::uint64_t, v1::Alert> open;
  std::map<std::string, v1::Silence> silences;
  std::vector<std::pair<std::string, std::string>> cascaded;  // (kind, name)
  std::int64_t now_unix_ms = 1'000'000;

  std::vector<v1::AlertRule> list_rules(const std::string& tenant) const override {
    std::vector<v1::AlertRule> out;
    for (const auto& [name, rule] : rules)
      if (tenant.empty() || rule.scope().tenant() == tenant) out.push_back(rule);
    return out;
  }
  const v1::AlertRule* find_rule(const std::string& name) const override {
    auto it = rules.find(name);
    return it == rules.end() ? nullptr : &it->second;
  }
  Status create_rule(const v1::AlertRule& rule, const WriteContext&, AlertChanges& changes,
                     v1::AlertRule* out) override {
    if (rule.name().empty()) return Status::invalid("rule.name", "required");
    if (rule.condition().metric().empty()) return Status::invalid("rule.condition.metric", "required");
    if (rules.contains(rule.name())) return Status::exists("alert rule \"" + rule.name() + "\" already exists");
    rules[rule.name()] = rule;
    changes.rules.push_back({rule.name(), rule.SerializeAsString()});
    *out = rule;
    return {};
  }
  Status update_rule(const v1::AlertRule& rule, bool, const WriteContext&, AlertChanges& changes,
                     v1::AlertRule* out) override {
    if (!rules.contains(rule.name())) return Status::not_found("alert rule \"" + rule.name() + "\" not found");
    rules[rule.name()] = rule;
    changes.rules.push_back({rule.name(), rule.SerializeAsString()});
    *out = rule;
    return {};
  }
  Status delete_rule(const std::string& name, bool, const WriteContext&, AlertChanges& changes) override {
    if (rules.erase(name) == 0) return Status::not_found("alert rule \"" + name + "\" not found");
    changes.rules.push_back({name, std::nullopt});
    return {};
  }

  std::vector<v1::Notifier> list_notifiers() const override {
    std::vector<v1::Notifier> out;
    for (const auto& [name, notifier] : notifiers) out.push_back(notifier);
    return out;
  }
  const v1::Notifier* find_notifier(const std::string& name) const override {
    auto it = notifiers.find(name);
    return it == notifiers.end() ? nullptr : &it->second;
  }
  Status create_notifier(const v1::Notifier& notifier, const WriteContext&, AlertChanges& changes,
                         v1::Notifier* out) override {
    if (notifier.url().empty()) return Status::invalid("notifier.url", "required");
    if (notifiers.contains(notifier.name())) return Status::exists("notifier exists");
    notifiers[notifier.name()] = notifier;
    changes.notifiers.push_back({notifier.name(), notifier.SerializeAsString()});
    *out = notifier;
    return {};
  }
  Status update_notifier(const v1::Notifier& notifier, bool, const WriteContext&, AlertChanges& changes,
                         v1::Notifier* out) override {
    if (!notifiers.contains(notifier.name())) return Status::not_found("notifier not found");
    notifiers[notifier.name()] = notifier;
    changes.notifiers.push_back({notifier.name(), notifier.SerializeAsString()});
    *out = notifier;
    return {};
  }
  Status delete_notifier(const std::string& name, bool, const WriteContext&, AlertChanges& changes) override {
    for (const auto& [rule_name, rule] : rules)
      for (const std::string& used : rule.notifiers())
        if (used == name) return Status::precondition("rule \"" + rule_name + "\" names it");
    if (notifiers.erase(name) == 0) return Status::not_found("notifier \"" + name + "\" not found");
    changes.notifiers.push_back({name, std::nullopt});
    return {};
  }

  const v1::Alert* find_open(std::uint64_t id) const override {
    auto it = open.find(id);
    return it == open.end() ? nullptr : &it->second;
  }
  Status ack(std::uint64_t id, const std::string& comment, const WriteContext& who, AlertChanges& changes,
             v1::Alert* out) override {
    auto it = open.find(id);
    if (it == open.end()) return Status::not_found("alert " + std::to_string(id) + " not found");
    if (it->second.state() != v1::Alert::STATE_FIRING) return Status::precondition("not firing");
    it->second.mutable_ack()->set_by(who.actor);  // as the Book: the latest ack counts
    it->second.mutable_ack()->set_comment(comment);
    it->second.mutable_ack()->set_unix_ms(now_unix_ms);
    record(it->second, changes);
    *out = it->second;
    return {};
  }
  Status unack(std::uint64_t id, const WriteContext&, AlertChanges& changes, v1::Alert* out) override {
    auto it = open.find(id);
    if (it == open.end()) return Status::not_found("alert " + std::to_string(id) + " not found");
    if (!it->second.has_ack()) return Status::precondition("not acknowledged");
    it->second.clear_ack();
    record(it->second, changes);
    *out = it->second;
    return {};
  }
  Status resolve(std::uint64_t id, const std::string& reason, const WriteContext& who, AlertChanges& changes,
                 v1::Alert* out) override {
    auto it = open.find(id);
    if (it == open.end()) return Status::not_found("alert " + std::to_string(id) + " not found");
    v1::Alert alert = it->second;
    alert.set_state(v1::Alert::STATE_RESOLVED);
    alert.set_resolved_by(who.actor);
    alert.set_resolve_reason(reason);
    alert.set_resolved_unix_ms(now_unix_ms);
    open.erase(it);
    record(alert, changes);
    *out = alert;
    return {};
  }
  bool ack_token_valid(std::uint64_t id, const std::string& token) const override {
    return token == "signed-" + std::to_string(id);
  }

  std::vector<v1::Silence> list_silences(bool include_expired) const override {
    std::vector<v1::Silence> out;
    for (const auto& [id, silence] : silences)
      if (include_expired || !silence.expired()) out.push_back(silence);
    return out;
  }
  Status create_silence(const v1::Silence& silence, const WriteContext& who, AlertChanges& changes,
                        v1::Silence* out) override {
    if (silence.matchers().empty()) return Status::invalid("silence.matchers", "at least one");
    v1::Silence created = silence;
    created.set_id("s" + std::to_string(silences.size() + 1));
    created.set_created_by(who.actor);
    silences[created.id()] = created;
    changes.silences.push_back({created.id(), created.SerializeAsString()});
    *out = created;
    return {};
  }
  Status expire_silence(const std::string& id, const WriteContext&, AlertChanges& changes,
                        v1::Silence* out) override {
    auto it = silences.find(id);
    if (it == silences.end()) return Status::not_found("silence \"" + id + "\" not found");
    it->second.set_expired(true);
    changes.silences.push_back({id, it->second.SerializeAsString()});
    *out = it->second;
    return {};
  }

  std::vector<std::string> rules_naming(const std::string& kind, const std::string& name) const override {
    std::vector<std::string> out;
    for (const auto& [rule_name, rule] : rules) {
      const std::string& named = kind == "tenant"    ? rule.scope().tenant()
                                 : kind == "service" ? rule.scope().service()
                                                     : rule.scope().route();
      if (named == name && !rule.disabled()) out.push_back(rule_name);
    }
    return out;
  }
  void cascade(const std::string& kind, const std::string& name, const WriteContext&,
               AlertChanges& changes) override {
    for (const std::string& rule_name : rules_naming(kind, name)) {
      rules[rule_name].set_disabled(true);
      changes.rules.push_back({rule_name, rules[rule_name].SerializeAsString()});
    }
    cascaded.emplace_back(kind, name);
  }

 private:
  static void record(const v1::Alert& alert, AlertChanges& changes) {
    AlertChanges::Episode episode;
    episode.id = alert.id();
    episode.rule = alert.rule();
    episode.state = alert.state();
    episode.body = alert.SerializeAsString();
    changes.episodes.push_back(std::move(episode));
  }
};

// A store (a MemoryStore underneath) that answers list_alerts/get_alert
// from `episodes` (set by the test before its calls; read on the writer
// thread) and keeps every committed batch's alerting changes.
class AlertTestStore final : public Store {
 public:
  MemoryStore memory;
  std::map<std::uint64_t, v1::Alert> episodes;  // id → episode (with transitions/deliveries)

  LoadedState load() override { return memory.load(); }
  std::uint64_t begin_generation() override { return memory.begin_generation(); }
  void commit(const std::vector<CommitBatch>& batches) override {
    memory.commit(batches);
    std::lock_guard lock(mutex_);
    for (const CommitBatch& batch : batches)
      if (!batch.alerts.empty()) committed_.push_back(batch.alerts);
  }
  void probe_write() override { memory.probe_write(); }
  std::vector<AuditRow> list_audit(const AuditQuery& query) override { return memory.list_audit(query); }
  std::vector<EventRow> list_events(const EventQuery& query) override { return memory.list_events(query); }
  std::size_t delete_audit_before(std::int64_t cutoff, std::size_t limit) override {
    return memory.delete_audit_before(cutoff, limit);
  }
  std::size_t delete_events_before(std::int64_t cutoff, std::size_t limit) override {
    return memory.delete_events_before(cutoff, limit);
  }
  std::vector<StatusSample> list_status_samples(const StatusQuery& query) override {
    return memory.list_status_samples(query);
  }
  std::size_t delete_occurrences_before(std::int64_t cutoff, std::size_t limit) override {
    return memory.delete_occurrences_before(cutoff, limit);
  }
  std::size_t delete_status_samples_before(std::int64_t cutoff, std::size_t limit) override {
    return memory.delete_status_samples_before(cutoff, limit);
  }
  std::vector<std::string> list_alerts(const AlertQuery& query) override {
    std::vector<std::string> out;
    for (auto it = episodes.rbegin(); it != episodes.rend() && out.size() < query.limit; ++it) {
      const v1::Alert& a = it->second;
      if (query.before_id != 0 && a.id() >= query.before_id) continue;
      if (query.state != 0 && a.state() != query.state) continue;
      if (!query.tenant.empty() && a.tenant() != query.tenant) continue;
      if (!query.rule.empty() && a.rule() != query.rule) continue;
      v1::Alert row = a;
      row.clear_transitions();
      row.clear_deliveries();
      out.push_back(row.SerializeAsString());
    }
    return out;
  }
  std::optional<std::string> get_alert(std::uint64_t id) override {
    auto it = episodes.find(id);
    if (it == episodes.end()) return std::nullopt;
    return it->second.SerializeAsString();
  }
  std::vector<AlertChanges> committed() {
    std::lock_guard lock(mutex_);
    return committed_;
  }

 private:
  std::mutex mutex_;
  std::vector<AlertChanges> committed_;
};

}  // namespace tg::control::test
