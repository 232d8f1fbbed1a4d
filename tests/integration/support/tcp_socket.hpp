// A blocking-style TCP client socket on loopback with a timeout on every
// operation (non-blocking fd + poll underneath). Test code: errors throw
// SocketError, which says what happened (timeout, closed, reset, ...).
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tg::itest {

class SocketError : public std::runtime_error {
 public:
  enum class Kind { timeout, closed, reset, refused, other };
  SocketError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class TcpSocket {
 public:
  TcpSocket() = default;
  // Connects to 127.0.0.1:port; throws SocketError (refused / timeout / other).
  TcpSocket(std::uint16_t port, std::chrono::milliseconds timeout);
  ~TcpSocket() { close(); }
  TcpSocket(TcpSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  TcpSocket& operator=(TcpSocket&& other) noexcept;
  TcpSocket(const TcpSocket&) = delete;
  TcpSocket& operator=(const TcpSocket&) = delete;

  // 0 when a connection to 127.0.0.1:port succeeds (and is closed again at
  // once), else the errno of the failure (ECONNREFUSED, ETIMEDOUT, ...).
  static int probe_connect(std::uint16_t port, std::chrono::milliseconds timeout);

  // Takes ownership of a connected socket (e.g. from accept()); makes it non-blocking.
  static TcpSocket adopt(int fd);

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  std::uint16_t local_port() const;

  // Sends everything; each wait for buffer space is bounded by `timeout`.
  void send_all(std::string_view bytes, std::chrono::milliseconds timeout);
  // Receives up to `capacity` bytes into `out` (appended); returns the count,
  // 0 on orderly EOF. Throws SocketError(timeout) when nothing arrives in
  // `timeout`, SocketError(reset) on ECONNRESET.
  std::size_t receive_some(std::string& out, std::size_t capacity, std::chrono::milliseconds timeout);

  void shutdown_write();
  // Closes with SO_LINGER 0: the peer sees a reset.
  void reset();
  void close();

 private:
  explicit TcpSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// A port on 127.0.0.1 that refuses connections: bound but never listening,
// and held for the object's lifetime so no one else can take it meanwhile.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace tg::itest
