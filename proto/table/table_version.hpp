// tenantgate.v1.TableVersion (discovery.proto) as the common tg::TableVersion
// (common/version/table_version.hpp) and back; consumers link tg_common.
#pragma once

#include "version/table_version.hpp"

#include "tenantgate/v1/discovery.pb.h"

namespace tg::table {

inline TableVersion from_proto(const tenantgate::v1::TableVersion& version) {
  return {version.generation(), version.counter()};
}

inline tenantgate::v1::TableVersion to_proto(const TableVersion& version) {
  tenantgate::v1::TableVersion out;
  out.set_generation(version.generation);
  out.set_counter(version.counter);
  return out;
}

}  // namespace tg::table
