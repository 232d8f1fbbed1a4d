#include "control/support/subscribed_proxy.hpp"

#include "support/http_client.hpp"

namespace tg::itest {

std::unique_ptr<ProxyProcess> subscribed_proxy(const std::string& control_address, const std::string& node_id,
                                               const std::filesystem::path& state_dir, int workers) {
  ProxyOptions options;
  options.use_config = false;
  options.workers = workers;
  options.extra_args = {"--control", control_address, "--node-id", node_id, "--state-dir", state_dir.string()};
  return std::make_unique<ProxyProcess>("", options);
}

std::string answer(const ProxyProcess& proxy, const std::string& host) {
  try {
    const HttpResponse response = http_get(proxy.port(), "/", {{"Host", host}}, std::chrono::seconds(2));
    if (response.status != 200) return std::to_string(response.status);
    return response.header("X-Backend-Name");
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace tg::itest
