#include "pipeline/request_id.hpp"

namespace tg::proxy {

bool keep_client_request_id(bool trust_request_id, std::span<const balancing::Cidr> trusted_proxies,
                            const balancing::IpAddress& peer) {
  return trust_request_id || balancing::any_contains(trusted_proxies, peer);
}

}  // namespace tg::proxy
