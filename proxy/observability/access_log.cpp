#include "observability/access_log.hpp"

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace tg::proxy {

AccessLogWriter::AccessLogWriter(const std::string& path) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open access log '" + path + "': " + std::strerror(errno));
    owns_fd_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (owns_fd_) ::close(fd_);
}

bool AccessLogWriter::submit(std::string& buffer, std::uint64_t lines) {
  std::unique_lock lock(mutex_);
  if (queue_.size() >= kMaxQueued) {
    lock.unlock();
    dropped_.fetch_add(lines, std::memory_order_relaxed);
    buffer.clear();
    return false;
  }
  std::string replacement;
  if (!spare_.empty()) {
    replacement = std::move(spare_.back());
    spare_.pop_back();
  }
  queue_.push_back(std::move(buffer));
  buffer = std::move(replacement);
  buffer.clear();
  lock.unlock();
  wake_.notify_one();
  return true;
}

void AccessLogWriter::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

void AccessLogWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    std::string chunk = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    std::size_t done = 0;
    while (done < chunk.size()) {
      ssize_t n = ::write(fd_, chunk.data() + done, chunk.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // disk full or closed: the rest of this chunk is lost
      done += static_cast<std::size_t>(n);
    }
    chunk.clear();
    lock.lock();
    writing_ = false;
    if (spare_.size() < kMaxQueued) spare_.push_back(std::move(chunk));
    if (queue_.empty()) idle_.notify_all();
  }
}

void AccessLogBuffer::line_done(std::uint64_t now_ms) {
  if (lines_++ == 0) first_line_ms_ = now_ms;
  if (buffer_.size() >= kFlushBytes) flush();
}

void AccessLogBuffer::flush_if_due(std::uint64_t now_ms) {
  if (lines_ && now_ms - first_line_ms_ >= kFlushIntervalMs) flush();
}

void AccessLogBuffer::flush() {
  if (!lines_) return;
  writer_.submit(buffer_, lines_);
  if (buffer_.capacity() < kFlushBytes) buffer_.reserve(kFlushBytes + 4096);
  lines_ = 0;
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace tg::proxy
