#include "registry/json.hpp"

#include "tenantgate/v1/registry.pb.h"

#include <google/protobuf/util/json_util.h>

namespace tg::control {

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

std::string to_json(const tenantgate::v1::Tenant& tenant) {
  if (tenant.credentials().empty()) return to_json(static_cast<const google::protobuf::Message&>(tenant));
  tenantgate::v1::Tenant shown = tenant;
  for (auto& credential : *shown.mutable_credentials())
    if (credential.sha256().size() > 6) credential.mutable_sha256()->resize(6);
  return to_json(static_cast<const google::protobuf::Message&>(shown));
}

}  // namespace tg::control
