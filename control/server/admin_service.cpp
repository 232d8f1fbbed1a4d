#include "server/admin_service.hpp"

#include "ingest/status_series.hpp"
#include "server/admin_call.hpp"
#include "server/grpc_acceptor.hpp"

#include "config/loader.hpp"
#include "telemetry/queries.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

using namespace admin_call;

}  // namespace

template <class Request, class Response>
grpc::ServerUnaryReactor* AdminService::read(grpc::CallbackServerContext* context, const char* method,
                                             const Request* request, Response* response,
                                             ReadOp<Request, Response> op) {
  Started started = begin(core_, tokens_, context, method, Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, request, response, op] {
    Status status;
    try {
      status = (core_.registry().*op)(*request, response);
    } catch (const std::exception& e) {
      status = Status::internal(e.what());
    }
    call.finish(status);
  });
  return call.reactor;
}

template <class Request, class Response>
grpc::ServerUnaryReactor* AdminService::write(grpc::CallbackServerContext* context, const char* method,
                                              const Request* request, Response* response,
                                              WriteOp<Request, Response> op, Access access) {
  Started started = begin(core_, tokens_, context, method, access);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, actor = std::move(started.principal->actor), request, response, op] {
    // Read-only mode (the database is full): refused before the registry
    // changes. Heartbeats go on: a plain one stores nothing; one that changes
    // health is refused by Core::commit, which then reloads the registry.
    if (Status refused = core_.write_refusal(); !refused.ok() && std::string_view(call.method) != "Heartbeat") {
      call.finish(refused);
      return;
    }
    CommitBatch batch;
    Status status;
    try {
      status = (core_.registry().*op)(*request, WriteContext{actor, call.method}, response, &batch);
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

#define TG_READ(Name, Request, Response, op)                                                           \
  grpc::ServerUnaryReactor* AdminService::Name(grpc::CallbackServerContext* context,                 \
                                               const tenantgate::v1::Request* request,               \
                                               tenantgate::v1::Response* response) {                 \
    return read(context, #Name, request, response, &Registry::op);                                  \
  }
#define TG_WRITE(Name, Request, Response, op)                                                          \
  grpc::ServerUnaryReactor* AdminService::Name(grpc::CallbackServerContext* context,                 \
                                               const tenantgate::v1::Request* request,               \
                                               tenantgate::v1::Response* response) {                 \
    return write(context, #Name, request, response, &Registry::op, Access::write);                  \
  }

TG_READ(ListTenants, ListTenantsRequest, ListTenantsResponse, list_tenants)
TG_READ(GetTenant, GetTenantRequest, Tenant, get_tenant)
TG_WRITE(CreateTenant, CreateTenantRequest, Tenant, create_tenant)
TG_WRITE(UpdateTenant, UpdateTenantRequest, Tenant, update_tenant)
TG_WRITE(PatchTenant, PatchTenantRequest, Tenant, patch_tenant)
// DeleteTenant: admin_alerts.cpp (cascade into alert rules)
TG_WRITE(CreateCredential, CreateCredentialRequest, CreateCredentialResponse, create_credential)
TG_READ(ListCredentials, ListCredentialsRequest, ListCredentialsResponse, list_credentials)
TG_WRITE(DeleteCredential, DeleteCredentialRequest, DeleteResponse, delete_credential)
TG_READ(ListServices, ListServicesRequest, ListServicesResponse, list_services)
TG_READ(GetService, GetServiceRequest, Service, get_service)
TG_WRITE(CreateService, CreateServiceRequest, Service, create_service)
TG_WRITE(UpdateService, UpdateServiceRequest, Service, update_service)
TG_WRITE(PatchService, PatchServiceRequest, Service, patch_service)
// DeleteService: admin_alerts.cpp (cascade into alert rules)
TG_WRITE(RegisterInstance, RegisterInstanceRequest, Instance, register_instance)
TG_WRITE(DeregisterInstance, DeregisterInstanceRequest, DeleteResponse, deregister_instance)
TG_WRITE(Heartbeat, HeartbeatRequest, HeartbeatResponse, heartbeat)
TG_READ(DiscoverInstances, DiscoverInstancesRequest, DiscoverInstancesResponse, discover_instances)
TG_WRITE(SetInstanceState, SetInstanceStateRequest, Instance, set_instance_state)
TG_WRITE(PatchInstance, PatchInstanceRequest, Instance, patch_instance)
TG_READ(ListInstances, ListInstancesRequest, ListInstancesResponse, list_instances)
TG_READ(ListRoutes, ListRoutesRequest, ListRoutesResponse, list_routes)
TG_READ(GetRoute, GetRouteRequest, Route, get_route)
TG_WRITE(CreateRoute, CreateRouteRequest, Route, create_route)
TG_WRITE(UpdateRoute, UpdateRouteRequest, Route, update_route)
TG_WRITE(PatchRoute, PatchRouteRequest, Route, patch_route)
// DeleteRoute: admin_alerts.cpp (cascade into alert rules)

#undef TG_READ
#undef TG_WRITE

AdminService::~AdminService() { apply_thread_.join(); }

struct AdminService::ApplyJob {
  Call call;
  std::string actor;
  const tenantgate::v1::ApplyRequest* request;
  tenantgate::v1::ApplyResponse* response;
  config::LoadResult parsed;
  int attempts = 0;
  std::atomic<std::size_t>* queued;

  void finish(const Status& status) {
    queued->fetch_sub(1, std::memory_order_relaxed);
    call.finish(status);
  }
};

// A dry run commits nothing: a read, allowed to viewers.
grpc::ServerUnaryReactor* AdminService::Apply(grpc::CallbackServerContext* context,
                                              const tenantgate::v1::ApplyRequest* request,
                                              tenantgate::v1::ApplyResponse* response) {
  Started started = begin(core_, tokens_, context, "Apply", request->dry_run() ? Access::read : Access::write);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  // The size cap, here on the gRPC thread: an oversized document is never queued.
  if (request->yaml().size() > Registry::max_apply_bytes) {
    core_.limits().apply_too_large.fetch_add(1, std::memory_order_relaxed);
    config::LoadResult unused;
    call.finish(Registry::parse_apply(*request, &unused));
    return call.reactor;
  }
  if (queued_applies_.fetch_add(1, std::memory_order_relaxed) >= max_queued_applies) {
    queued_applies_.fetch_sub(1, std::memory_order_relaxed);
    core_.limits().pending_refused.fetch_add(1, std::memory_order_relaxed);
    call.finish(Status{Code::resource_exhausted,
                       std::to_string(max_queued_applies) + " applies are queued already; retry later"});
    return call.reactor;
  }
  auto job = std::make_shared<ApplyJob>(
      ApplyJob{call, std::move(started.principal->actor), request, response, {}, 0, &queued_applies_});
  asio::post(apply_thread_, [this, job] { apply_parse(job); });
  return call.reactor;
}

void AdminService::apply_parse(std::shared_ptr<ApplyJob> job) {
  Status status;
  try {
    status = Registry::parse_apply(*job->request, &job->parsed);
  } catch (const std::exception& e) {
    status = Status::internal(e.what());
  }
  if (!status.ok()) {
    job->finish(status);
    return;
  }
  apply_snapshot(std::move(job));
}

std::shared_ptr<Registry> AdminService::registry_copy() {
  std::shared_ptr<Registry> copy = copy_.lock();
  if (copy && copy->serial() == core_.registry().serial()) return copy;
  copy = std::make_shared<Registry>(core_.registry());
  copy_ = copy;
  return copy;
}

void AdminService::apply_snapshot(std::shared_ptr<ApplyJob> job) {
  ++job->attempts;
  const bool posted = core_.post_call([this, job] {
    if (!job->request->dry_run()) {
      if (Status refused = core_.write_refusal(); !refused.ok()) {  // read-only mode
        job->finish(refused);
        return;
      }
    }
    std::shared_ptr<Registry> copy = registry_copy();
    asio::post(apply_thread_, [this, job, copy = std::move(copy)] { apply_stage(job, copy); });
  });
  if (!posted) job->finish(too_many_pending(core_));
}

void AdminService::apply_stage(std::shared_ptr<ApplyJob> job, std::shared_ptr<Registry> copy) {
  std::vector<tenantgate::v1::Change> changes;
  std::unique_ptr<Transaction> staged;
  Status status;
  try {
    status = copy->stage_apply(*job->request, *job->parsed.config, WriteContext{job->actor, job->call.method},
                               &changes, &staged);
  } catch (const std::exception& e) {
    status = Status::internal(e.what());
  }
  if (!status.ok()) {
    job->finish(status);
    return;
  }
  if (job->request->dry_run()) {
    for (auto& change : changes) *job->response->add_changes() = std::move(change);
    job->response->set_committed(false);
    job->response->set_revision(copy->revision());
    job->finish(Status{});
    return;
  }
  const std::uint64_t serial = copy->serial();
  apply_commit(std::move(job), serial, std::move(staged), std::move(changes));
}

void AdminService::apply_commit(std::shared_ptr<ApplyJob> job, std::uint64_t serial,
                                std::unique_ptr<Transaction> staged, std::vector<tenantgate::v1::Change> changes) {
  auto state = std::make_shared<std::pair<std::unique_ptr<Transaction>, std::vector<tenantgate::v1::Change>>>(
      std::move(staged), std::move(changes));
  const bool posted = core_.post_call([this, job, serial, state] {
    Registry& registry = core_.registry();
    if (registry.serial() != serial) {
      // Changed while the apply was computed: compute it again on a new copy.
      if (job->attempts < apply_attempts) {
        apply_snapshot(job);
        return;
      }
      core_.limits().apply_aborted.fetch_add(1, std::memory_order_relaxed);
      job->finish(Status{Code::aborted, "the registry changed while this apply was computed, " +
                                            std::to_string(apply_attempts) + " times; retry"});
      return;
    }
    if (Status refused = core_.write_refusal(); !refused.ok()) {
      job->finish(refused);
      return;
    }
    // An apply never deletes what alert rules name (before the registry
    // changes): a delete with cascade (DeleteTenant...) does that on purpose.
    if (const auto named = rules_named_by_deletes(state->second); !named.empty()) {
      job->finish(apply_cascade_refusal(named));
      return;
    }
    CommitBatch batch;
    try {
      if (state->first) {
        state->first->rebase(registry);
        batch = state->first->commit();
      }
    } catch (const std::exception& e) {
      job->finish(Status::internal(e.what()));
      return;
    }
    for (auto& change : state->second) *job->response->add_changes() = std::move(change);
    job->response->set_committed(true);
    job->response->set_revision(registry.revision());
    core_.commit(std::move(batch), [job](const Status& committed) { job->finish(committed); });
  });
  if (!posted) job->finish(too_many_pending(core_));
}

grpc::ServerUnaryReactor* AdminService::ListAudit(grpc::CallbackServerContext* context,
                                                  const tenantgate::v1::ListAuditRequest* request,
                                                  tenantgate::v1::ListAuditResponse* response) {
  Started started = begin(core_, tokens_, context, "ListAudit", Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  AuditQuery query;
  query.actor = request->actor();
  query.kind = request->kind();
  query.name = request->name();
  query.method = request->method();
  query.since_unix_ms = request->since_unix_ms();
  query.until_unix_ms = request->until_unix_ms();
  query.limit = request->limit() == 0 ? 100 : std::min<std::uint32_t>(request->limit(), 1000);
  query.before_id = request->before_id();
  const bool posted = core_.post_store_call([call, query, response](Store& store) {
    Status status;
    try {
      for (AuditRow& row : store.list_audit(query)) {
        auto* entry = response->add_entries();
        entry->set_id(row.id);
        entry->set_time_unix_ms(row.record.time_unix_ms);
        entry->set_actor(std::move(row.record.actor));
        entry->set_method(std::move(row.record.method));
        entry->set_kind(std::move(row.record.kind));
        entry->set_name(std::move(row.record.name));
        entry->set_before_json(std::move(row.record.before_json));
        entry->set_after_json(std::move(row.record.after_json));
      }
    } catch (const std::exception& e) {
      status = Status::internal(std::string("reading the audit log: ") + e.what());
    }
    call.finish(status);
  });
  if (!posted) call.finish(too_many_pending(core_));
  return call.reactor;
}

grpc::ServerUnaryReactor* AdminService::ListEvents(grpc::CallbackServerContext* context,
                                                   const tenantgate::v1::ListEventsRequest* request,
                                                   tenantgate::v1::ListEventsResponse* response) {
  Started started = begin(core_, tokens_, context, "ListEvents", Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  EventQuery query;
  query.tenant = request->tenant();
  query.service = request->service();
  query.instance = request->instance();
  query.kind = request->kind();
  query.since_unix_ms = request->since_unix_ms();
  query.limit = request->limit() == 0 ? 100 : std::min<std::uint32_t>(request->limit(), 1000);
  query.before_last_seen_unix_ms = request->before_last_seen_unix_ms();
  query.before_id = request->before_id();
  query.min_level = request->level();
  query.occurrences = request->occurrences();
  if (!query.min_level.empty() && event_level_rank(query.min_level) < 0) {
    call.finish(Status::invalid("level", "\"" + query.min_level + "\": must be debug, info, warning, error or critical"));
    return call.reactor;
  }
  if (query.since_unix_ms < 0 || query.before_last_seen_unix_ms < 0) {
    call.finish(Status::invalid(query.since_unix_ms < 0 ? "since_unix_ms" : "before_last_seen_unix_ms",
                                "must not be negative"));
    return call.reactor;
  }
  const bool posted = core_.post_store_call([call, query, response](Store& store) {
    Status status;
    try {
      for (EventRow& row : store.list_events(query)) {
        auto* event = response->add_events();
        event->set_id(row.id);
        event->set_group_id(row.group_id);
        event->set_tenant(std::move(row.record.tenant));
        event->set_service(std::move(row.record.service));
        event->set_instance(std::move(row.record.instance));
        event->set_route(std::move(row.record.route));
        event->set_source(std::move(row.record.source));
        event->set_kind(std::move(row.record.kind));
        event->set_level(std::move(row.record.level));
        event->set_fingerprint(std::move(row.record.fingerprint));
        event->set_message(std::move(row.record.message));
        event->set_detail_json(std::move(row.record.detail_json));
        event->set_count(row.count);
        event->set_first_seen_unix_ms(row.first_seen_unix_ms);
        event->set_last_seen_unix_ms(row.last_seen_unix_ms);
      }
    } catch (const std::exception& e) {
      status = Status::internal(std::string("reading the events: ") + e.what());
    }
    call.finish(status);
  });
  if (!posted) call.finish(too_many_pending(core_));
  return call.reactor;
}

// A read of the table stream's state on the owner loop.
template <class Response, class Read>
grpc::ServerUnaryReactor* AdminService::read_hub(grpc::CallbackServerContext* context, const char* method,
                                                 Response* response, Read read) {
  Started started = begin(core_, tokens_, context, method, Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, response, read] {
    if (hub_ == nullptr) {
      call.finish(Status{Code::unimplemented, "this server has no table stream"});
      return;
    }
    read(*hub_, response);
    call.finish(Status{});
  });
  return call.reactor;
}

grpc::ServerUnaryReactor* AdminService::ListProxies(grpc::CallbackServerContext* context,
                                                    const tenantgate::v1::ListProxiesRequest* request,
                                                    tenantgate::v1::ListProxiesResponse* response) {
  return read_hub(context, "ListProxies", response,
                  [all = request->all()](const TableHub& hub, tenantgate::v1::ListProxiesResponse* out) {
                    hub.list_proxies(out, all);
                  });
}

grpc::ServerUnaryReactor* AdminService::GetRegistry(grpc::CallbackServerContext* context,
                                                    const tenantgate::v1::GetRegistryRequest* /*request*/,
                                                    tenantgate::v1::RegistryInfo* response) {
  return read_hub(context, "GetRegistry", response,
                  [](const TableHub& hub, tenantgate::v1::RegistryInfo* out) { hub.registry_info(out); });
}

grpc::ServerUnaryReactor* AdminService::AdoptRegistry(grpc::CallbackServerContext* context,
                                                      const tenantgate::v1::AdoptRegistryRequest* request,
                                                      tenantgate::v1::RegistryInfo* response) {
  Started started = begin(core_, tokens_, context, "AdoptRegistry", Access::write);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, request, response, actor = started.principal->actor] {
    if (hub_ == nullptr) {
      call.finish(Status{Code::unimplemented, "this server has no table stream"});
      return;
    }
    if (Status refused = core_.write_refusal(); !refused.ok()) {  // read-only mode
      call.finish(refused);
      return;
    }
    hub_->adopt(request->registry_id(), actor, [this, call, response](const Status& status) {
      if (status.ok()) hub_->registry_info(response);
      call.finish(status);
    });
  });
  return call.reactor;
}

}  // namespace tg::control

namespace tg::control {

grpc::ServerUnaryReactor* AdminService::Top(grpc::CallbackServerContext* context,
                                            const tenantgate::v1::TopRequest* request,
                                            tenantgate::v1::TopResponse* response) {
  Started started = begin(core_, tokens_, context, "Top", Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, request, response] {
    if (telemetry_ == nullptr) {
      call.finish(Status{Code::unimplemented, "this server keeps no telemetry"});
      return;
    }
    Status status;
    try {
      status = telemetry::top(telemetry_->window(), *request, core_.registry().clock().unix_ms(), response);
    } catch (const std::exception& e) {
      status = Status::internal(e.what());
    }
    call.finish(status);
  });
  return call.reactor;
}

grpc::ServerUnaryReactor* AdminService::Series(grpc::CallbackServerContext* context,
                                               const tenantgate::v1::SeriesRequest* request,
                                               tenantgate::v1::SeriesResponse* response) {
  Started started = begin(core_, tokens_, context, "Series", Access::read);
  const Call call = started.call;
  if (!started.principal) return call.reactor;
  post(core_, call, [this, call, request, response] {
    if (telemetry_ == nullptr) {
      call.finish(Status{Code::unimplemented, "this server keeps no telemetry"});
      return;
    }
    const std::int64_t now = core_.registry().clock().unix_ms();
    if (ingest::is_status_metric(request->metric())) {
      // The containers' status metrics (cpu, memory_bytes, restarts, load)
      // come from their status samples in SQLite, read on the writer thread.
      if (request->tenant().empty() && request->service().empty() && request->instance().empty()) {
        call.finish(Status::invalid("service", "a scope is required: service or instance (tenant filters)"));
        return;
      }
      if (request->step_ms() % 10'000 != 0) {
        call.finish(Status::invalid("step_ms", "must be a multiple of 10000"));
        return;
      }
      const std::int64_t since = request->since_unix_ms() ? request->since_unix_ms() : now - 3'600'000;
      const std::int64_t until = request->until_unix_ms() ? request->until_unix_ms() : now;
      const std::int64_t step = request->step_ms() ? static_cast<std::int64_t>(request->step_ms()) : 60'000;
      if (until <= since || (until - since) / step > 10'000) {
        call.finish(Status::invalid("since_unix_ms", "the range must be positive and hold at most 10,000 steps"));
        return;
      }
      const bool posted = core_.post_store_call([call, request, response, now](Store& store) {
        Status status;
        try {
          *response = ingest::status_series(store, *request, now);
        } catch (const std::invalid_argument& e) {
          status = Status::invalid("metric", e.what());
        } catch (const std::exception& e) {
          status = Status::internal(std::string("reading the status samples: ") + e.what());
        }
        call.finish(status);
      });
      if (!posted) call.finish(too_many_pending(core_));
      return;
    }
    auto plan = std::make_shared<telemetry::SeriesPlan>();
    if (Status status = telemetry::plan_series(*request, now, plan.get()); !status.ok()) {
      call.finish(status);
      return;
    }
    if (plan->from_memory) {
      telemetry::series_from_window(telemetry_->window(), *plan, response);
      call.finish(Status{});
      return;
    }
    const bool posted = core_.post_store_call([call, plan, response](Store& store) {
      Status status;
      try {
        telemetry::series_from_minutes(store.read_rollup_minutes(plan->scope), *plan, response);
      } catch (const std::exception& e) {
        status = Status::internal(std::string("reading the rollups: ") + e.what());
      }
      call.finish(status);
    });
    if (!posted) call.finish(too_many_pending(core_));
  });
  return call.reactor;
}

}  // namespace tg::control
