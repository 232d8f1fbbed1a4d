#include "session/idle_watcher.hpp"

#include "session/client_session.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
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

bool IdleWatcher::watch(int fd, ClientSession& session, bool& registered) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  event.data.ptr = &session;
  if (::epoll_ctl(epoll_fd_, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) != 0) return false;
  registered = true;
  return true;
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
    // Take a reference to every reported session before running any of
    // them: waking one may close another.
    std::array<LocalPtr<ClientSession>, kBatch> ready;
    for (int i = 0; i < n; ++i) ready[static_cast<std::size_t>(i)] = static_cast<ClientSession*>(events[static_cast<std::size_t>(i)].data.ptr);
    for (int i = 0; i < n; ++i) ready[static_cast<std::size_t>(i)]->on_idle_readable();
    if (n < kBatch) return;
  }
}

}  // namespace tg::proxy
