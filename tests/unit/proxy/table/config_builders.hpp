// Builders for config::Config values in proxy runtime tests: services with
// IP-literal instances (no DNS), routes by name. The loader is tested apart
// (tests/unit/common/config); these skip YAML on purpose.
#pragma once

#include "config/model.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tg::proxy::test {

struct InstanceSpec {
  std::string id;
  std::uint32_t weight = 1;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: 8000 + position in the service
};

inline config::Service make_service(std::string name, config::LbPolicy lb, const std::vector<InstanceSpec>& instances) {
  config::Service s;
  s.name = std::move(name);
  s.lb = lb;
  std::uint16_t position = 0;
  for (const InstanceSpec& spec : instances) {
    config::Instance i;
    i.id = spec.id;
    i.host = spec.host;
    i.port = spec.port ? spec.port : static_cast<std::uint16_t>(8000 + position);
    i.address = (spec.host.find(':') != std::string::npos ? "[" + spec.host + "]" : spec.host) + ":" +
                std::to_string(i.port);
    i.weight = spec.weight;
    s.instances.push_back(std::move(i));
    ++position;
  }
  return s;
}

inline config::Route make_route(std::string name, std::string service, std::string prefix = "/",
                                std::string strip_prefix = "") {
  config::Route r;
  r.name = std::move(name);
  r.service = std::move(service);
  r.match.path_prefix = std::move(prefix);
  r.rewrite.strip_prefix = std::move(strip_prefix);
  return r;
}

}  // namespace tg::proxy::test
