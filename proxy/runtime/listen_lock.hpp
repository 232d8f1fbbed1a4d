// One tg-proxy per listen address. The data-plane listeners set SO_REUSEPORT
// (one per worker), so the kernel would let a second tg-proxy of the same user
// bind the same address and split the connections between the two. Before its
// workers bind, tg-proxy takes an exclusive flock(2) on
//   <lock dir>/tg-proxy-<address>-<port>.lock
// (the file holds the holder's pid, for the refusal message), and a lock on
// the port's file, exclusive for a wildcard address (see port_lock_file_name),
// so 0.0.0.0:8080 and 127.0.0.1:8080 exclude each other too. The kernel
// drops the lock when the process ends, however it ends, so a stale file never
// blocks a start. A probe bind instead would be racy: two proxies starting at
// once would both see the port free.
//
// Different users need no common lock directory: the kernel refuses
// SO_REUSEPORT sharing between user ids (EADDRINUSE).
#pragma once

#include "core/socket.hpp"

#include <string>

namespace tg::proxy {

// The default --lock-dir, a function of the user only (never of the login
// session, so a service and a shell of the same user agree):
// /run/tenantgate for root when /run is writable, else /tmp/tenantgate-<uid>.
std::string default_lock_dir();

// "tg-proxy-127.0.0.1-8080.lock", "tg-proxy-::1-8080.lock".
std::string lock_file_name(const tcp::endpoint& endpoint);
// "tg-proxy-port-8080.lock": held exclusively by a proxy on a wildcard
// address (0.0.0.0, ::), which overlaps every address of the port, and
// shared by the proxies on single addresses of the port.
std::string port_lock_file_name(unsigned short port);

class ListenLock {
 public:
  ListenLock() = default;
  ListenLock(ListenLock&& other) noexcept;
  ListenLock& operator=(ListenLock&& other) noexcept;
  ListenLock(const ListenLock&) = delete;
  ListenLock& operator=(const ListenLock&) = delete;
  // Removes the file while still holding the lock, then releases it.
  ~ListenLock();

  // Creates `dir` (mode 0700) when missing; it must be a directory of this
  // user (or root) that no one else may write to. Then takes the lock for
  // `endpoint` without waiting. On failure returns a lock that is not held
  // and sets `error` to the operator's message, e.g.
  //   --listen 127.0.0.1:8080: another tg-proxy (pid 4242) serves this
  //   address; stop it first (lock /tmp/tenantgate-1000/tg-proxy-127.0.0.1-8080.lock)
  // `flag_address` is the address as the operator wrote it.
  static ListenLock acquire(const std::string& dir, const tcp::endpoint& endpoint, const std::string& flag_address,
                            std::string& error);

  bool held() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  void release() noexcept;

  int dir_fd_ = -1;  // shared lock: systemd-tmpfiles does not age a locked directory
  int port_fd_ = -1;
  int fd_ = -1;
  bool port_exclusive_ = false;
  std::string port_name_;
  std::string name_;
  std::string path_;
};

}  // namespace tg::proxy
