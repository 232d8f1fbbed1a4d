// The key a hash policy hashes for one request (docs/configuration.md: hash_key, Client address).
//
// Reads the parsed request head in place (spans into the read buffer): no
// allocation, no copy of a header.
//
// Client address rule (ip_hash, and the client_ip key of ring_hash/maglev):
// the peer address, unless the peer is in --trusted-proxies; then
// X-Forwarded-For (all its lines, in order, as one list) is read from the
// right and the first address not in --trusted-proxies is the client. If every
// address is trusted the leftmost one is the client; if the header is absent
// the peer is; if an item that would be read is not an IP literal the whole
// header is ignored and the peer is the client (as NGINX's realip module).
#pragma once

#include "balancing/ip_address.hpp"
#include "config/model.hpp"
#include "http/message_head.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tg::proxy::balancing {

IpAddress client_address(const IpAddress& peer, const http::RequestHead& head, const char* base,
                         std::span<const Cidr> trusted);

// The value of the first header named `lower_name` (lower-case), when it is
// present and not empty.
std::optional<std::string_view> header_value(const http::RequestHead& head, const char* base,
                                             std::string_view lower_name);

// The value of cookie `name` (case-sensitive) in the Cookie header lines,
// without surrounding double quotes, when present and not empty.
std::optional<std::string_view> cookie_value(const http::RequestHead& head, const char* base,
                                             std::string_view name);

// The hash of the request's key for `policy`: ip_hash always hashes the
// client address; ring_hash and maglev hash `key` (header or cookie value,
// falling back to the client address when absent or empty). One stable_hash
// call; the result does not depend on the process or the platform.
std::uint64_t request_key_hash(config::LbPolicy policy, const config::HashKey& key, const http::RequestHead& head,
                               const char* base, const IpAddress& peer, std::span<const Cidr> trusted);

}  // namespace tg::proxy::balancing
