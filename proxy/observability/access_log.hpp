// JSON access log (phase 7, record: docs/life-of-a-request.md; fields: docs/api.md).
//
// Each worker appends lines to its own buffer (no lock, no syscall per
// request). A full buffer, or one older than the flush interval, is handed to
// the writer thread, which owns the file. When the writer falls behind, whole
// buffers are dropped and their lines counted — the request path never waits.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace tg::proxy {

class AccessLogWriter {
 public:
  // `path` "-" is standard output. Throws std::runtime_error when it cannot open the file.
  explicit AccessLogWriter(const std::string& path);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Takes `buffer` (swapped with a recycled empty one). Returns false and
  // counts the lines as dropped when too many buffers are already waiting.
  bool submit(std::string& buffer, std::uint64_t lines);
  std::uint64_t dropped_lines() const { return dropped_.load(std::memory_order_relaxed); }
  // Writes whatever is queued, then returns (for shutdown).
  void flush();

 private:
  static constexpr std::size_t kMaxQueued = 64;
  void run();

  int fd_ = -1;
  bool owns_fd_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::string> queue_;
  std::deque<std::string> spare_;
  bool writing_ = false;
  bool stop_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

// The fields of one access-log line (docs/api.md, "Access log"). Fields from
// the table (route, service, tenant, instance, upstream) come JSON-escaped
// already: escaped once when the table is built, not once per request.
struct AccessLogRecord {
  std::string_view request_id;
  std::string_view client_ip;
  std::uint16_t client_port = 0;
  std::string_view method;
  std::string_view host;      // the Host header as received
  std::string_view path;
  std::string_view route;     // escaped
  std::string_view service;   // of the route; escaped
  std::string_view tenant;    // of the route's service; escaped
  std::string_view instance;  // escaped
  std::string_view upstream;  // the instance's address, IP:PORT
  std::uint16_t status = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t duration_ns = 0;
  std::uint64_t upstream_ns = 0;
  std::string_view error;
  std::string_view phase;     // the phase that answered an error itself; empty otherwise
  std::string_view fate;      // how the request ended (pipeline/step.hpp, Fate)
  // The limit a shadow rate or concurrency limit would have refused the
  // request by (limits/table_limits.hpp, LimitKind); empty: none (the
  // field is then left out).
  std::string_view shadow_limited;
};

// One per worker.
class AccessLogBuffer {
 public:
  static constexpr std::size_t kFlushBytes = 32 * 1024;
  static constexpr std::uint64_t kFlushIntervalMs = 500;

  explicit AccessLogBuffer(AccessLogWriter& writer) : writer_(writer) { buffer_.reserve(kFlushBytes + 4096); }

  std::string& line_buffer() { return buffer_; }
  // Appends one JSON line for `record`, stamped with the wall clock, and
  // counts it (line_done). No allocation once the buffer has grown, no
  // formatting library: the date part of the time is formatted once a second.
  void append(const AccessLogRecord& record, std::uint64_t now_ms);
  // Call after appending one complete line.
  void line_done(std::uint64_t now_ms);
  void flush_if_due(std::uint64_t now_ms);
  void flush();

 private:
  AccessLogWriter& writer_;
  std::string buffer_;
  std::uint64_t lines_ = 0;
  std::uint64_t first_line_ms_ = 0;
  std::int64_t cached_second_ = -1;
  char cached_time_[20] = {};  // "YYYY-MM-DDTHH:MM:SS" of cached_second_
};

// Appends `text` as a JSON string body (without quotes), escaping as needed.
void append_json_escaped(std::string& out, std::string_view text);
// `text` as a JSON string body (without quotes).
std::string json_escaped(std::string_view text);

}  // namespace tg::proxy
