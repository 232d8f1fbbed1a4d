#include "tgctl/rpc.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

template <class Request, class Response,
          grpc::Status (AdminStub::*Method)(grpc::ClientContext*, const Request&, Response*)>
constexpr Rpc make(std::string_view method) {
  return Rpc{
      method,
      []() -> std::unique_ptr<google::protobuf::Message> { return std::make_unique<Response>(); },
      [](AdminStub& stub, grpc::ClientContext* context, const google::protobuf::Message& request,
         google::protobuf::Message* response) {
        return (stub.*Method)(context, static_cast<const Request&>(request),
                              static_cast<Response*>(response));
      }};
}

}  // namespace

namespace rpcs {

// clang-format off
const Rpc list_tenants = make<v1::ListTenantsRequest, v1::ListTenantsResponse, &AdminStub::ListTenants>("ListTenants");
const Rpc get_tenant = make<v1::GetTenantRequest, v1::Tenant, &AdminStub::GetTenant>("GetTenant");
const Rpc create_tenant = make<v1::CreateTenantRequest, v1::Tenant, &AdminStub::CreateTenant>("CreateTenant");
const Rpc update_tenant = make<v1::UpdateTenantRequest, v1::Tenant, &AdminStub::UpdateTenant>("UpdateTenant");
const Rpc patch_tenant = make<v1::PatchTenantRequest, v1::Tenant, &AdminStub::PatchTenant>("PatchTenant");
const Rpc delete_tenant = make<v1::DeleteTenantRequest, v1::DeleteResponse, &AdminStub::DeleteTenant>("DeleteTenant");
const Rpc create_credential = make<v1::CreateCredentialRequest, v1::CreateCredentialResponse, &AdminStub::CreateCredential>("CreateCredential");
const Rpc list_credentials = make<v1::ListCredentialsRequest, v1::ListCredentialsResponse, &AdminStub::ListCredentials>("ListCredentials");
const Rpc delete_credential = make<v1::DeleteCredentialRequest, v1::DeleteResponse, &AdminStub::DeleteCredential>("DeleteCredential");

const Rpc list_services = make<v1::ListServicesRequest, v1::ListServicesResponse, &AdminStub::ListServices>("ListServices");
const Rpc get_service = make<v1::GetServiceRequest, v1::Service, &AdminStub::GetService>("GetService");
const Rpc create_service = make<v1::CreateServiceRequest, v1::Service, &AdminStub::CreateService>("CreateService");
const Rpc update_service = make<v1::UpdateServiceRequest, v1::Service, &AdminStub::UpdateService>("UpdateService");
const Rpc patch_service = make<v1::PatchServiceRequest, v1::Service, &AdminStub::PatchService>("PatchService");
const Rpc delete_service = make<v1::DeleteServiceRequest, v1::DeleteResponse, &AdminStub::DeleteService>("DeleteService");

const Rpc register_instance = make<v1::RegisterInstanceRequest, v1::Instance, &AdminStub::RegisterInstance>("RegisterInstance");
const Rpc deregister_instance = make<v1::DeregisterInstanceRequest, v1::DeleteResponse, &AdminStub::DeregisterInstance>("DeregisterInstance");
const Rpc heartbeat = make<v1::HeartbeatRequest, v1::HeartbeatResponse, &AdminStub::Heartbeat>("Heartbeat");
const Rpc discover_instances = make<v1::DiscoverInstancesRequest, v1::DiscoverInstancesResponse, &AdminStub::DiscoverInstances>("DiscoverInstances");
const Rpc set_instance_state = make<v1::SetInstanceStateRequest, v1::Instance, &AdminStub::SetInstanceState>("SetInstanceState");
const Rpc patch_instance = make<v1::PatchInstanceRequest, v1::Instance, &AdminStub::PatchInstance>("PatchInstance");
const Rpc list_instances = make<v1::ListInstancesRequest, v1::ListInstancesResponse, &AdminStub::ListInstances>("ListInstances");

const Rpc list_routes = make<v1::ListRoutesRequest, v1::ListRoutesResponse, &AdminStub::ListRoutes>("ListRoutes");
const Rpc get_route = make<v1::GetRouteRequest, v1::Route, &AdminStub::GetRoute>("GetRoute");
const Rpc create_route = make<v1::CreateRouteRequest, v1::Route, &AdminStub::CreateRoute>("CreateRoute");
const Rpc update_route = make<v1::UpdateRouteRequest, v1::Route, &AdminStub::UpdateRoute>("UpdateRoute");
const Rpc patch_route = make<v1::PatchRouteRequest, v1::Route, &AdminStub::PatchRoute>("PatchRoute");
const Rpc delete_route = make<v1::DeleteRouteRequest, v1::DeleteResponse, &AdminStub::DeleteRoute>("DeleteRoute");

const Rpc apply = make<v1::ApplyRequest, v1::ApplyResponse, &AdminStub::Apply>("Apply");
const Rpc list_audit = make<v1::ListAuditRequest, v1::ListAuditResponse, &AdminStub::ListAudit>("ListAudit");
const Rpc list_events = make<v1::ListEventsRequest, v1::ListEventsResponse, &AdminStub::ListEvents>("ListEvents");
const Rpc top = make<v1::TopRequest, v1::TopResponse, &AdminStub::Top>("Top");
const Rpc series = make<v1::SeriesRequest, v1::SeriesResponse, &AdminStub::Series>("Series");
const Rpc list_proxies = make<v1::ListProxiesRequest, v1::ListProxiesResponse, &AdminStub::ListProxies>("ListProxies");
const Rpc get_registry = make<v1::GetRegistryRequest, v1::RegistryInfo, &AdminStub::GetRegistry>("GetRegistry");
const Rpc adopt_registry = make<v1::AdoptRegistryRequest, v1::RegistryInfo, &AdminStub::AdoptRegistry>("AdoptRegistry");
const Rpc list_alert_rules = make<v1::ListAlertRulesRequest, v1::ListAlertRulesResponse, &AdminStub::ListAlertRules>("ListAlertRules");
const Rpc get_alert_rule = make<v1::GetAlertRuleRequest, v1::AlertRule, &AdminStub::GetAlertRule>("GetAlertRule");
const Rpc create_alert_rule = make<v1::CreateAlertRuleRequest, v1::AlertRule, &AdminStub::CreateAlertRule>("CreateAlertRule");
const Rpc update_alert_rule = make<v1::UpdateAlertRuleRequest, v1::AlertRule, &AdminStub::UpdateAlertRule>("UpdateAlertRule");
const Rpc delete_alert_rule = make<v1::DeleteAlertRuleRequest, v1::DeleteResponse, &AdminStub::DeleteAlertRule>("DeleteAlertRule");
const Rpc list_notifiers = make<v1::ListNotifiersRequest, v1::ListNotifiersResponse, &AdminStub::ListNotifiers>("ListNotifiers");
const Rpc get_notifier = make<v1::GetNotifierRequest, v1::Notifier, &AdminStub::GetNotifier>("GetNotifier");
const Rpc create_notifier = make<v1::CreateNotifierRequest, v1::Notifier, &AdminStub::CreateNotifier>("CreateNotifier");
const Rpc update_notifier = make<v1::UpdateNotifierRequest, v1::Notifier, &AdminStub::UpdateNotifier>("UpdateNotifier");
const Rpc delete_notifier = make<v1::DeleteNotifierRequest, v1::DeleteResponse, &AdminStub::DeleteNotifier>("DeleteNotifier");
const Rpc list_alerts = make<v1::ListAlertsRequest, v1::ListAlertsResponse, &AdminStub::ListAlerts>("ListAlerts");
const Rpc get_alert = make<v1::GetAlertRequest, v1::Alert, &AdminStub::GetAlert>("GetAlert");
const Rpc ack_alert = make<v1::AckAlertRequest, v1::Alert, &AdminStub::AckAlert>("AckAlert");
const Rpc unack_alert = make<v1::UnackAlertRequest, v1::Alert, &AdminStub::UnackAlert>("UnackAlert");
const Rpc resolve_alert = make<v1::ResolveAlertRequest, v1::Alert, &AdminStub::ResolveAlert>("ResolveAlert");
const Rpc create_silence = make<v1::CreateSilenceRequest, v1::Silence, &AdminStub::CreateSilence>("CreateSilence");
const Rpc list_silences = make<v1::ListSilencesRequest, v1::ListSilencesResponse, &AdminStub::ListSilences>("ListSilences");
const Rpc expire_silence = make<v1::ExpireSilenceRequest, v1::Silence, &AdminStub::ExpireSilence>("ExpireSilence");
// clang-format on

}  // namespace rpcs

}  // namespace tg::tgctl
