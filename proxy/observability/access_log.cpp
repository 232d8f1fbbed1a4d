#include "observability/access_log.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
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

namespace {

// True when one of the eight bytes in `w` needs escaping in a JSON string:
// '"', '\\', a control character (< 0x20), DEL or a byte >= 0x80. Exact for
// "any byte", which is all the caller asks: most field values (names,
// addresses, paths) need no escape at all, and are copied eight bytes per test.
bool block_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  const std::uint64_t zero_in_quote = (quote - kOnes) & ~quote & kHigh;
  const std::uint64_t zero_in_backslash = (backslash - kOnes) & ~backslash & kHigh;
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  const std::uint64_t del_or_high = ((w + kOnes) | w) & kHigh;  // a carry comes only from 0xff, itself high
  return (zero_in_quote | zero_in_backslash | below_space | del_or_high) != 0;
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* data = text.data();
  const std::size_t size = text.size();
  std::size_t run = 0;  // start of the current run of characters needing no escape
  std::size_t i = 0;
  while (i < size) {
    if (size - i >= 8) {
      std::uint64_t block;
      std::memcpy(&block, data + i, 8);
      if (!block_needs_escape(block)) {
        i += 8;
        continue;
      }
    }
    const std::size_t end = std::min(size, i + 8);
    for (; i < end; ++i) {
      const char c = data[i];
      const auto u = static_cast<unsigned char>(c);
      if (c != '"' && c != '\\' && u >= 0x20 && u < 0x7f) continue;
      out.append(data + run, i - run);
      run = i + 1;
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else {
        out.append("\\u00");
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 15]);
      }
    }
  }
  out.append(data + run, size - run);
}

std::string json_escaped(std::string_view text) {
  std::string out;
  append_json_escaped(out, text);
  return out;
}

namespace {

void append_uint(std::string& out, std::uint64_t value) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

// Nanoseconds as milliseconds with three decimals ("0.420").
void append_millis(std::string& out, std::uint64_t ns) {
  const std::uint64_t micros = ns / 1000;
  append_uint(out, micros / 1000);
  const unsigned frac = static_cast<unsigned>(micros % 1000);
  const char text[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                        static_cast<char>('0' + frac % 10)};
  out.append(text, 4);
}

}  // namespace

void AccessLogBuffer::append(const AccessLogRecord& r, std::uint64_t now_ms) {
  std::string& line = buffer_;
  const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  const std::int64_t second = wall_ms / 1000;
  if (second != cached_second_) {
    const std::time_t secs = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(cached_time_, sizeof cached_time_, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second_ = second;
  }
  const unsigned ms = static_cast<unsigned>(wall_ms % 1000);
  line.append(R"({"time":")");
  line.append(cached_time_, 19);
  const char millis[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                          static_cast<char>('0' + ms % 10), 'Z'};
  line.append(millis, 5);
  line.append(R"(","request_id":")");
  line.append(r.request_id);
  line.append(R"(","client":")");
  line.append(r.client_ip);
  line.push_back(':');
  append_uint(line, r.client_port);
  line.append(R"(","method":")");
  append_json_escaped(line, r.method);
  line.append(R"(","host":")");
  append_json_escaped(line, r.host);
  line.append(R"(","path":")");
  append_json_escaped(line, r.path);
  line.append(R"(","route":")");
  line.append(r.route);
  line.append(R"(","service":")");
  line.append(r.service);
  line.append(R"(","tenant":")");
  line.append(r.tenant);
  line.append(R"(","instance":")");
  line.append(r.instance);
  line.append(R"(","upstream":")");
  line.append(r.upstream);
  line.append(R"(","status":)");
  append_uint(line, r.status);
  line.append(R"(,"bytes_in":)");
  append_uint(line, r.bytes_in);
  line.append(R"(,"bytes_out":)");
  append_uint(line, r.bytes_out);
  line.append(R"(,"duration_ms":)");
  append_millis(line, r.duration_ns);
  line.append(R"(,"upstream_ms":)");
  append_millis(line, r.upstream_ns);
  line.append(R"(,"error":")");
  line.append(r.error);
  line.append(R"(","phase":")");
  line.append(r.phase);
  line.append(R"(","fate":")");
  line.append(r.fate);
  if (!r.shadow_limited.empty()) {
    line.append(R"(","shadow_limited":")");
    line.append(r.shadow_limited);
  }
  line.append("\"}\n");
  line_done(now_ms);
}

}  // namespace tg::proxy
