// Whether a pushed update may be applied on top of what the proxy serves: the
// envelope rules of the table stream (proto/tenantgate/v1/discovery.proto;
// docs/control-plane.md "Registry identity and restores"). Pure; the control
// client NACKs with the reason and keeps serving its table.
#pragma once

#include "table/snapshot.hpp"

#include "tenantgate/v1/discovery.pb.h"

#include <cstdint>
#include <string>

namespace tg::proxy::subscription {

// What the proxy serves: the registry, version and digest of its last
// applied pushed table (all empty when it has none, or serves YAML).
struct ServedTable {
  std::string registry_id;
  TableVersion version;
  std::uint64_t digest = 0;
};

enum class Refusal {
  none,
  malformed,         // no registry id, kind and payload disagree
  foreign_registry,  // another registry, not adopted
  not_newer,         // a version of the served registry not newer than the one served
  base_mismatch,     // a health or delta update on a version the proxy does not serve
  digest_mismatch,   // a full table whose bytes, or a delta whose result, do not match its digest
  invalid,           // a full table the proxy cannot use: a value out of range, a dangling reference...
};

struct UpdateCheck {
  Refusal refusal = Refusal::none;
  std::string reason;  // the NACK reason (empty when none)
};

// "foreign_registry" etc., the metrics label.
const char* refusal_name(Refusal refusal);

UpdateCheck check_update(const ServedTable& served, const tenantgate::v1::StreamTableResponse& update);

}  // namespace tg::proxy::subscription
