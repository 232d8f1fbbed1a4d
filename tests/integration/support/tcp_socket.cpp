#include "support/tcp_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tg::itest {

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::string error_text(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd entry{fd, events, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int result = ::poll(&entry, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (result > 0) return true;
    if (result == 0) return false;
    if (errno != EINTR) throw SocketError(SocketError::Kind::other, error_text("poll", errno));
  }
}

// Returns a connected non-blocking fd, or -errno.
int connect_loopback(std::uint16_t port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in address = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
  int error = errno;
  if (error == EINPROGRESS) {
    if (!wait_for(fd, POLLOUT, timeout)) {
      error = ETIMEDOUT;
    } else {
      socklen_t length = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error == 0) return fd;
    }
  }
  ::close(fd);
  return -error;
}

}  // namespace

TcpSocket::TcpSocket(std::uint16_t port, std::chrono::milliseconds timeout) {
  const int result = connect_loopback(port, timeout);
  if (result < 0) {
    const int error = -result;
    const auto kind = error == ECONNREFUSED ? SocketError::Kind::refused
                      : error == ETIMEDOUT  ? SocketError::Kind::timeout
                                            : SocketError::Kind::other;
    throw SocketError(kind, error_text(("connect 127.0.0.1:" + std::to_string(port)).c_str(), error));
  }
  fd_ = result;
}

TcpSocket TcpSocket::adopt(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return TcpSocket(fd);
}

TcpSocket& TcpSocket::operator=(TcpSocket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

int TcpSocket::probe_connect(std::uint16_t port, std::chrono::milliseconds timeout) {
  const int result = connect_loopback(port, timeout);
  if (result < 0) return -result;
  ::close(result);
  return 0;
}

std::uint16_t TcpSocket::local_port() const {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return ntohs(address.sin_port);
}

void TcpSocket::send_all(std::string_view bytes, std::chrono::milliseconds timeout) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd_, POLLOUT, timeout)) {
        throw SocketError(SocketError::Kind::timeout,
                          "send: peer did not read for " + std::to_string(timeout.count()) + " ms");
      }
      continue;
    }
    const int error = errno;
    throw SocketError(error == ECONNRESET || error == EPIPE ? SocketError::Kind::reset
                                                            : SocketError::Kind::other,
                      error_text("send", error));
  }
}

std::size_t TcpSocket::receive_some(std::string& out, std::size_t capacity,
                                    std::chrono::milliseconds timeout) {
  const std::size_t old_size = out.size();
  out.resize(old_size + capacity);
  for (;;) {
    const ssize_t received = ::recv(fd_, out.data() + old_size, capacity, 0);
    if (received >= 0) {
      out.resize(old_size + static_cast<std::size_t>(received));
      return static_cast<std::size_t>(received);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(fd_, POLLIN, timeout)) {
        out.resize(old_size);
        throw SocketError(SocketError::Kind::timeout,
                          "receive: nothing for " + std::to_string(timeout.count()) + " ms");
      }
      continue;
    }
    const int error = errno;
    out.resize(old_size);
    throw SocketError(error == ECONNRESET ? SocketError::Kind::reset : SocketError::Kind::other,
                      error_text("recv", error));
  }
}

void TcpSocket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void TcpSocket::reset() {
  if (fd_ < 0) return;
  const linger option{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  close();
}

void TcpSocket::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ClosedPort::ClosedPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw SocketError(SocketError::Kind::other, error_text("bind", errno));
  }
  socklen_t length = sizeof address;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

ClosedPort::~ClosedPort() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace tg::itest
