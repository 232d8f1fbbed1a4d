// The Book's state and the helpers its two files share (book.cpp: alerts,
// evaluation, deliveries; book_objects.cpp: rules, notifiers, silences,
// config files, cascade). Internal to the Book.
#pragma once

#include "alerts/book.hpp"

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace tg::control::alerts {

// What one notifier was told about one open episode.
struct Notified {
  bool firing = false;             // a firing notification was created
  std::uint32_t repeat = 0;        // the last firing notification's repeat number
  std::int64_t last_unix_ms = 0;   // when it was created
};

struct OpenAlert {
  v1::Alert alert;  // without transitions and deliveries
  Track track;
  std::map<std::string, Notified> notified;  // notifier name →
};

struct CompiledSilence {
  v1::Silence silence;
  std::vector<std::regex> regexes;  // parallel to the matchers (empty regex for = and !=)
};

struct Book::State {
  std::map<std::string, v1::AlertRule> rules;
  std::map<std::string, v1::Notifier> notifiers;
  std::map<std::string, CompiledSilence> silences;
  std::map<std::string, std::string> tombstones;  // "rule/NAME" | "notifier/NAME" → file
  std::map<std::string, OpenAlert> open;          // fingerprint →
  std::map<std::uint64_t, std::string> open_ids;  // id → fingerprint
  std::map<std::string, std::set<std::string>> open_by_rule;  // rule → fingerprints
  std::uint64_t next_id = 1;
  std::string ack_key_bytes;  // BookOptions::ack_key decoded from hex
  // The outbox: deliveries not final yet, by id (what record_outcome updates).
  std::map<std::string, AlertChanges::Delivery> outbox;
  std::map<std::string, std::int64_t> outbox_created;  // id → created_unix_ms
  // Created and not yet committed: deliveries_committed() turns these into jobs.
  std::set<std::string> uncommitted;
};

// The writes every path shares (book.cpp), each filling `changes`.
struct BookOps {
  Book::State& state;
  const Clock& clock;
  const BookOptions& options;
  AlertChanges& changes;

  void put_episode(const v1::Alert& alert);
  void transition(std::uint64_t id, v1::Alert::State from, v1::Alert::State to, double value,
                  const std::string& actor, const std::string& action, const std::string& reason);
  // Deliveries of `open`'s firing to every notifier of its rule that is due
  // (first notification, repeat, Alertmanager refresh), unless silenced.
  void notify_firing(OpenAlert& open, const v1::AlertRule* rule);
  // An open episode ends: state RESOLVED, transition, resolved deliveries to
  // the notifiers that were told it fired (send_resolved), removed from the
  // open set. `open` is invalid afterwards.
  void close(const std::string& fingerprint, const std::string& actor, const std::string& action,
             const std::string& reason);
  // One outbox row and the job it describes; "" when the notifier is unknown.
  void create_delivery(const OpenAlert& open, const v1::Notifier& notifier, v1::Alert::State told,
                       std::uint32_t repeat);
};

// <external_url>/v1/alerts/<id>/ack?token=<hex HMAC-SHA256(key, decimal id)>.
std::string ack_url_of(const std::string& key, const std::string& external_url, std::uint64_t id);

// Label matching of a silence (all matchers).
bool silence_matches(const CompiledSilence& silence, const Labels& labels);
// Compiles the regexes; INVALID_ARGUMENT naming the matcher when one is bad.
Status compile_silence(const v1::Silence& silence, CompiledSilence& out);

// Serialized without output-only noise: used to tell whether a file changed an object.
std::string body_of(const google::protobuf::Message& message);

inline const char* state_name(v1::Alert::State state) {
  switch (state) {
    case v1::Alert::STATE_PENDING: return "pending";
    case v1::Alert::STATE_FIRING: return "firing";
    case v1::Alert::STATE_RESOLVED: return "resolved";
    default: return "inactive";
  }
}

}  // namespace tg::control::alerts
