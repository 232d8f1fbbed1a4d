#include "runtime/idle_watcher.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

namespace tg::proxy {

namespace {
constexpr int kBatch = 256;
}

IdleWatcher::IdleWatcher(asio::io_context& io) : descriptor_(io.get_executor()) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1 for idle connections");
  descriptor_.assign(epoll_fd_);
}

IdleWatcher::~IdleWatcher() { close(); }

void IdleWatcher::start() { wait(); }

void IdleWatcher::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  descriptor_.close(ignored);  // closes epoll_fd_
}

namespace {
bool arm(int epoll_fd, int fd, std::uint32_t events, Connection& connection, bool& registered) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &connection;
  if (::epoll_ctl(epoll_fd, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) != 0) return false;
  registered = true;
  return true;
}
}  // namespace

bool IdleWatcher::watch(int fd, Connection& connection, bool& registered) {
  return arm(epoll_fd_, fd, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, connection, registered);
}

bool IdleWatcher::watch_close(int fd, Connection& connection, bool& registered) {
  return arm(epoll_fd_, fd, EPOLLRDHUP | EPOLLONESHOT, connection, registered);
}

void IdleWatcher::unwatch(int fd, bool& registered) {
  // Removed rather than left with an empty mask: EPOLLHUP and EPOLLERR are
  // reported whatever the mask says.
  if (registered) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  registered = false;
}

void IdleWatcher::wait() {
  if (closed_) return;
  descriptor_.async_wait(asio::posix::descriptor_base::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    on_ready();
    wait();
  });
}

void IdleWatcher::on_ready() {
  std::array<epoll_event, kBatch> events;
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), kBatch, 0);
    if (n <= 0) return;
    // Take a reference to every reported connection before running any of
    // them: waking one may close another.
    std::array<LocalPtr<Connection>, kBatch> ready;
    for (int i = 0; i < n; ++i)
      ready[static_cast<std::size_t>(i)] = static_cast<Connection*>(events[static_cast<std::size_t>(i)].data.ptr);
    for (int i = 0; i < n; ++i) ready[static_cast<std::size_t>(i)]->on_watch_event();
    if (n < kBatch) return;
  }
}

}  // namespace tg::proxy
