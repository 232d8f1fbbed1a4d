#include "io_thread.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>

namespace tg::control {

void IoThread::start() {
  if (running_) return;
  running_ = true;
  io_.restart();  // after a stop(), run() would return at once
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      // Handlers report their errors; an exception here is a bug.
      spdlog::critical("tg-control: {}: {}", name_, e.what());
      std::abort();
    }
  });
}

void IoThread::stop() {
  if (!running_) return;
  running_ = false;
  work_.reset();
  io_.stop();
  thread_.join();
}

}  // namespace tg::control
