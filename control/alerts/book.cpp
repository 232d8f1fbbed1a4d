#include "alerts/book.hpp"
#include "alerts/book_state.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

namespace tg::control::alerts {
namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 15]);
  }
  return out;
}

// 64 hex digits → 32 bytes; anything else is used as it is.
std::string key_bytes(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2 != 0 || text.empty()) return text;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = value(text[i]), lo = value(text[i + 1]);
    if (hi < 0 || lo < 0) return text;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    spdlog::error("tg-control: notifier secret_file {} cannot be read; notifications go unsigned", path);
    return {};
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  return secret;
}

Labels labels_of(const v1::Alert& alert) { return Labels(alert.labels().begin(), alert.labels().end()); }

std::string duration_text(std::uint64_t ms) {
  if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

std::string body_of(const google::protobuf::Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

// ---- shared writes

void BookOps::put_episode(const v1::Alert& alert) {
  AlertChanges::Episode e;
  e.id = alert.id();
  e.fingerprint = alert.fingerprint();
  e.rule = alert.rule();
  e.tenant = alert.tenant();
  e.state = alert.state();
  e.active_since_unix_ms = alert.active_since_unix_ms();
  e.resolved_unix_ms = alert.resolved_unix_ms();
  e.body = body_of(alert);
  // One row per episode per batch: a later write of the same batch replaces it.
  for (auto& existing : changes.episodes)
    if (existing.id == e.id) {
      existing = std::move(e);
      return;
    }
  changes.episodes.push_back(std::move(e));
}

void BookOps::transition(std::uint64_t id, v1::Alert::State from, v1::Alert::State to, double value,
                         const std::string& actor, const std::string& action, const std::string& reason) {
  v1::AlertTransition t;
  t.set_unix_ms(clock.unix_ms());
  t.set_from(from);
  t.set_to(to);
  t.set_value(value);
  t.set_actor(actor);
  t.set_action(action);
  t.set_reason(reason);
  changes.transitions.push_back({id, body_of(t)});
}

void BookOps::create_delivery(const OpenAlert& open, const v1::Notifier& notifier, v1::Alert::State told,
                              std::uint32_t repeat) {
  const std::int64_t now = clock.unix_ms();
  const v1::Alert& alert = open.alert;
  v1::Delivery d;
  d.set_id(delivery_id(notifier.name(), alert.fingerprint(), alert.active_since_unix_ms(), told, repeat));
  d.set_notifier(notifier.name());
  d.set_state(told);
  d.set_repeat(repeat);
  d.set_status(v1::Delivery::STATUS_PENDING);
  d.set_created_unix_ms(now);
  d.set_next_attempt_unix_ms(now);
  AlertChanges::Delivery row;
  row.id = d.id();
  row.alert_id = alert.id();
  row.notifier = notifier.name();
  row.fingerprint = alert.fingerprint();
  row.status = v1::Delivery::STATUS_PENDING;
  row.next_attempt_unix_ms = now;
  row.body = body_of(d);
  row.alert_body = body_of(alert);
  row.ack_url = ack_url_of(state.ack_key_bytes, options.external_url, alert.id());
  state.outbox[row.id] = row;
  state.outbox_created[row.id] = now;
  state.uncommitted.insert(row.id);
  changes.deliveries.push_back(std::move(row));
}

void BookOps::notify_firing(OpenAlert& open, const v1::AlertRule* rule) {
  if (!rule || open.alert.state() != v1::Alert::STATE_FIRING) return;
  if (!open.alert.silenced_by().empty()) return;  // evaluated and recorded, not delivered
  const std::int64_t now = clock.unix_ms();
  const bool acked = open.alert.has_ack();
  for (const std::string& name : rule->notifiers()) {
    auto n = state.notifiers.find(name);
    if (n == state.notifiers.end()) continue;
    const v1::Notifier& notifier = n->second;
    Notified& told = open.notified[name];
    if (!told.firing) {
      told = Notified{true, 0, now};
      create_delivery(open, notifier, v1::Alert::STATE_FIRING, 0);
      continue;
    }
    // Repeats: every repeat_interval while not acknowledged; an Alertmanager
    // also every alertmanager_refresh_ms, acknowledged or not (its
    // resolve_timeout would otherwise resolve the alert behind our back).
    std::int64_t interval = 0;
    if (!acked && notifier.repeat_interval_ms() > 0) interval = static_cast<std::int64_t>(notifier.repeat_interval_ms());
    if (notifier.type() == v1::Notifier::TYPE_ALERTMANAGER && options.alertmanager_refresh_ms > 0)
      interval = interval > 0 ? std::min(interval, options.alertmanager_refresh_ms) : options.alertmanager_refresh_ms;
    if (interval <= 0 || now - told.last_unix_ms < interval) continue;
    told.repeat += 1;
    told.last_unix_ms = now;
    create_delivery(open, notifier, v1::Alert::STATE_FIRING, told.repeat);
  }
}

void BookOps::close(const std::string& fingerprint, const std::string& actor, const std::string& action,
                    const std::string& reason) {
  auto it = state.open.find(fingerprint);
  if (it == state.open.end()) return;
  OpenAlert& open = it->second;
  v1::Alert& alert = open.alert;
  const v1::Alert::State from = alert.state();
  const std::int64_t now = clock.unix_ms();
  alert.set_state(v1::Alert::STATE_RESOLVED);
  alert.set_resolved_unix_ms(now);
  alert.set_resolved_by(actor);
  alert.set_resolve_reason(reason);
  open.track.state = v1::Alert::STATE_RESOLVED;
  transition(alert.id(), from, v1::Alert::STATE_RESOLVED, alert.value(), actor, action, reason);
  put_episode(alert);
  // The receivers that were told it fired are told it resolved (silenced or
  // not: they know of it), each notifier unless send_resolved is false.
  for (const auto& [name, told] : open.notified) {
    if (!told.firing) continue;
    auto n = state.notifiers.find(name);
    if (n == state.notifiers.end()) continue;
    if (n->second.has_send_resolved() && !n->second.send_resolved()) continue;
    create_delivery(open, n->second, v1::Alert::STATE_RESOLVED, 0);
  }
  state.open_ids.erase(alert.id());
  if (auto r = state.open_by_rule.find(alert.rule()); r != state.open_by_rule.end()) {
    r->second.erase(fingerprint);
    if (r->second.empty()) state.open_by_rule.erase(r);
  }
  state.open.erase(it);
}

std::string ack_url_of(const std::string& key, const std::string& external_url, std::uint64_t id) {
  const std::string message = std::to_string(id);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &length);
  std::string base = external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/alerts/" + message + "/ack?token=" + hex(digest, length);
}

// ---- Book

Book::Book(const Clock& clock, BookOptions options)
    : state_(std::make_unique<State>()), clock_(clock), options_(std::move(options)) {
  state_->ack_key_bytes = key_bytes(options_.ack_key);
  if (!options_.read_secret) options_.read_secret = read_secret_file;
}

Book::~Book() = default;

void Book::load(const LoadedAlerts& loaded) {
  const std::string key = state_->ack_key_bytes;
  *state_ = State{};
  state_->ack_key_bytes = key;
  State& s = *state_;
  for (const auto& body : loaded.rules) {
    v1::AlertRule rule;
    if (!rule.ParseFromString(body)) throw std::runtime_error("an alert rule in the store does not parse");
    s.rules[rule.name()] = std::move(rule);
  }
  for (const auto& body : loaded.notifiers) {
    v1::Notifier notifier;
    if (!notifier.ParseFromString(body)) throw std::runtime_error("a notifier in the store does not parse");
    s.notifiers[notifier.name()] = std::move(notifier);
  }
  for (const auto& body : loaded.silences) {
    v1::Silence silence;
    if (!silence.ParseFromString(body)) throw std::runtime_error("a silence in the store does not parse");
    CompiledSilence compiled;
    if (!compile_silence(silence, compiled).ok()) continue;  // checked when created
    s.silences[silence.id()] = std::move(compiled);
  }
  for (const auto& t : loaded.tombstones)
    if (t.body) s.tombstones[t.name] = *t.body;
  for (const auto& e : loaded.open_episodes) {
    OpenAlert open;
    if (!open.alert.ParseFromString(e.body)) throw std::runtime_error("an alert episode in the store does not parse");
    open.track.state = open.alert.state();
    open.track.active_since_unix_ms = open.alert.active_since_unix_ms();
    open.track.firing_since_unix_ms = open.alert.firing_since_unix_ms();
    open.track.value = open.alert.value();
    s.open_ids[open.alert.id()] = open.alert.fingerprint();
    s.open_by_rule[open.alert.rule()].insert(open.alert.fingerprint());
    s.open[open.alert.fingerprint()] = std::move(open);
  }
  // What each notifier was told of the open episodes: from their deliveries
  // (a restart neither repeats early nor sends a firing twice).
  for (const auto& d : loaded.open_deliveries) {
    auto id = s.open_ids.find(d.alert_id);
    if (id == s.open_ids.end()) continue;
    v1::Delivery delivery;
    if (!delivery.ParseFromString(d.body) || delivery.state() != v1::Alert::STATE_FIRING) continue;
    Notified& told = s.open[id->second].notified[d.notifier];
    if (!told.firing || delivery.repeat() >= told.repeat) {
      told.firing = true;
      told.repeat = delivery.repeat();
      told.last_unix_ms = delivery.created_unix_ms();
    }
  }
  for (const auto& d : loaded.pending_deliveries) {
    s.outbox[d.id] = d;
    v1::Delivery delivery;
    delivery.ParseFromString(d.body);
    s.outbox_created[d.id] = delivery.created_unix_ms();
  }
  s.next_id = loaded.max_alert_id + 1;
}

std::vector<DeliveryJob> Book::pending_jobs() const {
  std::vector<DeliveryJob> jobs;
  for (const auto& [id, row] : state_->outbox) {
    if (state_->uncommitted.contains(id)) continue;
    if (auto job = job_of(row)) jobs.push_back(std::move(*job));
  }
  std::sort(jobs.begin(), jobs.end(),
            [](const DeliveryJob& a, const DeliveryJob& b) { return a.created_unix_ms < b.created_unix_ms; });
  return jobs;
}

std::optional<DeliveryJob> Book::job_of(const AlertChanges::Delivery& row) const {
  auto n = state_->notifiers.find(row.notifier);
  if (n == state_->notifiers.end()) return std::nullopt;
  v1::Delivery delivery;
  DeliveryJob job;
  if (!delivery.ParseFromString(row.body) || !job.alert.ParseFromString(row.alert_body)) return std::nullopt;
  job.id = row.id;
  job.notifier = n->second;
  if (!n->second.secret_file().empty()) job.secret = options_.read_secret(n->second.secret_file());
  job.state = delivery.state();
  job.repeat = delivery.repeat();
  job.attempts_done = row.attempts;
  job.created_unix_ms = delivery.created_unix_ms();
  job.not_before_unix_ms = row.next_attempt_unix_ms;
  job.ack_url = row.ack_url;
  return job;
}

std::vector<DeliveryJob> Book::deliveries_committed(const AlertChanges& changes) const {
  std::vector<DeliveryJob> jobs;
  for (const auto& row : changes.deliveries) {
    if (state_->uncommitted.erase(row.id) == 0) continue;  // an outcome's update, not a new delivery
    auto it = state_->outbox.find(row.id);
    if (it == state_->outbox.end()) continue;
    if (auto job = job_of(it->second)) jobs.push_back(std::move(*job));
  }
  return jobs;
}

void Book::record_outcome(const AttemptOutcome& outcome, AlertChanges& changes) {
  auto it = state_->outbox.find(outcome.id);
  if (it == state_->outbox.end()) return;  // a delivery this book no longer holds (deleted by retention)
  AlertChanges::Delivery row = it->second;
  v1::Delivery delivery;
  delivery.ParseFromString(row.body);
  delivery.set_status(outcome.status);
  delivery.set_next_attempt_unix_ms(outcome.status == v1::Delivery::STATUS_PENDING ? outcome.next_attempt_unix_ms : 0);
  row.status = outcome.status;
  row.next_attempt_unix_ms = delivery.next_attempt_unix_ms();
  row.body = body_of(delivery);
  row.attempts += 1;
  changes.deliveries.push_back(row);
  changes.attempts.push_back({outcome.id, body_of(outcome.attempt)});
  if (outcome.status == v1::Delivery::STATUS_PENDING) {
    it->second = std::move(row);
  } else {
    state_->outbox.erase(it);
    state_->outbox_created.erase(outcome.id);
  }
}

// ---- alerts

const v1::Alert* Book::find_open(std::uint64_t id) const {
  auto it = state_->open_ids.find(id);
  if (it == state_->open_ids.end()) return nullptr;
  return &state_->open.at(it->second).alert;
}

Status Book::ack(std::uint64_t id, const std::string& comment, const WriteContext& who, AlertChanges& changes,
                 v1::Alert* out) {
  auto it = state_->open_ids.find(id);
  if (it == state_->open_ids.end()) return Status::not_found("alert " + std::to_string(id) + " is not open");
  v1::Alert& alert = state_->open.at(it->second).alert;
  if (alert.state() != v1::Alert::STATE_FIRING)
    return Status::precondition("alert " + std::to_string(id) + " is " + state_name(alert.state()) +
                                "; only a firing alert can be acknowledged");
  alert.mutable_ack()->set_by(who.actor);
  alert.mutable_ack()->set_unix_ms(clock_.unix_ms());
  alert.mutable_ack()->set_comment(comment);
  BookOps ops{*state_, clock_, options_, changes};
  ops.transition(id, alert.state(), alert.state(), alert.value(), who.actor, "ack", comment);
  ops.put_episode(alert);
  if (out) *out = alert;
  return {};
}

Status Book::unack(std::uint64_t id, const WriteContext& who, AlertChanges& changes, v1::Alert* out) {
  auto it = state_->open_ids.find(id);
  if (it == state_->open_ids.end()) return Status::not_found("alert " + std::to_string(id) + " is not open");
  OpenAlert& open = state_->open.at(it->second);
  v1::Alert& alert = open.alert;
  if (!alert.has_ack()) return Status::precondition("alert " + std::to_string(id) + " is not acknowledged");
  alert.clear_ack();
  // Repeats resume from now, not at once.
  for (auto& [name, told] : open.notified) told.last_unix_ms = std::max(told.last_unix_ms, clock_.unix_ms());
  BookOps ops{*state_, clock_, options_, changes};
  ops.transition(id, alert.state(), alert.state(), alert.value(), who.actor, "unack", "");
  ops.put_episode(alert);
  if (out) *out = alert;
  return {};
}

Status Book::resolve(std::uint64_t id, const std::string& reason, const WriteContext& who, AlertChanges& changes,
                     v1::Alert* out) {
  if (reason.empty()) return Status::invalid("reason", "required");
  auto it = state_->open_ids.find(id);
  if (it == state_->open_ids.end()) return Status::not_found("alert " + std::to_string(id) + " is not open");
  const std::string fingerprint = it->second;
  BookOps ops{*state_, clock_, options_, changes};
  v1::Alert closed = state_->open.at(fingerprint).alert;
  ops.close(fingerprint, who.actor, "resolve", reason);
  if (out) {
    *out = closed;
    out->set_state(v1::Alert::STATE_RESOLVED);
    out->set_resolved_unix_ms(clock_.unix_ms());
    out->set_resolved_by(who.actor);
    out->set_resolve_reason(reason);
  }
  return {};
}

std::string Book::ack_url(std::uint64_t id) const { return ack_url_of(state_->ack_key_bytes, options_.external_url, id); }

bool Book::ack_token_valid(std::uint64_t id, const std::string& token) const {
  const std::string url = ack_url(id);
  const std::string expected = url.substr(url.rfind('=') + 1);
  if (token.size() != expected.size()) return false;
  return CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

// ---- evaluation

void Book::evaluate(const EvalInputs& inputs, AlertChanges& changes) {
  State& s = *state_;
  BookOps ops{s, clock_, options_, changes};
  const std::int64_t now = inputs.now_unix_ms;
  for (const auto& [name, rule] : s.rules) {
    if (rule.disabled()) continue;
    const RuleValue value = alerts::evaluate(rule, inputs);
    if (value.skipped) continue;  // nothing decided: open alerts stay as they are
    std::set<std::string> seen;
    auto step_group = [&](const std::string& fingerprint, const Labels* group, bool condition, double v) {
      auto it = s.open.find(fingerprint);
      Track track = it == s.open.end() ? Track{} : it->second.track;
      const Step change = step(track, rule, condition, v, now);
      if (it == s.open.end()) {
        if (!change.changed || track.state == v1::Alert::STATE_RESOLVED) return;
        OpenAlert open;
        v1::Alert& alert = open.alert;
        alert.set_id(s.next_id++);
        alert.set_fingerprint(fingerprint);
        alert.set_rule(rule.name());
        const Labels labels = alert_labels(rule, group ? *group : Labels{});
        alert.mutable_labels()->insert(labels.begin(), labels.end());
        alert.set_severity(rule.severity());
        if (auto t = labels.find("tenant"); t != labels.end()) alert.set_tenant(t->second);
        else alert.set_tenant(rule.scope().tenant());
        s.open_ids[alert.id()] = fingerprint;
        s.open_by_rule[rule.name()].insert(fingerprint);
        it = s.open.emplace(fingerprint, std::move(open)).first;
      }
      OpenAlert& open = it->second;
      v1::Alert& alert = open.alert;
      open.track = track;
      alert.set_value(v);
      alert.set_last_evaluated_unix_ms(now);
      if (!change.changed) return;
      const Labels labels = labels_of(alert);
      alert.clear_annotations();
      for (const auto& [key, text] : rule.annotations())
        (*alert.mutable_annotations())[key] = render_annotation(text, labels, v);
      alert.set_active_since_unix_ms(track.active_since_unix_ms);
      alert.set_firing_since_unix_ms(track.firing_since_unix_ms);
      if (change.to == v1::Alert::STATE_RESOLVED) {
        ops.close(fingerprint, system_actor, "evaluate",
                  change.from == v1::Alert::STATE_PENDING
                      ? "condition false before firing"
                      : "condition false for " + duration_text(rule.keep_firing_for_ms()));
        return;
      }
      alert.set_state(change.to);
      ops.transition(alert.id(), change.from, change.to, v, system_actor, "evaluate",
                     change.to == v1::Alert::STATE_FIRING ? "condition true for " + duration_text(rule.for_ms())
                                                          : "condition true");
      ops.put_episode(alert);
    };
    for (const GroupValue& group : value.groups) {
      const std::string fp = fingerprint(rule.name(), group.group);
      seen.insert(fp);
      step_group(fp, &group.group, group.condition, group.value);
    }
    // Open alerts of groups the rule did not report: condition false.
    if (auto open = s.open_by_rule.find(name); open != s.open_by_rule.end()) {
      const std::set<std::string> fingerprints = open->second;  // step_group may close some
      for (const std::string& fp : fingerprints)
        if (!seen.contains(fp)) step_group(fp, nullptr, false, s.open.at(fp).alert.value());
    }
  }
  // Silences and notifications of every open alert.
  std::vector<std::string> fingerprints;
  for (const auto& [fp, open] : s.open) fingerprints.push_back(fp);
  for (const std::string& fp : fingerprints) {
    OpenAlert& open = s.open.at(fp);
    v1::Alert& alert = open.alert;
    const Labels labels = labels_of(alert);
    std::vector<std::string> silenced;
    for (const auto& [id, silence] : s.silences) {
      const v1::Silence& si = silence.silence;
      if (si.starts_unix_ms() <= now && now < si.ends_unix_ms() && silence_matches(silence, labels))
        silenced.push_back(id);
    }
    const std::vector<std::string> before(alert.silenced_by().begin(), alert.silenced_by().end());
    if (silenced != before) {
      alert.clear_silenced_by();
      for (const auto& id : silenced) alert.add_silenced_by(id);
      if (before.empty() != silenced.empty())
        ops.transition(alert.id(), alert.state(), alert.state(), alert.value(), system_actor,
                       silenced.empty() ? "unsilence" : "silence",
                       silenced.empty() ? "" : "silenced by " + silenced.front());
      ops.put_episode(alert);
    }
    auto rule = s.rules.find(alert.rule());
    ops.notify_firing(open, rule == s.rules.end() ? nullptr : &rule->second);
  }
}

// ---- metrics

std::map<std::pair<std::string, std::string>, std::size_t> Book::open_by_state_severity() const {
  std::map<std::pair<std::string, std::string>, std::size_t> out;
  for (const auto& [fp, open] : state_->open) ++out[{state_name(open.alert.state()), open.alert.severity()}];
  return out;
}

std::size_t Book::rule_count() const { return state_->rules.size(); }
std::size_t Book::outbox_depth() const { return state_->outbox.size(); }
std::int64_t Book::outbox_oldest_created_unix_ms() const {
  std::int64_t oldest = 0;
  for (const auto& [id, created] : state_->outbox_created)
    if (oldest == 0 || created < oldest) oldest = created;
  return oldest;
}

}  // namespace tg::control::alerts
