// The Admin gRPC service (admin.proto) on the callback API.
//
// Every handler is non-blocking: it checks the bearer token and its role
// (server/auth.hpp: writes need admin, reads viewer or admin, Apply with
// dry_run is a read) on the gRPC thread, posts the call to the owner loop, and returns the reactor. The
// owner loop runs the registry operation; a write is answered only after its
// batch committed (Core::commit), a read at once. ListAudit reads the store
// on the writer thread. Exceptions never leave a handler: they become
// INTERNAL. Every call is counted and timed in Metrics by method and code.
// Beyond CoreOptions::max_pending_calls calls waiting on the owner loop (or
// the writer) a call is answered RESOURCE_EXHAUSTED at once.
// Apply parses and diffs on its own thread, from a copy of the registry;
// only the commit runs on the owner loop. When the registry changed meanwhile
// the apply is computed again (apply_attempts in all), then answered ABORTED.
// ListProxies, GetRegistry and AdoptRegistry use the TableHub on the owner
// loop (UNIMPLEMENTED without one). Top reads the telemetry window on the
// owner loop; Series reads it there too (the last hour at steps under a
// minute), or the minute rollups on the writer thread.
// The alerting calls (admin_alerts.cpp) use the alerting Book on the owner
// loop like registry calls use the Registry; alert episodes are read from the
// store on the writer thread, their open state overlaid from the Book.
#pragma once

#include "server/alert_access.hpp"
#include "server/auth.hpp"
#include "server/core.hpp"
#include "stream/table_hub.hpp"
#include "telemetry/ingest.hpp"

#include "registry/transaction.hpp"

#include "tenantgate/v1/admin.grpc.pb.h"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>

namespace tg::control {

class AdminService final : public tenantgate::v1::Admin::CallbackService {
 public:
  // Apply calls queued for (or running on) the apply thread; beyond this
  // many an Apply is answered RESOURCE_EXHAUSTED.
  static constexpr std::size_t max_queued_applies = 16;
  // How often an apply is computed again when the registry changed while it
  // was computed, before it is answered ABORTED.
  static constexpr int apply_attempts = 3;

  AdminService(Core& core, const TokenSet& tokens, TableHub* hub = nullptr)
      : core_(core), tokens_(tokens), hub_(hub) {}
  ~AdminService() override;

  // Top and Series read it (on the owner loop; Series over SQLite on the
  // writer). Set before the server starts; without it they are UNIMPLEMENTED.
  void set_telemetry(telemetry::Ingest* ingest) { telemetry_ = ingest; }

  // The alerting Book (owner loop; book_access()): the alerting calls read and write it,
  // and the deletes of tenants, services and routes ask it which rules name
  // them (cascade). Set before the server starts; without it the alerting
  // calls are UNIMPLEMENTED and deletes do not look at rules.
  void set_alerts(AlertAccess* alerts) { book_ = alerts; }

