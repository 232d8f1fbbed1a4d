#include "support/config_yaml.hpp"

namespace tg::itest {

ConfigYaml& ConfigYaml::service(const std::string& name, const std::vector<InstanceSpec>& instances,
                                const std::vector<std::string>& settings) {
  services_ += "  - name: " + name + "\n";
  for (const std::string& line : settings) services_ += "    " + line + "\n";
  if (instances.empty()) {
    services_ += "    instances: []\n";
    return *this;
  }
  services_ += "    instances:\n";
  for (const InstanceSpec& instance : instances) {
    services_ += "      - { ";
    if (!instance.id.empty()) services_ += "id: " + instance.id + ", ";
    services_ += "address: " + instance.address;
    if (instance.weight != 1) services_ += ", weight: " + std::to_string(instance.weight);
    services_ += " }\n";
  }
  return *this;
}

ConfigYaml& ConfigYaml::route(const std::string& name, const std::string& match, const std::string& service,
                              const std::vector<std::string>& settings) {
  routes_ += "  - name: " + name + "\n";
  routes_ += "    match: " + match + "\n";
  routes_ += "    service: " + service + "\n";
  for (const std::string& line : settings) routes_ += "    " + line + "\n";
  return *this;
}

std::string ConfigYaml::str() const {
  std::string text;
  text += services_.empty() ? "services: []\n" : "services:\n" + services_;
  text += routes_.empty() ? "routes: []\n" : "routes:\n" + routes_;
  return text;
}

std::string single_service_config(const std::vector<InstanceSpec>& instances,
                                  const std::vector<std::string>& settings) {
  return ConfigYaml().service("svc", instances, settings).route("all", "{ path_prefix: / }", "svc").str();
}

}  // namespace tg::itest
