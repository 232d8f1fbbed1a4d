// The Book's objects: rules, notifiers and silences through the Admin API,
// the config files' rules and notifiers at startup (the registry's
// ownership rule), and the cascade of registry deletes.
#include "alerts/book.hpp"
#include "alerts/book_state.hpp"
#include "alerts/convert.hpp"

#include "config/model.hpp"

#include <random>

namespace tg::control::alerts {
namespace {

void set_source(v1::Meta* meta, v1::Source::Kind kind, const std::string& file, std::uint32_t line,
                std::int64_t now, const v1::Meta* before) {
  meta->mutable_source()->set_kind(kind);
  meta->mutable_source()->set_file(file);
  meta->mutable_source()->set_line(line);
  meta->set_created_unix_ms(before ? before->created_unix_ms() : now);
  meta->set_updated_unix_ms(now);
}

bool file_owned(const v1::Meta& meta) { return meta.source().kind() == v1::Source::KIND_CONFIG_FILE; }

// The object without its meta: what a file decides.
template <class M>
std::string content_of(M object) {
  object.clear_meta();
  return body_of(object);
}

std::string random_id() {
  std::random_device random;
  static const char digits[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) id.push_back(digits[random() % 16]);
  return id;
}

}  // namespace

Status compile_silence(const v1::Silence& silence, CompiledSilence& out) {
  out.silence = silence;
  out.regexes.clear();
  if (silence.matchers().empty()) return Status::invalid("silence.matchers", "at least one matcher is required");
  for (int i = 0; i < silence.matchers_size(); ++i) {
    const v1::Matcher& m = silence.matchers(i);
    const std::string field = "silence.matchers[" + std::to_string(i) + "]";
    if (m.name().empty()) return Status::invalid(field + ".name", "required");
    std::regex regex;
    if (m.op() == v1::Matcher::OP_REGEX || m.op() == v1::Matcher::OP_NOT_REGEX) {
      try {
        regex = std::regex(m.value(), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Status::invalid(field + ".value", std::string("not a valid regular expression: ") + e.what());
      }
    }
    out.regexes.push_back(std::move(regex));
  }
  return {};
}

bool silence_matches(const CompiledSilence& silence, const Labels& labels) {
  for (int i = 0; i < silence.silence.matchers_size(); ++i) {
    const v1::Matcher& m = silence.silence.matchers(i);
    auto it = labels.find(m.name());
    const std::string value = it == labels.end() ? std::string() : it->second;
    bool ok = false;
    switch (m.op()) {
      case v1::Matcher::OP_EQUAL: ok = value == m.value(); break;
      case v1::Matcher::OP_NOT_EQUAL: ok = value != m.value(); break;
      case v1::Matcher::OP_REGEX: ok = std::regex_match(value, silence.regexes[i]); break;
      case v1::Matcher::OP_NOT_REGEX: ok = !std::regex_match(value, silence.regexes[i]); break;
      default: ok = false;
    }
    if (!ok) return false;
  }
  return true;
}

// ---- rules

std::vector<v1::AlertRule> Book::list_rules(const std::string& tenant) const {
  std::vector<v1::AlertRule> out;
  for (const auto& [name, rule] : state_->rules)
    if (tenant.empty() || rule.scope().tenant() == tenant) out.push_back(rule);
  return out;
}

const v1::AlertRule* Book::find_rule(const std::string& name) const {
  auto it = state_->rules.find(name);
  return it == state_->rules.end() ? nullptr : &it->second;
}

namespace {

Status check_rule_notifiers(const v1::AlertRule& rule, const std::map<std::string, v1::Notifier>& notifiers) {
  for (int i = 0; i < rule.notifiers_size(); ++i)
    if (!notifiers.contains(rule.notifiers(i)))
      return Status::invalid("rule.notifiers[" + std::to_string(i) + "]",
                             "no notifier named \"" + rule.notifiers(i) + "\"");
  return {};
}

}  // namespace

Status Book::create_rule(const v1::AlertRule& request, const WriteContext&, AlertChanges& changes, v1::AlertRule* out) {
  v1::AlertRule rule = request;
  if (rule.name().empty()) return Status::invalid("rule.name", "required");
  if (Status status = check_rule(rule); !status.ok()) return status;
  if (Status status = check_rule_notifiers(rule, state_->notifiers); !status.ok()) return status;
  if (state_->rules.contains(rule.name())) return Status::exists("alert rule \"" + rule.name() + "\" already exists");
  set_source(rule.mutable_meta(), v1::Source::KIND_API, "", 0, clock_.unix_ms(), nullptr);
  changes.rules.push_back({rule.name(), body_of(rule)});
  state_->rules[rule.name()] = rule;
  if (out) *out = rule;
  return {};
}

Status Book::update_rule(const v1::AlertRule& request, bool take_ownership, const WriteContext&,
                         AlertChanges& changes, v1::AlertRule* out) {
  auto it = state_->rules.find(request.name());
  if (it == state_->rules.end()) return Status::not_found("no alert rule named \"" + request.name() + "\"");
  if (Status status = check_editable(it->second.meta(), take_ownership, "alert rule", request.name()); !status.ok())
    return status;
  v1::AlertRule rule = request;
  if (Status status = check_rule(rule); !status.ok()) return status;
  if (Status status = check_rule_notifiers(rule, state_->notifiers); !status.ok()) return status;
  set_source(rule.mutable_meta(), v1::Source::KIND_API, "", 0, clock_.unix_ms(), &it->second.meta());
  changes.rules.push_back({rule.name(), body_of(rule)});
  it->second = rule;
  if (out) *out = rule;
  return {};
}

// Resolves every open alert of `rule` (a delete, a cascade).
static void close_rule_alerts(Book::State& state, BookOps& ops, const std::string& rule, const std::string& actor,
                              const std::string& action, const std::string& reason) {
  auto open = state.open_by_rule.find(rule);
  if (open == state.open_by_rule.end()) return;
  const std::set<std::string> fingerprints = open->second;
  for (const auto& fp : fingerprints) ops.close(fp, actor, action, reason);
}

Status Book::delete_rule(const std::string& name, bool take_ownership, const WriteContext& who,
                         AlertChanges& changes) {
  auto it = state_->rules.find(name);
  if (it == state_->rules.end()) return Status::not_found("no alert rule named \"" + name + "\"");
  if (Status status = check_editable(it->second.meta(), take_ownership, "alert rule", name); !status.ok())
    return status;
  BookOps ops{*state_, clock_, options_, changes};
  close_rule_alerts(*state_, ops, name, who.actor, "resolve", "rule deleted");
  if (file_owned(it->second.meta())) {
    // Not recreated from its file at the next start.
    const std::string file = it->second.meta().source().file();
    state_->tombstones["rule/" + name] = file;
    changes.tombstones.push_back({"rule/" + name, file});
  }
  changes.rules.push_back({name, std::nullopt});
  state_->rules.erase(it);
  return {};
}

// ---- notifiers

std::vector<v1::Notifier> Book::list_notifiers() const {
  std::vector<v1::Notifier> out;
  for (const auto& [name, notifier] : state_->notifiers) out.push_back(notifier);
  return out;
}

const v1::Notifier* Book::find_notifier(const std::string& name) const {
  auto it = state_->notifiers.find(name);
  return it == state_->notifiers.end() ? nullptr : &it->second;
}

Status Book::create_notifier(const v1::Notifier& request, const WriteContext&, AlertChanges& changes,
                             v1::Notifier* out) {
  v1::Notifier notifier = request;
  if (notifier.name().empty()) return Status::invalid("notifier.name", "required");
  if (Status status = check_notifier(notifier); !status.ok()) return status;
  if (state_->notifiers.contains(notifier.name()))
    return Status::exists("notifier \"" + notifier.name() + "\" already exists");
  set_source(notifier.mutable_meta(), v1::Source::KIND_API, "", 0, clock_.unix_ms(), nullptr);
  changes.notifiers.push_back({notifier.name(), body_of(notifier)});
  state_->notifiers[notifier.name()] = notifier;
  if (out) *out = notifier;
  return {};
}

Status Book::update_notifier(const v1::Notifier& request, bool take_ownership, const WriteContext&,
                             AlertChanges& changes, v1::Notifier* out) {
  auto it = state_->notifiers.find(request.name());
  if (it == state_->notifiers.end()) return Status::not_found("no notifier named \"" + request.name() + "\"");
  if (Status status = check_editable(it->second.meta(), take_ownership, "notifier", request.name()); !status.ok())
    return status;
  v1::Notifier notifier = request;
  if (Status status = check_notifier(notifier); !status.ok()) return status;
  set_source(notifier.mutable_meta(), v1::Source::KIND_API, "", 0, clock_.unix_ms(), &it->second.meta());
  changes.notifiers.push_back({notifier.name(), body_of(notifier)});
  it->second = notifier;
  if (out) *out = notifier;
  return {};
}

Status Book::delete_notifier(const std::string& name, bool take_ownership, const WriteContext&,
                             AlertChanges& changes) {
  auto it = state_->notifiers.find(name);
  if (it == state_->notifiers.end()) return Status::not_found("no notifier named \"" + name + "\"");
  if (Status status = check_editable(it->second.meta(), take_ownership, "notifier", name); !status.ok())
    return status;
  for (const auto& [rule_name, rule] : state_->rules)
    for (const auto& n : rule.notifiers())
      if (n == name)
        return Status::precondition("notifier \"" + name + "\" is used by alert rule \"" + rule_name +
                                    "\"; remove it from the rule first");
  if (file_owned(it->second.meta())) {
    const std::string file = it->second.meta().source().file();
    state_->tombstones["notifier/" + name] = file;
    changes.tombstones.push_back({"notifier/" + name, file});
  }
  changes.notifiers.push_back({name, std::nullopt});
  state_->notifiers.erase(it);
  return {};
}

// ---- silences

std::vector<v1::Silence> Book::list_silences(bool include_expired) const {
  const std::int64_t now = clock_.unix_ms();
  std::vector<v1::Silence> out;
  for (const auto& [id, compiled] : state_->silences) {
    v1::Silence silence = compiled.silence;
    silence.set_expired(silence.expired() || silence.ends_unix_ms() <= now);
    if (silence.expired() && !include_expired) continue;
    out.push_back(std::move(silence));
  }
  return out;
}

Status Book::create_silence(const v1::Silence& request, const WriteContext& who, AlertChanges& changes,
                            v1::Silence* out) {
  const std::int64_t now = clock_.unix_ms();
  v1::Silence silence = request;
  silence.clear_expired();
  if (silence.starts_unix_ms() == 0) silence.set_starts_unix_ms(now);
  if (silence.ends_unix_ms() == 0) return Status::invalid("silence.ends_unix_ms", "required");
  if (silence.ends_unix_ms() <= silence.starts_unix_ms())
    return Status::invalid("silence.ends_unix_ms", "must be after starts_unix_ms");
  CompiledSilence compiled;
  if (Status status = compile_silence(silence, compiled); !status.ok()) return status;
  do silence.set_id(random_id());
  while (state_->silences.contains(silence.id()));
  silence.set_created_by(who.actor);
  silence.set_created_unix_ms(now);
  compiled.silence = silence;
  changes.silences.push_back({silence.id(), body_of(silence)});
  state_->silences[silence.id()] = std::move(compiled);
  if (out) *out = silence;
  return {};
}

Status Book::expire_silence(const std::string& id, const WriteContext&, AlertChanges& changes, v1::Silence* out) {
  auto it = state_->silences.find(id);
  if (it == state_->silences.end()) return Status::not_found("no silence with id \"" + id + "\"");
  v1::Silence& silence = it->second.silence;
  const std::int64_t now = clock_.unix_ms();
  if (silence.ends_unix_ms() > now) silence.set_ends_unix_ms(now);
  if (silence.starts_unix_ms() > now) silence.set_starts_unix_ms(now);
  silence.set_expired(true);
  changes.silences.push_back({id, body_of(silence)});
  if (out) *out = silence;
  return {};
}

// ---- cascade

std::vector<std::string> Book::rules_naming(const std::string& kind, const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [rule_name, rule] : state_->rules) {
    if (rule.disabled()) continue;
    const v1::AlertScope& scope = rule.scope();
    if ((kind == "tenant" && scope.tenant() == name) || (kind == "service" && scope.service() == name) ||
        (kind == "route" && scope.route() == name) || (kind == "instance" && scope.instance() == name))
      out.push_back(rule_name);
  }
  return out;
}

void Book::cascade(const std::string& kind, const std::string& name, const WriteContext& who,
                   AlertChanges& changes) {
  BookOps ops{*state_, clock_, options_, changes};
  for (const std::string& rule_name : rules_naming(kind, name)) {
    v1::AlertRule& rule = state_->rules.at(rule_name);
    rule.set_disabled(true);
    rule.mutable_meta()->set_updated_unix_ms(clock_.unix_ms());
    changes.rules.push_back({rule_name, body_of(rule)});
    close_rule_alerts(*state_, ops, rule_name, who.actor, "cascade", kind + " " + name + " deleted");
  }
}

// ---- config files

Status Book::apply_files(const std::vector<std::pair<const config::Config*, std::string>>& files,
                         AlertChanges& changes, std::vector<std::string>* warnings) {
  std::vector<std::string> ignored;
  if (!warnings) warnings = &ignored;
  const std::int64_t now = clock_.unix_ms();
  State& s = *state_;
  std::set<std::string> declared;  // "rule/NAME", "notifier/NAME" declared by some file
  // Applies one declared object under the ownership rule; `existing` is the
  // object of that name now (nullptr: none).
  auto apply = [&](auto object, auto& table, const char* kind, auto& out_rows) -> Status {
    const std::string key = std::string(kind) + "/" + object.name();
    declared.insert(key);
    const std::string& file = object.meta().source().file();
    const std::string where = file + ":" + std::to_string(object.meta().source().line());
    if (auto t = s.tombstones.find(key); t != s.tombstones.end()) {
      if (t->second == file) {
        warnings->push_back(std::string(kind) + " " + object.name() + " (" + where +
                            ") was deleted through the Admin API; not recreated (delete it from the file)");
        return {};
      }
      s.tombstones.erase(t);  // another file declares it now
      changes.tombstones.push_back({key, std::nullopt});
    }
    auto it = table.find(object.name());
    if (it != table.end() && !file_owned(it->second.meta())) {
      warnings->push_back(std::string(kind) + " " + object.name() + " (" + where + ") is owned by " +
                          describe_source(it->second.meta().source()) + "; the file's declaration is skipped");
      return {};
    }
    if (it != table.end() && content_of(it->second) == content_of(object) &&
        it->second.meta().source().file() == file && it->second.meta().source().line() == object.meta().source().line())
      return {};
    set_source(object.mutable_meta(), v1::Source::KIND_CONFIG_FILE, file, object.meta().source().line(), now,
               it == table.end() ? nullptr : &it->second.meta());
    out_rows.push_back({object.name(), body_of(object)});
    table[object.name()] = object;
    return {};
  };
  for (const auto& [config, file] : files)
    for (const auto& n : config->notifiers) {
      v1::Notifier notifier = to_proto(n, file);
      if (Status status = check_notifier(notifier); !status.ok())
        return Status::invalid(file + ":" + std::to_string(n.location.line) + ":" + std::to_string(n.location.column),
                               status.message);
      if (Status status = apply(notifier, s.notifiers, "notifier", changes.notifiers); !status.ok()) return status;
    }
  for (const auto& [config, file] : files)
    for (const auto& r : config->alert_rules) {
      v1::AlertRule rule = to_proto(r, file);
      const std::string where =
          file + ":" + std::to_string(r.location.line) + ":" + std::to_string(r.location.column);
      if (Status status = check_rule(rule); !status.ok()) return Status::invalid(where, status.message);
      if (Status status = check_rule_notifiers(rule, s.notifiers); !status.ok())
        return Status::invalid(where, status.message);
      if (Status status = apply(rule, s.rules, "rule", changes.rules); !status.ok()) return status;
    }
  // Prune: file-owned objects no file declares any more; tombstones of
  // objects their file no longer declares.
  BookOps ops{s, clock_, options_, changes};
  for (auto it = s.rules.begin(); it != s.rules.end();) {
    if (file_owned(it->second.meta()) && !declared.contains("rule/" + it->first)) {
      close_rule_alerts(s, ops, it->first, system_actor, "resolve", "rule no longer in " +
                                                                        it->second.meta().source().file());
      changes.rules.push_back({it->first, std::nullopt});
      it = s.rules.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = s.notifiers.begin(); it != s.notifiers.end();) {
    bool used = false;
    for (const auto& [name, rule] : s.rules)
      for (const auto& n : rule.notifiers()) used = used || n == it->first;
    if (file_owned(it->second.meta()) && !declared.contains("notifier/" + it->first) && !used) {
      changes.notifiers.push_back({it->first, std::nullopt});
      it = s.notifiers.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = s.tombstones.begin(); it != s.tombstones.end();) {
    if (!declared.contains(it->first)) {
      changes.tombstones.push_back({it->first, std::nullopt});
      it = s.tombstones.erase(it);
    } else {
      ++it;
    }
  }
  return {};
}

}  // namespace tg::control::alerts
