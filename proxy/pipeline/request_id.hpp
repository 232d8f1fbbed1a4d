// Whose X-Request-Id the proxy keeps (docs/http-conformance.md, Headers the
// proxy owns).
#pragma once

#include "balancing/ip_address.hpp"

#include <span>

namespace tg::proxy {

// True when a client's valid X-Request-Id is kept rather than replaced by a
// generated one: always with --trust-request-id; otherwise only when the peer
// is one of the --trusted-proxies (another proxy in front, which set or
// passed it on). A client on the open network cannot then choose the id the
// logs and the upstream see.
bool keep_client_request_id(bool trust_request_id, std::span<const balancing::Cidr> trusted_proxies,
                            const balancing::IpAddress& peer);

}  // namespace tg::proxy