  // Apply calls received and not answered yet (any thread).
  std::size_t applies_in_progress() const { return queued_applies_.load(std::memory_order_relaxed); }

#define TG_ADMIN_METHOD(Name, Request, Response)                                                   \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context, const tenantgate::v1::Request* request, \
                                 tenantgate::v1::Response* response) override;
  TG_ADMIN_METHOD(ListTenants, ListTenantsRequest, ListTenantsResponse)
  TG_ADMIN_METHOD(GetTenant, GetTenantRequest, Tenant)
  TG_ADMIN_METHOD(CreateTenant, CreateTenantRequest, Tenant)
  TG_ADMIN_METHOD(UpdateTenant, UpdateTenantRequest, Tenant)
  TG_ADMIN_METHOD(PatchTenant, PatchTenantRequest, Tenant)
  TG_ADMIN_METHOD(DeleteTenant, DeleteTenantRequest, DeleteResponse)
  TG_ADMIN_METHOD(CreateCredential, CreateCredentialRequest, CreateCredentialResponse)
  TG_ADMIN_METHOD(ListCredentials, ListCredentialsRequest, ListCredentialsResponse)
  TG_ADMIN_METHOD(DeleteCredential, DeleteCredentialRequest, DeleteResponse)
  TG_ADMIN_METHOD(ListServices, ListServicesRequest, ListServicesResponse)
  TG_ADMIN_METHOD(GetService, GetServiceRequest, Service)
  TG_ADMIN_METHOD(CreateService, CreateServiceRequest, Service)
  TG_ADMIN_METHOD(UpdateService, UpdateServiceRequest, Service)
  TG_ADMIN_METHOD(PatchService, PatchServiceRequest, Service)
  TG_ADMIN_METHOD(DeleteService, DeleteServiceRequest, DeleteResponse)
  TG_ADMIN_METHOD(RegisterInstance, RegisterInstanceRequest, Instance)
  TG_ADMIN_METHOD(DeregisterInstance, DeregisterInstanceRequest, DeleteResponse)
  TG_ADMIN_METHOD(Heartbeat, HeartbeatRequest, HeartbeatResponse)
  TG_ADMIN_METHOD(DiscoverInstances, DiscoverInstancesRequest, DiscoverInstancesResponse)
  TG_ADMIN_METHOD(SetInstanceState, SetInstanceStateRequest, Instance)
  TG_ADMIN_METHOD(PatchInstance, PatchInstanceRequest, Instance)
  TG_ADMIN_METHOD(ListInstances, ListInstancesRequest, ListInstancesResponse)
  TG_ADMIN_METHOD(ListRoutes, ListRoutesRequest, ListRoutesResponse)
  TG_ADMIN_METHOD(GetRoute, GetRouteRequest, Route)
  TG_ADMIN_METHOD(CreateRoute, CreateRouteRequest, Route)
  TG_ADMIN_METHOD(UpdateRoute, UpdateRouteRequest, Route)
  TG_ADMIN_METHOD(PatchRoute, PatchRouteRequest, Route)
  TG_ADMIN_METHOD(DeleteRoute, DeleteRouteRequest, DeleteResponse)
  TG_ADMIN_METHOD(Apply, ApplyRequest, ApplyResponse)
  TG_ADMIN_METHOD(ListAudit, ListAuditRequest, ListAuditResponse)
  TG_ADMIN_METHOD(ListEvents, ListEventsRequest, ListEventsResponse)
  TG_ADMIN_METHOD(ListProxies, ListProxiesRequest, ListProxiesResponse)
  TG_ADMIN_METHOD(GetRegistry, GetRegistryRequest, RegistryInfo)
  TG_ADMIN_METHOD(AdoptRegistry, AdoptRegistryRequest, RegistryInfo)
  TG_ADMIN_METHOD(Top, TopRequest, TopResponse)
  TG_ADMIN_METHOD(Series, SeriesRequest, SeriesResponse)
  // Alerting (admin_alerts.cpp).
  TG_ADMIN_METHOD(ListAlertRules, ListAlertRulesRequest, ListAlertRulesResponse)
  TG_ADMIN_METHOD(GetAlertRule, GetAlertRuleRequest, AlertRule)
  TG_ADMIN_METHOD(CreateAlertRule, CreateAlertRuleRequest, AlertRule)
  TG_ADMIN_METHOD(UpdateAlertRule, UpdateAlertRuleRequest, AlertRule)
  TG_ADMIN_METHOD(DeleteAlertRule, DeleteAlertRuleRequest, DeleteResponse)
  TG_ADMIN_METHOD(ListNotifiers, ListNotifiersRequest, ListNotifiersResponse)
  TG_ADMIN_METHOD(GetNotifier, GetNotifierRequest, Notifier)
  TG_ADMIN_METHOD(CreateNotifier, CreateNotifierRequest, Notifier)
  TG_ADMIN_METHOD(UpdateNotifier, UpdateNotifierRequest, Notifier)
  TG_ADMIN_METHOD(DeleteNotifier, DeleteNotifierRequest, DeleteResponse)
  TG_ADMIN_METHOD(ListAlerts, ListAlertsRequest, ListAlertsResponse)
  TG_ADMIN_METHOD(GetAlert, GetAlertRequest, Alert)
  TG_ADMIN_METHOD(AckAlert, AckAlertRequest, Alert)
  TG_ADMIN_METHOD(UnackAlert, UnackAlertRequest, Alert)
  TG_ADMIN_METHOD(ResolveAlert, ResolveAlertRequest, Alert)
  TG_ADMIN_METHOD(CreateSilence, CreateSilenceRequest, Silence)
  TG_ADMIN_METHOD(ListSilences, ListSilencesRequest, ListSilencesResponse)
  TG_ADMIN_METHOD(ExpireSilence, ExpireSilenceRequest, Silence)
#undef TG_ADMIN_METHOD

