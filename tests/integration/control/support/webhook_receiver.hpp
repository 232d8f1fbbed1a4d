// A webhook receiver for the alerting tests: an HTTP/1.1 server on loopback
// that records every request (headers, body) and answers `status` (200 by
// default; 503 to play a receiver that is down, or refuse() to close the
// port). Its own thread; thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tg::itest {

struct WebhookRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  int answered = 0;  // the status it was answered
};

class WebhookReceiver {
 public:
  explicit WebhookReceiver(std::uint16_t port = 0);
  ~WebhookReceiver();
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_status(int status) { status_ = status; }
  std::vector<WebhookRequest> requests() const;
  std::size_t count() const;

 private:
  void run();
  void serve(int fd);
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<WebhookRequest> requests_;
  std::thread thread_;
};

}  // namespace tg::itest
