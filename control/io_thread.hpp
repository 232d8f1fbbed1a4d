// An io_context run on a thread of its own, for I/O kept off the owner loop
// (control/auth/jwks_fetcher.*, control/health/prober.*).
//
// start() runs the context until stop(); stop() abandons the handlers still
// queued (they are not run) and joins the thread. Both are idempotent, and a
// stopped IoThread can be started again.
//
// Lifetime, for the owner (members are destroyed in reverse order):
//   * Its destructor calls stop() first, so no handler runs while the
//     owner's members are being destroyed.
//   * Objects bound to the context (timers, sockets) are declared after the
//     IoThread: they must go before the context does.
//   * Objects that queued handlers hold on to when they are destroyed (a
//     counter their destructor updates, a TLS context their streams use) are
//     declared before it: the context destroys those handlers last.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <thread>

namespace tg::control {

class IoThread {
 public:
  // `name` says whose thread it is in the log line of an escaped exception.
  explicit IoThread(std::string name) : name_(std::move(name)) {}
  ~IoThread() { stop(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  void start();
  void stop();
  bool running() const { return running_; }

  // Any thread.
  boost::asio::io_context& context() { return io_; }

 private:
  std::string name_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  bool running_ = false;
};

}  // namespace tg::control