 private:
  template <class Request, class Response>
  using ReadOp = Status (Registry::*)(const Request&, Response*) const;
  template <class Request, class Response>
  using WriteOp = Status (Registry::*)(const Request&, const WriteContext&, Response*, CommitBatch*);

  template <class Request, class Response>
  grpc::ServerUnaryReactor* read(grpc::CallbackServerContext* context, const char* method, const Request* request,
                                 Response* response, ReadOp<Request, Response> op);
  template <class Response, class Read>
  grpc::ServerUnaryReactor* read_hub(grpc::CallbackServerContext* context, const char* method, Response* response,
                                     Read read);
  // An alerting read or write on the owner loop (admin_alerts.cpp): `op`
  // gets the book (and, for a write, the caller and the batch to commit).
  template <class Op>
  grpc::ServerUnaryReactor* alert_read(grpc::CallbackServerContext* context, const char* method, Op op);
  template <class Op>
  grpc::ServerUnaryReactor* alert_write(grpc::CallbackServerContext* context, const char* method, Op op);
  // DeleteTenant/DeleteService/DeleteRoute: refused while alert rules name
  // the object unless `cascade`, which disables them in the same commit.
  template <class Request>
  grpc::ServerUnaryReactor* delete_with_cascade(grpc::CallbackServerContext* context, const char* method,
                                                const Request* request, tenantgate::v1::DeleteResponse* response,
                                                WriteOp<Request, tenantgate::v1::DeleteResponse> op,
                                                const char* kind, const std::string& name, bool cascade);

  template <class Request, class Response>
  grpc::ServerUnaryReactor* write(grpc::CallbackServerContext* context, const char* method, const Request* request,
                                  Response* response, WriteOp<Request, Response> op, Access access);

  struct ApplyJob;
  // Apply: parse (apply thread) → copy of the registry (owner loop) → diff
  // on the copy (apply thread) → commit on the live registry (owner loop).
  void apply_parse(std::shared_ptr<ApplyJob> job);
  void apply_snapshot(std::shared_ptr<ApplyJob> job);
  void apply_stage(std::shared_ptr<ApplyJob> job, std::shared_ptr<Registry> copy);
  void apply_commit(std::shared_ptr<ApplyJob> job, std::uint64_t serial, std::unique_ptr<Transaction> staged,
                    std::vector<tenantgate::v1::Change> changes);
  // Owner loop: the (kind, name) of each tenant, service or route `changes`
  // delete that alert rules name (admin_alerts.cpp), and the refusal of an
  // apply that would delete them.
  std::vector<std::pair<std::string, std::string>> rules_named_by_deletes(
      const std::vector<tenantgate::v1::Change>& changes) const;
  Status apply_cascade_refusal(const std::vector<std::pair<std::string, std::string>>& objects) const;
  // Owner loop: a copy of the registry, shared by applies while it has not changed.
  std::shared_ptr<Registry> registry_copy();

  Core& core_;
  const TokenSet& tokens_;
  TableHub* hub_;
  telemetry::Ingest* telemetry_ = nullptr;
  AlertAccess* book_ = nullptr;  // the alerting Book (server/alert_access.hpp)
  std::weak_ptr<Registry> copy_;  // owner loop
  std::atomic<std::size_t> queued_applies_{0};
  boost::asio::thread_pool apply_thread_{1};
};

}  // namespace tg::control
