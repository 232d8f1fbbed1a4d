#include "control/support/webhook_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace tg::itest {

WebhookReceiver::WebhookReceiver(std::uint16_t port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error(std::string("webhook receiver: bind/listen: ") + std::strerror(errno));
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

WebhookReceiver::~WebhookReceiver() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<WebhookRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t WebhookReceiver::count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

void WebhookReceiver::run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve(fd);
    ::close(fd);
  }
}

// One connection, requests one after another (keep-alive), each with a
// Content-Length body; up to 2 s of silence ends it.
void WebhookReceiver::serve(int fd) {
  std::string buffer;
  char chunk[8192];
  auto fill = [&]() -> bool {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return false;
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  while (!stop_) {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return;
    WebhookRequest request;
    const std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const std::size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    request.method = first.substr(0, sp1);
    request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
    while (at < head.size()) {
      std::size_t next = head.find("\r\n", at);
      if (next == std::string::npos) next = head.size();
      const std::string line = head.substr(at, next - at);
      at = next + 2;
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      request.headers[name] = value;
    }
    const std::size_t length =
        request.headers.contains("content-length") ? std::stoul(request.headers["content-length"]) : 0;
    while (buffer.size() < length)
      if (!fill()) return;
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);
    request.answered = status_;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    const std::string response = "HTTP/1.1 " + std::to_string(request.answered) +
                                 (request.answered < 300 ? " OK" : " Unavailable") +
                                 "\r\nContent-Length: 0\r\n\r\n";
    if (::write(fd, response.data(), response.size()) < 0) return;
  }
}

}  // namespace tg::itest
