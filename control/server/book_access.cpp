// AlertAccess over the alerting Book: every call forwarded as it is.
#include "alerts/book.hpp"
#include "server/alert_access.hpp"

namespace tg::control {
namespace {

class BookAccess final : public AlertAccess {
 public:
  explicit BookAccess(alerts::Book& book) : book_(book) {}

  std::vector<v1::AlertRule> list_rules(const std::string& tenant) const override { return book_.list_rules(tenant); }
  const v1::AlertRule* find_rule(const std::string& name) const override { return book_.find_rule(name); }
  Status create_rule(const v1::AlertRule& rule, const WriteContext& who, AlertChanges& changes,
                     v1::AlertRule* out) override {
    return book_.create_rule(rule, who, changes, out);
  }
  Status update_rule(const v1::AlertRule& rule, bool take_ownership, const WriteContext& who, AlertChanges& changes,
                     v1::AlertRule* out) override {
    return book_.update_rule(rule, take_ownership, who, changes, out);
  }
  Status delete_rule(const std::string& name, bool take_ownership, const WriteContext& who,
                     AlertChanges& changes) override {
    return book_.delete_rule(name, take_ownership, who, changes);
  }

  std::vector<v1::Notifier> list_notifiers() const override { return book_.list_notifiers(); }
  const v1::Notifier* find_notifier(const std::string& name) const override { return book_.find_notifier(name); }
  Status create_notifier(const v1::Notifier& notifier, const WriteContext& who, AlertChanges& changes,
                         v1::Notifier* out) override {
    return book_.create_notifier(notifier, who, changes, out);
  }
  Status update_notifier(const v1::Notifier& notifier, bool take_ownership, const WriteContext& who,
                         AlertChanges& changes, v1::Notifier* out) override {
    return book_.update_notifier(notifier, take_ownership, who, changes, out);
  }
  Status delete_notifier(const std::string& name, bool take_ownership, const WriteContext& who,
                         AlertChanges& changes) override {
    return book_.delete_notifier(name, take_ownership, who, changes);
  }

  const v1::Alert* find_open(std::uint64_t id) const override { return book_.find_open(id); }
  Status ack(std::uint64_t id, const std::string& comment, const WriteContext& who, AlertChanges& changes,
             v1::Alert* out) override {
    return book_.ack(id, comment, who, changes, out);
  }
  Status unack(std::uint64_t id, const WriteContext& who, AlertChanges& changes, v1::Alert* out) override {
    return book_.unack(id, who, changes, out);
  }
  Status resolve(std::uint64_t id, const std::string& reason, const WriteContext& who, AlertChanges& changes,
                 v1::Alert* out) override {
    return book_.resolve(id, reason, who, changes, out);
  }
  bool ack_token_valid(std::uint64_t id, const std::string& token) const override {
    return book_.ack_token_valid(id, token);
  }

  std::vector<v1::Silence> list_silences(bool include_expired) const override {
    return book_.list_silences(include_expired);
  }
  Status create_silence(const v1::Silence& silence, const WriteContext& who, AlertChanges& changes,
                        v1::Silence* out) override {
    return book_.create_silence(silence, who, changes, out);
  }
  Status expire_silence(const std::string& id, const WriteContext& who, AlertChanges& changes,
                        v1::Silence* out) override {
    return book_.expire_silence(id, who, changes, out);
  }

  std::vector<std::string> rules_naming(const std::string& kind, const std::string& name) const override {
    return book_.rules_naming(kind, name);
  }
  void cascade(const std::string& kind, const std::string& name, const WriteContext& who,
               AlertChanges& changes) override {
    book_.cascade(kind, name, who, changes);
  }

 private:
  alerts::Book& book_;
};

}  // namespace

std::unique_ptr<AlertAccess> book_access(alerts::Book& book) { return std::make_unique<BookAccess>(book); }

}  // namespace tg::control
