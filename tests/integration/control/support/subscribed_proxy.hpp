// A tg-proxy fed only by tg-control (--control, --node-id, --state-dir), and
// what it answers for a host, for the table-stream tests.
#pragma once

#include "support/proxy_process.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace tg::itest {

std::unique_ptr<ProxyProcess> subscribed_proxy(const std::string& control_address, const std::string& node_id,
                                               const std::filesystem::path& state_dir, int workers = 1);

// The backend that answered GET / for `host` through the proxy (its
// X-Backend-Name); "404", "503"... for an error status; "" when the request
// failed.
std::string answer(const ProxyProcess& proxy, const std::string& host);

}  // namespace tg::itest
