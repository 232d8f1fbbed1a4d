// The Admin gRPC service (admin.proto) on the callback API.
//
// Every handler is non-blocking: it checks the bearer token and its role
// (server/auth.hpp: writes need admin, reads viewer or admin, Apply with
// dry_run is a read) on the gRPC thread, posts the call to the owner loop, and returns the reactor. The
// owner loop runs the registry operation; a write is answered only after its
// batch committed (Core::commit), a read at once. ListAudit reads the store
// on the writer thread. Exceptions never leave a handler: they become
// INTERNAL. Every call is counted and timed in Metrics by method and code.
// ListProxies, GetRegistry and AdoptRegistry use the TableHub on the owner
// loop (UNIMPLEMENTED without one).
#pragma once

#include "server/auth.hpp"
#include "server/core.hpp"
#include "stream/table_hub.hpp"

#include "tenantgate/v1/admin.grpc.pb.h"

namespace tg::control {

class AdminService final : public tenantgate::v1::Admin::CallbackService {
 public:
  AdminService(Core& core, const TokenSet& tokens, TableHub* hub = nullptr)
      : core_(core), tokens_(tokens), hub_(hub) {}

#define TG_ADMIN_METHOD(Name, Request, Response)                                                   \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context, const tenantgate::v1::Request* request, \
                                 tenantgate::v1::Response* response) override;
  TG_ADMIN_METHOD(ListTenants, ListTenantsRequest, ListTenantsResponse)
  TG_ADMIN_METHOD(GetTenant, GetTenantRequest, Tenant)
  TG_ADMIN_METHOD(CreateTenant, CreateTenantRequest, Tenant)
  TG_ADMIN_METHOD(UpdateTenant, UpdateTenantRequest, Tenant)
  TG_ADMIN_METHOD(PatchTenant, PatchTenantRequest, Tenant)
  TG_ADMIN_METHOD(DeleteTenant, DeleteTenantRequest, DeleteResponse)
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
  TG_ADMIN_METHOD(ListProxies, ListProxiesRequest, ListProxiesResponse)
  TG_ADMIN_METHOD(GetRegistry, GetRegistryRequest, RegistryInfo)
  TG_ADMIN_METHOD(AdoptRegistry, AdoptRegistryRequest, RegistryInfo)
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
  template <class Request, class Response>
  grpc::ServerUnaryReactor* write(grpc::CallbackServerContext* context, const char* method, const Request* request,
                                  Response* response, WriteOp<Request, Response> op, Access access);

  Core& core_;
  const TokenSet& tokens_;
  TableHub* hub_;
};

}  // namespace tg::control
