// The Admin service's alerting calls (admin.proto; docs/alerting.md) and the
// cascade of registry deletes into alert rules.
//
// Rules, notifiers, silences and the open alert episodes live in the Book on
// the owner loop: reads answer from it at once, writes change it, fill the
// batch's AlertChanges and an audit row, and are answered after COMMIT, like
// registry writes. Alert episodes are listed and read from the store on the
// writer thread (it holds every episode, resolved ones included, with their
// transitions and deliveries), then each one still open is replaced by the
// Book's copy on the owner loop: the Book is ahead of the store between an
// evaluation and its commit, and carries what is current (value, ack,
// silences). List and get therefore agree on every field they both show.
#include "server/admin_call.hpp"
#include "server/admin_service.hpp"

#include "registry/json.hpp"

#include <algorithm>
#include <memory>

namespace tg::control {
namespace {

using namespace admin_call;
namespace v1 = ::tenantgate::v1;

constexpr std::uint32_t default_alert_limit = 100;
constexpr std::uint32_t max_alert_limit = 1000;

Status no_alerts() { return Status{Code::unimplemented, "this server keeps no alerts"}; }

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// An audit row of an alerting change: kinds "alert_rule", "notifier",
// "silence" and "alert" (ack, unack, resolve), before/after as JSON.
void audit(CommitBatch& batch, const WriteContext& who, std::int64_t now, const char* kind, std::string name,
           const google::protobuf::Message* before, const google::protobuf::Message* after) {
  AuditRecord record{now, who.actor, who.method, kind, std::move(name), {}, {}};
  if (before != nullptr) record.before_json = to_json(*before);
  if (after != nullptr) record.after_json = to_json(*after);
  batch.audit.push_back(std::move(record));
}

// What an alert looks like in the audit log: the episode without its
// (possibly long) transitions and deliveries.
v1::Alert audit_view(const v1::Alert& alert) {
  v1::Alert copy = alert;
  copy.clear_transitions();
  copy.clear_deliveries();
  return copy;
}

// Replaces the stored copy of an open episode by the Book's, keeping what
// only the store has (transitions, deliveries).
void overlay_open(const AlertAccess& book, v1::Alert& alert) {
  const v1::Alert* open = book.find_open(alert.id());
  if (open == nullptr) return;
  auto transitions = std::move(*alert.mutable_transitions());
  auto deliveries = std::move(*alert.mutable_deliveries());
  alert = *open;
  *alert.mutable_transitions() = std::move(transitions);
  *alert.mutable_deliveries() = std::move(deliveries);
}

bool matches(const v1::ListAlertsRequest& request, const v1::Alert& alert) {
  return (request.state() == v1::Alert::STATE_UNSPECIFIED || alert.state() == request.state()) &&
         (request.tenant().empty() || alert.tenant() == request.tenant()) &&
         (request.rule().empty() || alert.rule() == request.rule());
}

}  // namespace

template <class Op>
grpc::ServerUnaryReactor* AdminService::alert_read(grpc::CallbackServerContext* context, const char* method, Op op) {
  Started started = begin(core_, tokens_, context, method, Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, op] {
    if (book_ == nullptr) {
      call.finish(no_alerts());
      return;
    }
    Status status;
    try {
      status = op(static_cast<const AlertAccess&>(*book_));
    } catch (const std::exception& e) {
      status = Status::internal(e.what());
    }
    call.finish(status);
  });
  return call.reactor;
}

template <class Op>
grpc::ServerUnaryReactor* AdminService::alert_write(grpc::CallbackServerContext* context, const char* method,
                                                    Op op) {
  Started started = begin(core_, tokens_, context, method, Access::write);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, actor = std::move(started.principal->actor), op] {
    if (book_ == nullptr) {
      call.finish(no_alerts());
      return;
    }
    if (Status refused = core_.write_refusal(); !refused.ok()) {  // read-only mode
      call.finish(refused);
      return;
    }
    CommitBatch batch;
    Status status;
    try {
      status = op(*book_, WriteContext{actor, call.method}, core_.registry().clock().unix_ms(), batch);
    } catch (const std::exception& e) {
      status = Status::internal(e.what());
    }
    if (!status.ok()) {
      call.finish(status);
      return;
    }
    core_.commit(std::move(batch), [call](const Status& committed) { call.finish(committed); });
  });
  return call.reactor;
}

// ---- rules

grpc::ServerUnaryReactor* AdminService::ListAlertRules(grpc::CallbackServerContext* context,
                                                       const v1::ListAlertRulesRequest* request,
                                                       v1::ListAlertRulesResponse* response) {
  return alert_read(context, "ListAlertRules", [request, response](const AlertAccess& book) {
    for (v1::AlertRule& rule : book.list_rules(request->tenant())) *response->add_rules() = std::move(rule);
    return Status{};
  });
}

