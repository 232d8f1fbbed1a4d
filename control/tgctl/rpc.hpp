// The Admin RPCs as values: a command names the Rpc it calls, and run() calls
// it through the stub without knowing its types. One entry per method of
// tenantgate.v1.Admin (proto/tenantgate/v1/admin.proto).
#pragma once

#include "tenantgate/v1/admin.grpc.pb.h"

#include <google/protobuf/message.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string_view>

namespace tg::tgctl {

using AdminStub = tenantgate::v1::Admin::StubInterface;

struct Rpc {
  std::string_view method;  // "CreateRoute": the Admin method name
  // A fresh, empty response message of the method's response type.
  std::unique_ptr<google::protobuf::Message> (*new_response)();
  // Calls the method; `request` and `response` must be of its types.
  grpc::Status (*invoke)(AdminStub& stub, grpc::ClientContext* context,
                         const google::protobuf::Message& request,
                         google::protobuf::Message* response);
};

namespace rpcs {
extern const Rpc list_tenants, get_tenant, create_tenant, update_tenant, patch_tenant, delete_tenant;
extern const Rpc create_credential, list_credentials, delete_credential;
extern const Rpc list_services, get_service, create_service, update_service, patch_service, delete_service;
extern const Rpc register_instance, deregister_instance, heartbeat, discover_instances,
    set_instance_state, patch_instance, list_instances;
extern const Rpc list_routes, get_route, create_route, update_route, patch_route, delete_route;
extern const Rpc apply, list_audit, list_events;
extern const Rpc list_proxies, get_registry, adopt_registry;
extern const Rpc top, series;
extern const Rpc list_alert_rules, get_alert_rule, create_alert_rule, update_alert_rule, delete_alert_rule;
extern const Rpc list_notifiers, get_notifier, create_notifier, update_notifier, delete_notifier;
extern const Rpc list_alerts, get_alert, ack_alert, unack_alert, resolve_alert;
extern const Rpc create_silence, list_silences, expire_silence;
}  // namespace rpcs

}  // namespace tg::tgctl
