// A notification receiver for the delivery tests: an HTTP/1.1 server on
// 127.0.0.1 (port 0, or a given port so a test can take it down and bring it
// back), one thread per connection, that records every request (target,
// headers, body, arrival) and answers what the test's script says. The
// script runs on the connection's thread and must not use Catch2 macros.
// Plain HTTP, or HTTPS with a certificate the test made.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tg::itest {

struct ReceivedRequest {
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::chrono::steady_clock::time_point at;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct ReceiverAnswer {
  int status = 200;
  std::chrono::milliseconds delay{0};  // before answering (cut short by stop())
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class Receiver {
 public:
  // `index` counts the requests received before this one.
  using Script = std::function<ReceiverAnswer(const ReceivedRequest& request, std::size_t index)>;

  explicit Receiver(Script script = {}, std::uint16_t port = 0);
  // Over TLS with the certificate (chain) and key of these PEM files.
  Receiver(Script script, const std::string& certificate_pem, const std::string& key_pem);
  ~Receiver();  // stop()
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::uint16_t port() const;
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const;
  std::vector<ReceivedRequest> requests() const;
  std::size_t count() const;
  std::size_t max_concurrent() const;  // connections answered at once, at most

  // Closes the listener and every connection, joins the threads (idempotent).
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tg::itest
