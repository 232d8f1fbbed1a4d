// tg_client: the small C++ library tenant containers link to report to
// tg-control's HTTP port (docs/api.md, "Ingest"): business events, status
// and heartbeats, authenticated with the secret of an `ingest` credential of
// their tenant. No gRPC, no Boost: POSIX sockets and a minimal HTTP/1.1
// client, so it drops into any container image.
//
// Client::report_event / report_status / heartbeat never block the caller:
// they put the report into a bounded queue and return. When the queue is
// full the OLDEST report is dropped (and counted): the newest state is the
// most useful one. One background thread sends: consecutive events go as
// one {"events": [...]} request of up to max_batch, status reports and
// heartbeats one request each. A request answered 429 or 503, one that
// failed to connect or timed out, and a 5xx are retried with exponential
// back-off and full jitter (Retry-After, when given, is a lower bound) up to
// max_attempts; any other 4xx is final (the report is wrong; counted as
// rejected, never retried).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace tg::client {

// ---- one request, synchronously (tgctl report uses this)

struct PostResult {
  int status = 0;     // the HTTP status; 0 when no answer came (see error)
  std::string body;   // the answer's body
  std::string error;  // why no answer came (connect refused, timeout, ...)
  std::chrono::milliseconds retry_after{0};  // the Retry-After header (seconds), 0 when absent
  bool ok() const { return status >= 200 && status < 300; }
  // Worth trying again: no answer, 429, or 5xx.
  bool retryable() const { return status == 0 || status == 429 || status >= 500; }
};

// POSTs `body` (JSON) to http://ADDRESS/PATH with "Authorization: Bearer
// TOKEN" (none when empty). ADDRESS is "host:port" or "[v6]:port". Every
// wait (resolve aside) is bounded by `timeout` in all.
PostResult post_json(const std::string& address, const std::string& path, const std::string& token,
                     const std::string& body, std::chrono::milliseconds timeout);

// `text` as a JSON string literal, quotes included.
std::string json_string(const std::string& text);

// ---- the reporting client

struct Event {
  std::string service;   // required: a service of the credential's tenant
  std::string instance;  // optional
  std::string kind;      // required: "OrderFailed", "TimeoutError", ...
  std::string level = "error";  // debug | info | warning | error | critical
  std::string message;          // required
  std::string detail_json;      // a JSON object, or empty
  std::string fingerprint;      // optional: the group key (default: the message with ids masked)
  std::int64_t time_unix_ms = 0;  // 0: stamped when reported
};

struct Status {
  std::string instance;  // required: a registered instance of the tenant
  double cpu = 0;        // cores in use
  std::int64_t memory_bytes = 0;
  std::int64_t restarts = 0;
  double load = 0;
  std::string detail_json;  // a JSON object, or empty
};

// The JSON bodies the endpoints take.
std::string event_json(const Event& event);
std::string status_json(const Status& status);

struct ClientOptions {
  std::string address;  // tg-control's HTTP port, "host:port"
  std::string token;    // the secret of an ingest credential
  std::size_t queue_capacity = 10'000;  // reports waiting; beyond, the oldest is dropped
  std::size_t max_batch = 100;          // events per request
  std::chrono::milliseconds timeout{5'000};  // per request
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10'000};
  int max_attempts = 8;  // per request; then its reports are dropped (counted as failed)
};

struct ClientStats {
  std::uint64_t queued = 0;             // reports accepted into the queue
  std::uint64_t dropped_queue_full = 0;  // oldest reports dropped for a full queue
  std::uint64_t sent = 0;               // reports tg-control acknowledged
  std::uint64_t requests = 0;           // requests made (retries included)
  std::uint64_t retries = 0;
  std::uint64_t rejected = 0;  // reports refused with a final 4xx
  std::uint64_t failed = 0;    // reports given up after max_attempts
};

class Client {
 public:
  explicit Client(ClientOptions options);
  // Sends what is queued for at most options.timeout, then stops.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void report_event(Event event);
  void report_status(Status status);
  void heartbeat(std::string instance);

  // Waits until every report queued so far was sent, refused or given up,
  // at most `timeout`; true when the queue drained in time.
  bool flush(std::chrono::milliseconds timeout);
  ClientStats stats() const;

 private:
  struct Heartbeat {
    std::string instance;
  };
  using Report = std::variant<Event, Status, Heartbeat>;
  void enqueue(Report report);
  void run();
  // Sends one request (with retries); the reports it carries.
  void send(const std::string& path, const std::string& body, std::size_t reports);

  const ClientOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, drained_;
  std::deque<Report> queue_;
  std::size_t in_flight_ = 0;  // reports taken off the queue, not finished
  bool stopping_ = false;
  ClientStats stats_;
  std::thread thread_;
};

}  // namespace tg::client
