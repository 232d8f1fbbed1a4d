#include "support/raw_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tg::itest {

struct RawServer::State {
  Script script;
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> connections{0};
  std::thread acceptor;
  std::mutex mutex;
  std::vector<std::thread> threads;
  std::vector<int> fds;  // accepted sockets, shut down on stop() to wake their scripts
};

RawServer::RawServer(Script script) : state_(std::make_shared<State>()) {
  state_->script = std::move(script);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("RawServer: socket failed");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw std::runtime_error("RawServer: bind/listen failed");
  }
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  state_->listen_fd = fd;
  state_->port = ntohs(addr.sin_port);
  state_->acceptor = std::thread([state = state_] {
    while (!state->stopping) {
      pollfd p{state->listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(state->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      ++state->connections;
      std::lock_guard lock(state->mutex);
      state->fds.push_back(client);
      state->threads.emplace_back([state, client] {
        TcpSocket connection = TcpSocket::adopt(client);
        try {
          state->script(connection);
        } catch (const SocketError&) {
          // The peer went away: normal for these tests.
        }
        // Forget the descriptor and close it under the lock: stop() must
        // never shut down a number that has been reused meanwhile.
        std::lock_guard lock(state->mutex);
        std::erase(state->fds, client);
        connection.close();
      });
    }
  });
}

RawServer::~RawServer() { stop(); }

std::uint16_t RawServer::port() const { return state_->port; }
std::uint64_t RawServer::connections() const { return state_->connections; }

void RawServer::stop() {
  if (state_->stopping.exchange(true)) return;
  if (state_->acceptor.joinable()) state_->acceptor.join();
  ::close(state_->listen_fd);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(state_->mutex);
    for (const int fd : state_->fds) ::shutdown(fd, SHUT_RDWR);
    threads.swap(state_->threads);
  }
  for (auto& t : threads) t.join();
}

std::string read_head(TcpSocket& connection, std::chrono::milliseconds timeout) {
  std::string received;
  while (received.find("\r\n\r\n") == std::string::npos) {
    if (connection.receive_some(received, 65536, timeout) == 0) throw SocketError(SocketError::Kind::closed, "EOF before the end of the head");
  }
  return received;
}

}  // namespace tg::itest
