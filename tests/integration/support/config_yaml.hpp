// Builds the proxy's YAML routes file (docs/configuration.md) for a test. The output is
// plain, readable YAML; `describe` it in failure messages when useful.
#pragma once

#include <string>
#include <vector>

namespace tg::itest {

struct InstanceSpec {
  InstanceSpec(std::string address_, unsigned weight_ = 1, std::string id_ = {})
      : address(std::move(address_)), weight(weight_), id(std::move(id_)) {}
  InstanceSpec(const char* address_) : address(address_) {}

  std::string address;  // "127.0.0.1:port"
  unsigned weight = 1;
  std::string id;  // empty: the proxy's default "<service>/<address>"
};

class ConfigYaml {
 public:
  // `settings` are extra entries of the service map, one YAML line each
  // without indentation, e.g. "lb: { policy: weighted }" or
  // "timeouts: { response_headers: 300ms }".
  ConfigYaml& service(const std::string& name, const std::vector<InstanceSpec>& instances,
                      const std::vector<std::string>& settings = {});
  // `match` is a YAML flow map, e.g. "{ host: a.test, path_prefix: /api/ }";
  // `settings` as for service(), e.g. "rewrite: { strip_prefix: /api }".
  ConfigYaml& route(const std::string& name, const std::string& match, const std::string& service,
                    const std::vector<std::string>& settings = {});
  std::string str() const;

 private:
  std::string services_;
  std::string routes_;
};

// One service "svc" with `instances` and one route "all" for every path to it.
std::string single_service_config(const std::vector<InstanceSpec>& instances,
                                  const std::vector<std::string>& settings = {});

}  // namespace tg::itest
