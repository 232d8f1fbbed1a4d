// tg::TableVersion to and from its wire form (discovery.proto TableVersion).
#pragma once

#include "version/table_version.hpp"

#include "tenantgate/v1/discovery.pb.h"

namespace tg::control {

inline TableVersion from_proto(const ::tenantgate::v1::TableVersion& v) { return {v.generation(), v.counter()}; }

inline void to_proto(const TableVersion& version, ::tenantgate::v1::TableVersion* out) {
  out->set_generation(version.generation);
  out->set_counter(version.counter);
}

}  // namespace tg::control
