#include "tg_client.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <random>

namespace tg::client {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on `fd` until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int ms = remaining_ms(deadline);
    if (ms == 0) return false;
    const int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool split_address(const std::string& address, std::string& host, std::string& port) {
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  return !port.empty();
}

// A connected non-blocking socket, or -1 with `error`.
int connect_to(const std::string& address, Clock::time_point deadline, std::string& error) {
  std::string host, port;
  if (!split_address(address, host, port)) {
    error = "address \"" + address + "\": expected host:port";
    return -1;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "resolving " + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      int so_error = 0;
      socklen_t size = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &size);
      if (so_error == 0) break;
      error = "connect " + address + ": " + std::strerror(so_error);
    } else {
      error = errno == EINPROGRESS ? "connect " + address + ": timeout" : "connect " + address + ": " + std::strerror(errno);
    }
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd >= 0) error.clear();
  return fd;
}

std::string lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return text;
}

// Parses a complete response in `raw` (Content-Length or read to close).
// False while more bytes are needed.
bool parse_response(const std::string& raw, bool closed, PostResult& out) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  if (raw.size() < 12 || raw.compare(0, 5, "HTTP/") != 0) {
    out.error = "not an HTTP response";
    return true;
  }
  const auto space = raw.find(' ');
  out.status = std::atoi(raw.c_str() + space + 1);
  std::size_t content_length = std::string::npos;
  std::size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    const auto eol = raw.find("\r\n", line);
    const std::string field = raw.substr(line, eol - line);
    const auto colon = field.find(':');
    if (colon != std::string::npos) {
      const std::string name = lower(field.substr(0, colon));
      std::string value = field.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-length") content_length = std::strtoull(value.c_str(), nullptr, 10);
      if (name == "retry-after") out.retry_after = std::chrono::seconds(std::atoi(value.c_str()));
    }
    line = eol + 2;
  }
  const std::size_t body_start = head_end + 4;
  if (content_length != std::string::npos) {
    if (raw.size() < body_start + content_length) return false;
    out.body = raw.substr(body_start, content_length);
    return true;
  }
  if (!closed) return false;
  out.body = raw.substr(body_start);
  return true;
}

std::string number_text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

}  // namespace

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

PostResult post_json(const std::string& address, const std::string& path, const std::string& token,
                     const std::string& body, std::chrono::milliseconds timeout) {
  PostResult result;
  const auto deadline = Clock::now() + timeout;
  const int fd = connect_to(address, deadline, result.error);
  if (fd < 0) return result;
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + address +
                        "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "\r\n" + body;
  std::size_t written = 0;
  while (written < request.size()) {
    const ssize_t n = ::send(fd, request.data() + written, request.size() - written, MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The server may answer (413) and close before reading everything: read what it said.
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
    if (!wait_for(fd, POLLOUT, deadline)) {
      result.error = "timeout sending the request";
      ::close(fd);
      return result;
    }
  }
  std::string raw;
  char buffer[16 * 1024];
  bool closed = false;
  while (true) {
    if (parse_response(raw, closed, result)) break;
    if (closed) {
      result.status = 0;
      result.error = raw.empty() ? "the connection closed without an answer" : "the answer was cut short";
      break;
    }
    if (!wait_for(fd, POLLIN, deadline)) {
      result.status = 0;
      result.error = "timeout waiting for the answer";
      break;
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) raw.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0) closed = true;
    else if (errno != EINTR && errno != EAGAIN) closed = true;
  }
  ::close(fd);
  return result;
}

std::string event_json(const Event& e) {
  std::string out = "{\"service\":" + json_string(e.service);
  if (!e.instance.empty()) out += ",\"instance\":" + json_string(e.instance);
  out += ",\"kind\":" + json_string(e.kind) + ",\"level\":" + json_string(e.level) +
         ",\"message\":" + json_string(e.message);
  if (!e.detail_json.empty()) out += ",\"detail\":" + e.detail_json;
  if (!e.fingerprint.empty()) out += ",\"fingerprint\":" + json_string(e.fingerprint);
  if (e.time_unix_ms != 0) out += ",\"time\":" + std::to_string(e.time_unix_ms);
  return out + "}";
}

std::string status_json(const Status& s) {
  std::string out = "{\"instance\":" + json_string(s.instance) + ",\"cpu\":" + number_text(s.cpu) +
                    ",\"memory_bytes\":" + std::to_string(s.memory_bytes) +
                    ",\"restarts\":" + std::to_string(s.restarts) + ",\"load\":" + number_text(s.load);
  if (!s.detail_json.empty()) out += ",\"detail\":" + s.detail_json;
  return out + "}";
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

Client::~Client() {
  flush(options_.timeout);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Client::enqueue(Report report) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_capacity && !queue_.empty()) {
      queue_.pop_front();
      ++stats_.dropped_queue_full;
    }
    queue_.push_back(std::move(report));
    ++stats_.queued;
  }
  wake_.notify_one();
}

void Client::report_event(Event event) {
  if (event.time_unix_ms == 0)
    event.time_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
  enqueue(std::move(event));
}
void Client::report_status(Status status) { enqueue(std::move(status)); }
void Client::heartbeat(std::string instance) { enqueue(Heartbeat{std::move(instance)}); }

bool Client::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return drained_.wait_for(lock, timeout, [this] { return queue_.empty() && in_flight_ == 0; });
}

ClientStats Client::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Client::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::string path, body;
    std::size_t reports = 0;
    if (std::holds_alternative<Event>(queue_.front())) {
      body = "{\"events\":[";
      while (!queue_.empty() && reports < options_.max_batch && std::holds_alternative<Event>(queue_.front())) {
        body += (reports == 0 ? "" : ",") + event_json(std::get<Event>(queue_.front()));
        queue_.pop_front();
        ++reports;
      }
      body += "]}";
      path = "/v1/ingest/events";
    } else if (auto* status = std::get_if<Status>(&queue_.front())) {
      body = status_json(*status);
      path = "/v1/ingest/status";
      queue_.pop_front();
      reports = 1;
    } else {
      body = "{\"instance\":" + json_string(std::get<Heartbeat>(queue_.front()).instance) + "}";
      path = "/v1/ingest/heartbeat";
      queue_.pop_front();
      reports = 1;
    }
    in_flight_ += reports;
    lock.unlock();
    send(path, body, reports);
    lock.lock();
    in_flight_ -= reports;
    if (queue_.empty() && in_flight_ == 0) drained_.notify_all();
  }
}

void Client::send(const std::string& path, const std::string& body, std::size_t reports) {
  std::mt19937_64 random(std::random_device{}());
  auto backoff = options_.backoff_initial;
  for (int attempt = 1;; ++attempt) {
    const PostResult result = post_json(options_.address, path, options_.token, body, options_.timeout);
    std::unique_lock lock(mutex_);
    ++stats_.requests;
    if (result.ok()) {
      stats_.sent += reports;
      return;
    }
    if (!result.retryable()) {
      stats_.rejected += reports;
      return;
    }
    if (attempt >= options_.max_attempts) {
      stats_.failed += reports;
      return;
    }
    ++stats_.retries;
    // Full jitter: a random wait up to the current back-off, at least Retry-After.
    std::uniform_int_distribution<long long> pick(0, backoff.count());
    auto wait = std::chrono::milliseconds(pick(random));
    if (wait < result.retry_after) wait = result.retry_after;
    backoff = std::min(backoff * 2, options_.backoff_max);
    // Stopping cuts the wait short, not the attempt: the destructor's flush bounds the whole.
    wake_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) {
      stats_.failed += reports;
      return;
    }
  }
}

}  // namespace tg::client
