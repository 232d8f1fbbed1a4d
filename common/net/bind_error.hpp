// Bind errors in the operator's words: the flag and the address as given on
// the command line, then what the kernel said, e.g.
//   --admin 127.0.0.1:21081: address already in use
// Shared by tg-control and tg-proxy. Plain POSIX sockets, no network library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::net {

// strerror(error_number) with a lower-case first letter ("address already in use").
std::string errno_text(int error_number);

// "FLAG ADDRESS: errno_text(error_number)".
std::string bind_error_text(std::string_view flag, std::string_view address, int error_number);

// Binds a throw-away TCP socket (SO_REUSEADDR, as every listener here sets)
// to ip:port and closes it again. Returns 0 when the bind succeeded, else the
// errno of the failure (EADDRINUSE, EADDRNOTAVAIL, EACCES...), or EINVAL when
// `ip` is not an IPv4 or IPv6 literal. Only for explaining a failure that has
// already happened (a library that reports no errno): deciding whether a port
// is free with it would be racy.
int probe_bind_errno(const std::string& ip, std::uint16_t port);

}  // namespace tg::net