grpc::ServerUnaryReactor* AdminService::GetAlertRule(grpc::CallbackServerContext* context,
                                                     const v1::GetAlertRuleRequest* request,
                                                     v1::AlertRule* response) {
  return alert_read(context, "GetAlertRule", [request, response](const AlertAccess& book) {
    if (request->name().empty()) return Status::invalid("name", "required");
    const v1::AlertRule* rule = book.find_rule(request->name());
    if (rule == nullptr) return Status::not_found("alert rule " + quoted(request->name()) + " not found");
    *response = *rule;
    return Status{};
  });
}

grpc::ServerUnaryReactor* AdminService::CreateAlertRule(grpc::CallbackServerContext* context,
                                                        const v1::CreateAlertRuleRequest* request,
                                                        v1::AlertRule* response) {
  return alert_write(context, "CreateAlertRule",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (!request->has_rule()) return Status::invalid("rule", "required");
                       Status status = book.create_rule(request->rule(), who, batch.alerts, response);
                       if (status.ok()) audit(batch, who, now, "alert_rule", response->name(), nullptr, response);
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::UpdateAlertRule(grpc::CallbackServerContext* context,
                                                        const v1::UpdateAlertRuleRequest* request,
                                                        v1::AlertRule* response) {
  return alert_write(context, "UpdateAlertRule",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (!request->has_rule()) return Status::invalid("rule", "required");
                       if (request->rule().name().empty()) return Status::invalid("rule.name", "required");
                       std::optional<v1::AlertRule> before;
                       if (const v1::AlertRule* found = book.find_rule(request->rule().name())) before = *found;
                       Status status =
                           book.update_rule(request->rule(), request->take_ownership(), who, batch.alerts, response);
                       if (status.ok())
                         audit(batch, who, now, "alert_rule", response->name(), before ? &*before : nullptr, response);
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::DeleteAlertRule(grpc::CallbackServerContext* context,
                                                        const v1::DeleteAlertRuleRequest* request,
                                                        v1::DeleteResponse* response) {
  return alert_write(context, "DeleteAlertRule",
                     [this, request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                               CommitBatch& batch) {
                       if (request->name().empty()) return Status::invalid("name", "required");
                       std::optional<v1::AlertRule> before;
                       if (const v1::AlertRule* found = book.find_rule(request->name())) before = *found;
                       Status status = book.delete_rule(request->name(), request->take_ownership(), who, batch.alerts);
                       if (status.ok()) {
                         audit(batch, who, now, "alert_rule", request->name(), before ? &*before : nullptr, nullptr);
                         response->set_revision(core_.registry().revision());
                       }
                       return status;
                     });
}

// ---- notifiers

grpc::ServerUnaryReactor* AdminService::ListNotifiers(grpc::CallbackServerContext* context,
                                                      const v1::ListNotifiersRequest* /*request*/,
                                                      v1::ListNotifiersResponse* response) {
  return alert_read(context, "ListNotifiers", [response](const AlertAccess& book) {
    for (v1::Notifier& notifier : book.list_notifiers()) *response->add_notifiers() = std::move(notifier);
    return Status{};
  });
}

grpc::ServerUnaryReactor* AdminService::GetNotifier(grpc::CallbackServerContext* context,
                                                    const v1::GetNotifierRequest* request, v1::Notifier* response) {
  return alert_read(context, "GetNotifier", [request, response](const AlertAccess& book) {
    if (request->name().empty()) return Status::invalid("name", "required");
    const v1::Notifier* notifier = book.find_notifier(request->name());
    if (notifier == nullptr) return Status::not_found("notifier " + quoted(request->name()) + " not found");
    *response = *notifier;
    return Status{};
  });
}

grpc::ServerUnaryReactor* AdminService::CreateNotifier(grpc::CallbackServerContext* context,
                                                       const v1::CreateNotifierRequest* request,
                                                       v1::Notifier* response) {
  return alert_write(context, "CreateNotifier",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (!request->has_notifier()) return Status::invalid("notifier", "required");
                       Status status = book.create_notifier(request->notifier(), who, batch.alerts, response);
                       if (status.ok()) audit(batch, who, now, "notifier", response->name(), nullptr, response);
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::UpdateNotifier(grpc::CallbackServerContext* context,
                                                       const v1::UpdateNotifierRequest* request,
                                                       v1::Notifier* response) {
  return alert_write(context, "UpdateNotifier",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (!request->has_notifier()) return Status::invalid("notifier", "required");
                       if (request->notifier().name().empty()) return Status::invalid("notifier.name", "required");
                       std::optional<v1::Notifier> before;
                       if (const v1::Notifier* found = book.find_notifier(request->notifier().name())) before = *found;
                       Status status = book.update_notifier(request->notifier(), request->take_ownership(), who,
                                                            batch.alerts, response);
                       if (status.ok())
                         audit(batch, who, now, "notifier", response->name(), before ? &*before : nullptr, response);
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::DeleteNotifier(grpc::CallbackServerContext* context,
                                                       const v1::DeleteNotifierRequest* request,
                                                       v1::DeleteResponse* response) {
  return alert_write(context, "DeleteNotifier",
                     [this, request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                               CommitBatch& batch) {
                       if (request->name().empty()) return Status::invalid("name", "required");
                       std::optional<v1::Notifier> before;
                       if (const v1::Notifier* found = book.find_notifier(request->name())) before = *found;
                       Status status =
                           book.delete_notifier(request->name(), request->take_ownership(), who, batch.alerts);
                       if (status.ok()) {
                         audit(batch, who, now, "notifier", request->name(), before ? &*before : nullptr, nullptr);
                         response->set_revision(core_.registry().revision());
                       }
                       return status;
                     });
}

// ---- alert episodes

grpc::ServerUnaryReactor* AdminService::ListAlerts(grpc::CallbackServerContext* context,
                                                   const v1::ListAlertsRequest* request,
                                                   v1::ListAlertsResponse* response) {
  Started started = begin(core_, tokens_, context, "ListAlerts", Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  if (!v1::Alert::State_IsValid(request->state())) {
    call.finish(Status::invalid("state", "unknown state " + std::to_string(request->state())));
    return call.reactor;
  }
  if (request->limit() > max_alert_limit) {
    call.finish(Status::invalid("limit", "at most " + std::to_string(max_alert_limit)));
    return call.reactor;
  }
  if (book_ == nullptr) {  // set before the server starts: read-only here
    call.finish(no_alerts());
    return call.reactor;
  }
  AlertQuery query;
  query.state = request->state();
  query.tenant = request->tenant();
  query.rule = request->rule();
  query.limit = request->limit() == 0 ? default_alert_limit : request->limit();
  query.before_id = request->before_id();
  const bool posted = core_.post_store_call([this, call, query, request, response](Store& store) {
    auto rows = std::make_shared<std::vector<std::string>>();
    try {
      *rows = store.list_alerts(query);
    } catch (const std::exception& e) {
      call.finish(Status::internal(std::string("reading the alerts: ") + e.what()));
      return;
    }
    // The open ones get the Book's current copy, on the owner loop.
    post(core_, call, [this, call, rows, request, response] {
      for (const std::string& row : *rows) {
        v1::Alert alert;
        if (!alert.ParseFromString(row)) {
          call.finish(Status::internal("reading the alerts: a stored episode does not parse"));
          return;
        }
        overlay_open(*book_, alert);
        // The Book may be ahead of the store (an episode that fired since
        // its last commit): filter again on what is shown.
        if (matches(*request, alert)) *response->add_alerts() = std::move(alert);
      }
      call.finish(Status{});
    });
  });
  if (!posted) call.finish(too_many_pending(core_));
  return call.reactor;
}

grpc::ServerUnaryReactor* AdminService::GetAlert(grpc::CallbackServerContext* context,
                                                 const v1::GetAlertRequest* request, v1::Alert* response) {
  Started started = begin(core_, tokens_, context, "GetAlert", Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  if (request->id() == 0) {
    call.finish(Status::invalid("id", "required"));
    return call.reactor;
  }
  if (book_ == nullptr) {
    call.finish(no_alerts());
    return call.reactor;
  }
  const std::uint64_t id = request->id();
  const bool posted = core_.post_store_call([this, call, id, response](Store& store) {
    auto row = std::make_shared<std::optional<std::string>>();
    try {
      *row = store.get_alert(id);
    } catch (const std::exception& e) {
      call.finish(Status::internal(std::string("reading the alert: ") + e.what()));
      return;
    }
    post(core_, call, [this, call, id, row, response] {
      if (row->has_value()) {
        if (!response->ParseFromString(**row)) {
          call.finish(Status::internal("reading the alert: the stored episode does not parse"));
          return;
        }
        overlay_open(*book_, *response);
      } else if (const v1::Alert* open = book_->find_open(id)) {
        *response = *open;  // opened by an evaluation whose commit is under way
      } else {
        call.finish(Status::not_found("alert " + std::to_string(id) + " not found"));
        return;
      }
      call.finish(Status{});
    });
  });
  if (!posted) call.finish(too_many_pending(core_));
  return call.reactor;
}

grpc::ServerUnaryReactor* AdminService::AckAlert(grpc::CallbackServerContext* context,
                                                 const v1::AckAlertRequest* request, v1::Alert* response) {
  return alert_write(context, "AckAlert",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (request->id() == 0) return Status::invalid("id", "required");
                       std::optional<v1::Alert> before;
                       if (const v1::Alert* open = book.find_open(request->id())) before = audit_view(*open);
                       Status status = book.ack(request->id(), request->comment(), who, batch.alerts, response);
                       if (status.ok()) {
                         const v1::Alert after = audit_view(*response);
                         audit(batch, who, now, "alert", std::to_string(request->id()), before ? &*before : nullptr,
                               &after);
                       }
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::UnackAlert(grpc::CallbackServerContext* context,
                                                   const v1::UnackAlertRequest* request, v1::Alert* response) {
  return alert_write(context, "UnackAlert",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (request->id() == 0) return Status::invalid("id", "required");
                       std::optional<v1::Alert> before;
                       if (const v1::Alert* open = book.find_open(request->id())) before = audit_view(*open);
                       Status status = book.unack(request->id(), who, batch.alerts, response);
                       if (status.ok()) {
                         const v1::Alert after = audit_view(*response);
                         audit(batch, who, now, "alert", std::to_string(request->id()), before ? &*before : nullptr,
                               &after);
                       }
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::ResolveAlert(grpc::CallbackServerContext* context,
                                                     const v1::ResolveAlertRequest* request, v1::Alert* response) {
  return alert_write(context, "ResolveAlert",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (request->id() == 0) return Status::invalid("id", "required");
                       if (request->reason().find_first_not_of(" \t\r\n") == std::string::npos)
                         return Status::invalid("reason", "required: say why it is resolved by hand");
                       std::optional<v1::Alert> before;
                       if (const v1::Alert* open = book.find_open(request->id())) before = audit_view(*open);
                       Status status = book.resolve(request->id(), request->reason(), who, batch.alerts, response);
                       if (status.ok()) {
                         const v1::Alert after = audit_view(*response);
                         audit(batch, who, now, "alert", std::to_string(request->id()), before ? &*before : nullptr,
                               &after);
                       }
                       return status;
                     });
}

// ---- silences

grpc::ServerUnaryReactor* AdminService::CreateSilence(grpc::CallbackServerContext* context,
                                                      const v1::CreateSilenceRequest* request,
                                                      v1::Silence* response) {
  return alert_write(context, "CreateSilence",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (!request->has_silence()) return Status::invalid("silence", "required");
                       Status status = book.create_silence(request->silence(), who, batch.alerts, response);
                       if (status.ok()) audit(batch, who, now, "silence", response->id(), nullptr, response);
                       return status;
                     });
}

grpc::ServerUnaryReactor* AdminService::ListSilences(grpc::CallbackServerContext* context,
                                                     const v1::ListSilencesRequest* request,
                                                     v1::ListSilencesResponse* response) {
  return alert_read(context, "ListSilences", [request, response](const AlertAccess& book) {
    for (v1::Silence& silence : book.list_silences(request->include_expired()))
      *response->add_silences() = std::move(silence);
    return Status{};
  });
}

grpc::ServerUnaryReactor* AdminService::ExpireSilence(grpc::CallbackServerContext* context,
                                                      const v1::ExpireSilenceRequest* request,
                                                      v1::Silence* response) {
  return alert_write(context, "ExpireSilence",
                     [request, response](AlertAccess& book, const WriteContext& who, std::int64_t now,
                                         CommitBatch& batch) {
                       if (request->id().empty()) return Status::invalid("id", "required");
                       std::optional<v1::Silence> before;
                       for (const v1::Silence& silence : book.list_silences(true))
                         if (silence.id() == request->id()) before = silence;
                       Status status = book.expire_silence(request->id(), who, batch.alerts, response);
                       if (status.ok())
                         audit(batch, who, now, "silence", request->id(), before ? &*before : nullptr, response);
                       return status;
                     });
}

// ---- cascade of registry deletes

template <class Request>
grpc::ServerUnaryReactor* AdminService::delete_with_cascade(grpc::CallbackServerContext* context,
                                                            const char* method, const Request* request,
                                                            v1::DeleteResponse* response,
                                                            WriteOp<Request, v1::DeleteResponse> op, const char* kind,
                                                            const std::string& name, bool cascade) {
  Started started = begin(core_, tokens_, context, method, Access::write);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, actor = std::move(started.principal->actor), request, response, op, kind, name,
                     cascade] {
    if (Status refused = core_.write_refusal(); !refused.ok()) {
      call.finish(refused);
      return;
    }
    const WriteContext who{actor, call.method};
    CommitBatch batch;
    Status status;
    try {
      // Asked before the registry changes: a refusal must leave it as it was.
      // An object that does not exist is the registry's NOT_FOUND, whatever
      // rules name it.
      const Registry& registry = core_.registry();
      const std::string_view k(kind);
      const bool exists = k == "tenant"    ? registry.tenants().contains(name)
                          : k == "service" ? registry.services().contains(name)
                                           : registry.routes().contains(name);
      std::vector<std::string> naming;
      if (book_ != nullptr && exists) naming = book_->rules_naming(kind, name);
      if (!naming.empty() && !cascade) {
        std::string list;
        for (const std::string& rule : naming) list += (list.empty() ? "" : ", ") + quoted(rule);
        status = Status::precondition(std::string(kind) + " " + quoted(name) + " is named by the scope of alert rule" +
                                      (naming.size() == 1 ? " " : "s ") + list +
                                      "; delete or change them first, or delete with cascade (tgctl --cascade) "
                                      "to disable them and resolve their alerts");
      } else {
        status = (core_.registry().*op)(*request, who, response, &batch);
        if (status.ok() && !naming.empty()) {
          std::vector<v1::AlertRule> before;
          for (const std::string& rule : naming)
            if (const v1::AlertRule* found = book_->find_rule(rule)) before.push_back(*found);
          book_->cascade(kind, name, who, batch.alerts);
          // Each rule disabled gets its audit row beside the delete's.
          const std::int64_t now = core_.registry().clock().unix_ms();
          for (const v1::AlertRule& rule : before)
            audit(batch, who, now, "alert_rule", rule.name(), &rule, book_->find_rule(rule.name()));
        }
      }
    } catch (const std::exception& e) {
      status = Status::internal(e.what());
    }
    if (!status.ok()) {
      call.finish(status);
      return;
    }
    core_.commit(std::move(batch), [call](const Status& committed) { call.finish(committed); });
  });
  return call.reactor;
}

grpc::ServerUnaryReactor* AdminService::DeleteTenant(grpc::CallbackServerContext* context,
                                                     const v1::DeleteTenantRequest* request,
                                                     v1::DeleteResponse* response) {
  return delete_with_cascade(context, "DeleteTenant", request, response, &Registry::delete_tenant, "tenant",
                             request->id(), request->cascade());
}

grpc::ServerUnaryReactor* AdminService::DeleteService(grpc::CallbackServerContext* context,
                                                      const v1::DeleteServiceRequest* request,
                                                      v1::DeleteResponse* response) {
  return delete_with_cascade(context, "DeleteService", request, response, &Registry::delete_service, "service",
                             request->name(), request->cascade());
}

grpc::ServerUnaryReactor* AdminService::DeleteRoute(grpc::CallbackServerContext* context,
                                                    const v1::DeleteRouteRequest* request,
                                                    v1::DeleteResponse* response) {
  return delete_with_cascade(context, "DeleteRoute", request, response, &Registry::delete_route, "route",
                             request->name(), request->cascade());
}

std::vector<std::pair<std::string, std::string>> AdminService::rules_named_by_deletes(
    const std::vector<v1::Change>& changes) const {
  std::vector<std::pair<std::string, std::string>> named;
  if (book_ == nullptr) return named;
  for (const v1::Change& change : changes) {
    if (change.action() != v1::Change::ACTION_DELETE) continue;
    if (change.kind() != "tenant" && change.kind() != "service" && change.kind() != "route") continue;
    if (!book_->rules_naming(change.kind(), change.name()).empty()) named.emplace_back(change.kind(), change.name());
  }
  return named;
}

Status AdminService::apply_cascade_refusal(const std::vector<std::pair<std::string, std::string>>& objects) const {
  std::string text;
  for (const auto& [kind, name] : objects) {
    std::string rules;
    for (const std::string& rule : book_->rules_naming(kind, name)) rules += (rules.empty() ? "" : ", ") + quoted(rule);
    text += (text.empty() ? "" : "; ") + kind + " " + quoted(name) + " (alert rules " + rules + ")";
  }
  return Status::precondition("this apply deletes objects alert rules name: " + text +
                              "; change or delete those rules first, or delete the objects on purpose with cascade "
                              "(tgctl tenants|services|routes delete --cascade disables the rules and resolves "
                              "their alerts), then apply again");
}

}  // namespace tg::control
