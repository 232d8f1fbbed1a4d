// What the Admin service and the ack endpoint of the HTTP port need of the
// alerting Book (alerts/book.hpp), as an interface: the handlers are tested
// against a small fake, and tg-control hands them the Book through
// book_access(). The calls and their contract are the Book's: owner loop
// only; a write validates, changes memory, fills `changes` and the response,
// and the caller commits before it answers.
#pragma once

#include "registry/registry.hpp"  // WriteContext
#include "status.hpp"
#include "store/alert_records.hpp"

#include "tenantgate/v1/alerting.pb.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tg::control {

namespace alerts {
class Book;
}

class AlertAccess {
 public:
  virtual ~AlertAccess() = default;

  virtual std::vector<v1::AlertRule> list_rules(const std::string& tenant) const = 0;
  virtual const v1::AlertRule* find_rule(const std::string& name) const = 0;
  virtual Status create_rule(const v1::AlertRule& rule, const WriteContext& who, AlertChanges& changes,
                             v1::AlertRule* out) = 0;
  virtual Status update_rule(const v1::AlertRule& rule, bool take_ownership, const WriteContext& who,
                             AlertChanges& changes, v1::AlertRule* out) = 0;
  virtual Status delete_rule(const std::string& name, bool take_ownership, const WriteContext& who,
                             AlertChanges& changes) = 0;

  virtual std::vector<v1::Notifier> list_notifiers() const = 0;
  virtual const v1::Notifier* find_notifier(const std::string& name) const = 0;
  virtual Status create_notifier(const v1::Notifier& notifier, const WriteContext& who, AlertChanges& changes,
                                 v1::Notifier* out) = 0;
  virtual Status update_notifier(const v1::Notifier& notifier, bool take_ownership, const WriteContext& who,
                                 AlertChanges& changes, v1::Notifier* out) = 0;
  virtual Status delete_notifier(const std::string& name, bool take_ownership, const WriteContext& who,
                                 AlertChanges& changes) = 0;

  virtual const v1::Alert* find_open(std::uint64_t id) const = 0;
  virtual Status ack(std::uint64_t id, const std::string& comment, const WriteContext& who, AlertChanges& changes,
                     v1::Alert* out) = 0;
  virtual Status unack(std::uint64_t id, const WriteContext& who, AlertChanges& changes, v1::Alert* out) = 0;
  virtual Status resolve(std::uint64_t id, const std::string& reason, const WriteContext& who,
                         AlertChanges& changes, v1::Alert* out) = 0;
  virtual bool ack_token_valid(std::uint64_t id, const std::string& token) const = 0;

  virtual std::vector<v1::Silence> list_silences(bool include_expired) const = 0;
  virtual Status create_silence(const v1::Silence& silence, const WriteContext& who, AlertChanges& changes,
                                v1::Silence* out) = 0;
  virtual Status expire_silence(const std::string& id, const WriteContext& who, AlertChanges& changes,
                                v1::Silence* out) = 0;

  // kind: "tenant", "service" or "route".
  virtual std::vector<std::string> rules_naming(const std::string& kind, const std::string& name) const = 0;
  virtual void cascade(const std::string& kind, const std::string& name, const WriteContext& who,
                       AlertChanges& changes) = 0;
};

// The Book behind the interface (server/book_access.cpp); `book` outlives it.
std::unique_ptr<AlertAccess> book_access(alerts::Book& book);

}  // namespace tg::control
