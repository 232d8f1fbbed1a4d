#include "control/support/instances.hpp"

#include "control/support/json_output.hpp"
#include "control/support/tgctl_run.hpp"

namespace tg::itest {

namespace v1 = tenantgate::v1;

std::map<std::string, v1::Instance> discover(const ControlProcess& control, const std::string& service) {
  const auto found =
      json_as<v1::DiscoverInstancesResponse>(tgctl(control, {"instances", "discover", service, "-o", "json"}));
  std::map<std::string, v1::Instance> by_id;
  for (const auto& instance : found.instances()) by_id[instance.id()] = instance;
  return by_id;
}

v1::ListEventsResponse events_of(const ControlProcess& control, const std::string& instance) {
  return json_as<v1::ListEventsResponse>(tgctl(control, {"events", "list", "--grouped", "--instance", instance, "-o", "json"}));
}

const v1::Event* find_event(const v1::ListEventsResponse& events, const std::string& message) {
  for (const auto& event : events.events())
    if (event.message() == message) return &event;
  return nullptr;
}

}  // namespace tg::itest
