// The pushed table (tenantgate.v1.Table, registry objects) as the proxy's
// config model, and the pushed instance states as Snapshot changes.
//
// The control plane validated these objects already; this still checks what
// the proxy relies on (every reference resolves, every value fits its field
// and keeps the rules a configuration file keeps: config::validate) so that a
// table it cannot use is NACKed with a reason naming the object, instead of
// being half applied.
#pragma once

#include "config/model.hpp"
#include "table/snapshot.hpp"

#include "tenantgate/v1/discovery.pb.h"

#include <string>
#include <vector>

namespace tg::proxy::subscription {

// false with `error` ("service acme-sim: ...") when the table cannot be used.
bool to_config(const tenantgate::v1::Table& table, config::Config& out, std::string& error);

// The objects a delta update upserts and the keys it removes, each object
// converted and checked as to_config does; whether they refer to what
// exists, Snapshot::apply checks. false with `error` when one cannot be used.
bool to_table_change(const tenantgate::v1::TableDelta& delta, TableChange& out, std::string& error);

InstanceStateChange to_change(const tenantgate::v1::InstanceState& state);
std::vector<InstanceStateChange> to_changes(const tenantgate::v1::HealthUpdate& update);

}  // namespace tg::proxy::subscription
