// Registry objects as JSON for the audit log and apply diffs: protobuf's JSON
// mapping with the .proto field names (as in YAML: "path_prefix"), compact.
#pragma once

#include <string>

namespace google::protobuf {
class Message;
}
namespace tenantgate::v1 {
class Tenant;
}

namespace tg::control {

std::string to_json(const google::protobuf::Message& message);

// A tenant with each credential's sha256 cut to its first 6 bytes (the first
// 8 characters of its base64): enough to see in an audit row or an apply
// diff that a hash changed, without spreading whole hashes around.
std::string to_json(const tenantgate::v1::Tenant& tenant);

}  // namespace tg::control
