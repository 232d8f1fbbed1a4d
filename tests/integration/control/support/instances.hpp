// What tg-control says about a service's instances and their events, read
// with the real tgctl (`-o json`), for the health and resilience tests.
#pragma once

#include "control/support/control_process.hpp"

#include "tenantgate/v1/admin.pb.h"

#include <map>
#include <string>

namespace tg::itest {

// `tgctl instances discover SERVICE`, by instance id.
std::map<std::string, tenantgate::v1::Instance> discover(const ControlProcess& control, const std::string& service);

// `tgctl events list --instance ID`.
tenantgate::v1::ListEventsResponse events_of(const ControlProcess& control, const std::string& instance);

// The event group of `events` whose message is `message`; nullptr if none.
const tenantgate::v1::Event* find_event(const tenantgate::v1::ListEventsResponse& events, const std::string& message);

}  // namespace tg::itest
