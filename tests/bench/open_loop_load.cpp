// open-loop-load: constant-rate HTTP/1.1 load with latency corrected for
// coordinated omission (not run by CI; tests/bench/resilience.py drives it).
//
//   open-loop-load --target 127.0.0.1:8080 --rate 5000 --seconds 20 --connections 32
//
// Requests are scheduled at a fixed rate from the start (request i at
// start + i / rate) whatever the answers do, and each one's latency runs from
// its *scheduled* time, not from when it was written: a request that waits
// because every connection is busy (a stalled proxy) is charged that wait.
// A closed-loop tool (wrk) would instead stop sending while it waits, and
// leave the stall out of its percentiles (coordinated omission).
//
// One thread, N keep-alive connections. A scheduled request goes to any idle
// connection, oldest first; when none is idle it queues (its clock running):
// a client with a connection pool. With --per-connection, request i belongs
// to connection i mod N and waits for that one (N clients of rate/N each, as
// wrk2 models them): a connection stuck on a slow answer delays all of its
// own later requests, even while other connections are idle.
// An answer of any status ends the request; a 4xx or 5xx, a broken connection, a
// malformed answer or no answer within --timeout is an error, counted by kind,
// and the connection is opened again (an idle connection the server closes is
// opened again without an error, as a pooling client does). Latencies are kept whole (one 4-byte
// value per request), so the percentiles are exact, not bucketed; errors are
// included in them (a 504 after a long wait is a slow answer too).
//
// Output (stdout): key=value lines: rate, sent, ok, errors, error_<kind>,
// status_<code>, p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms, late_start_ms
// (how far the sender itself fell behind its schedule, at most),
// start_monotonic_ns (the schedule's start on CLOCK_MONOTONIC).
// --timeline FILE: per 100 ms of schedule time: requests, errors, p50/max.
// --slow-ms N --slow-log FILE: every request slower than N ms: scheduled time
// (ms from start), latency, connection, status, first line of the body.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/";
  double rate = 1000;
  double seconds = 10;
  int connections = 32;
  double timeout_s = 10;
  std::string timeline_file;
  std::string slow_log_file;
  double slow_ms = 50;
  bool per_connection = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr,
               "open-loop-load: %s\nusage: open-loop-load --target HOST:PORT --rate N "
               "[--seconds S] [--connections N] [--path /] [--timeout S] "
               "[--per-connection] [--timeline FILE] [--slow-ms N --slow-log FILE]\n",
               message.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--per-connection") {
      o.per_connection = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("missing value for " + std::string(flag));
    std::string value = argv[++i];
    auto number = [&]() {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0' || !(v > 0)) {
        usage_error("bad value '" + value + "' for " + std::string(flag));
      }
      return v;
    };
    if (flag == "--target") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos) usage_error("--target wants HOST:PORT");
      o.host = value.substr(0, colon);
      o.port = value.substr(colon + 1);
    } else if (flag == "--path") {
      o.path = value;
    } else if (flag == "--rate") {
      o.rate = number();
    } else if (flag == "--seconds") {
      o.seconds = number();
    } else if (flag == "--connections") {
      o.connections = static_cast<int>(number());
    } else if (flag == "--timeout") {
      o.timeout_s = number();
    } else if (flag == "--timeline") {
      o.timeline_file = value;
    } else if (flag == "--slow-log") {
      o.slow_log_file = value;
    } else if (flag == "--slow-ms") {
      o.slow_ms = number();
    } else {
      usage_error("unknown flag " + std::string(flag));
    }
  }
  if (o.port.empty()) usage_error("--target is required");
  return o;
}

// One finished request.
struct Sample {
  std::uint32_t scheduled_us;  // from the start
  std::uint32_t latency_us;
};

struct SlowRecord {
  Sample sample;
  int connection;
  int status;  // 0: no answer
  std::string kind;
  std::string body;
};

class Load;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Load& load, int id);
  void connect();
  void send(Clock::time_point scheduled);
  bool idle() const { return ready_ && !busy_; }
  std::deque<Clock::time_point>& queue() { return queue_; }
  bool busy() const { return busy_; }
  Clock::time_point written() const { return written_; }
  void expire();  // the request took longer than --timeout
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  void on_read(error_code ec, std::size_t n);
  void read_more();
  void watch_idle();
  bool parse_answer();  // true when a whole answer is in buffer_
  void fail(const char* kind);

  Load& load_;
  int id_;
  tcp::socket socket_;
  bool ready_ = false;
  bool reading_ = false;  // a read is pending (an idle connection keeps one to see a close)
  bool busy_ = false;
  unsigned generation_ = 0;  // callbacks of a closed socket are stale
  Clock::time_point scheduled_;
  Clock::time_point written_;
  std::string buffer_;
  std::size_t filled_ = 0;
  std::deque<Clock::time_point> queue_;  // --per-connection: this connection's waiting requests
};

class Load {
 public:
  explicit Load(Options options)
      : options_(std::move(options)), timer_(io_), sweep_(io_) {
    tcp::resolver resolver(io_);
    endpoints_ = resolver.resolve(options_.host, options_.port);
    request_ = "GET " + options_.path + " HTTP/1.1\r\nHost: " + options_.host + ":" +
               options_.port + "\r\nUser-Agent: open-loop-load\r\n\r\n";
    total_ = static_cast<std::uint64_t>(std::llround(options_.rate * options_.seconds));
    samples_.reserve(total_);
  }

  int run() {
    for (int i = 0; i < options_.connections; ++i) {
      connections_.push_back(std::make_shared<Connection>(*this, i));
    }
    for (auto& c : connections_) c->connect();
    start_ = Clock::now();
    schedule();
    sweep();
    io_.run();
    report();
    return 0;
  }

  asio::io_context& io() { return io_; }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }
  const std::string& request() const { return request_; }
  double timeout_s() const { return options_.timeout_s; }

  // A connection is ready for a request (new, or its last answer arrived).
  void on_idle(Connection& c) {
    auto& queue = options_.per_connection ? c.queue() : queue_;
    if (!queue.empty()) {
      auto scheduled = queue.front();
      queue.pop_front();
      c.send(scheduled);
    }
  }

  void finish(Clock::time_point scheduled, int connection, int status, const char* kind,
              std::string_view body) {
    auto now = Clock::now();
    Sample s{static_cast<std::uint32_t>(
                 std::chrono::duration_cast<std::chrono::microseconds>(scheduled - start_).count()),
             static_cast<std::uint32_t>(
                 std::chrono::duration_cast<std::chrono::microseconds>(now - scheduled).count())};
    samples_.push_back(s);
    if (status != 0) ++statuses_[status];
    if (kind != nullptr) ++errors_[kind];
    if (!options_.slow_log_file.empty() && s.latency_us >= options_.slow_ms * 1000) {
      auto line_end = body.find_first_of("\r\n");
      slow_.push_back({s, connection, status, kind ? kind : "",
                       std::string(body.substr(0, std::min<std::size_t>(line_end, 60)))});
    }
    maybe_stop();
  }

 private:
  // Issue every request whose time has come, then sleep until the next one.
  void schedule() {
    auto now = Clock::now();
    while (issued_ < total_) {
      auto due = start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                              static_cast<double>(issued_) * 1e9 / options_.rate));
      if (due > now) {
        timer_.expires_at(due);
        timer_.async_wait([this](error_code ec) {
          if (!ec) schedule();
        });
        return;
      }
      late_start_ = std::max(late_start_, now - due);
      dispatch(due, issued_++);
    }
    maybe_stop();
  }

  void dispatch(Clock::time_point scheduled, std::uint64_t index) {
    if (options_.per_connection) {
      auto& c = *connections_[index % connections_.size()];
      if (c.idle() && c.queue().empty()) {
        c.send(scheduled);
      } else {
        c.queue().push_back(scheduled);
      }
      return;
    }
    // Oldest queued first: a new request never overtakes one already waiting.
    if (queue_.empty()) {
      for (auto& c : connections_) {
        if (c->idle()) {
          c->send(scheduled);
          return;
        }
      }
    }
    queue_.push_back(scheduled);
  }

  // Every 10 ms: requests past --timeout are failed (their connection reopened).
  void sweep() {
    auto limit = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.timeout_s));
    auto now = Clock::now();
    for (auto& c : connections_) {
      if (c->busy() && now - c->written() > limit) c->expire();
    }
    // Queued requests the run can no longer send in time count as timeouts too.
    auto drop_expired = [&](std::deque<Clock::time_point>& queue) {
      while (!queue.empty() && now - queue.front() > limit) {
        auto scheduled = queue.front();
        queue.pop_front();
        finish(scheduled, -1, 0, "timeout", {});
      }
    };
    drop_expired(queue_);
    for (auto& c : connections_) drop_expired(c->queue());
    if (stopped_) return;
    sweep_.expires_after(std::chrono::milliseconds(10));
    sweep_.async_wait([this](error_code ec) {
      if (!ec) sweep();
    });
  }

  void maybe_stop() {
    if (stopped_ || issued_ < total_ || samples_.size() < total_) return;
    stopped_ = true;
    timer_.cancel();
    sweep_.cancel();
    for (auto& c : connections_) c->close();
  }

  void report();

  Options options_;
  asio::io_context io_{1};
  tcp::resolver::results_type endpoints_;
  std::string request_;
  asio::steady_timer timer_;
  asio::steady_timer sweep_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::deque<Clock::time_point> queue_;
  Clock::time_point start_;
  Clock::duration late_start_{};
  std::uint64_t total_ = 0;
  std::uint64_t issued_ = 0;
  bool stopped_ = false;
  std::vector<Sample> samples_;
  std::map<std::string, std::uint64_t> errors_;
  std::map<int, std::uint64_t> statuses_;
  std::vector<SlowRecord> slow_;

  friend class Connection;

 public:
  std::uint64_t reconnects = 0;
  std::uint64_t idle_closed = 0;  // idle connections the server closed (not errors)
};

Connection::Connection(Load& load, int id) : load_(load), id_(id), socket_(load.io()) {
  buffer_.resize(16384);
}

void Connection::connect() {
  ready_ = false;
  reading_ = false;
  busy_ = false;
  filled_ = 0;
  close();
  socket_ = tcp::socket(load_.io());
  auto generation = ++generation_;
  auto self = shared_from_this();
  asio::async_connect(socket_, load_.endpoints(),
                      [self, generation](error_code ec, const tcp::endpoint&) {
                        if (generation != self->generation_ || self->load_.stopped_) return;
                        if (ec) {
                          // The target refuses: try again shortly (queued requests wait).
                          auto timer = std::make_shared<asio::steady_timer>(
                              self->load_.io(), std::chrono::milliseconds(10));
                          timer->async_wait([self, timer](error_code) {
                            if (!self->load_.stopped_) self->connect();
                          });
                          return;
                        }
                        self->socket_.set_option(tcp::no_delay(true));
                        self->ready_ = true;
                        self->load_.on_idle(*self);
                        self->watch_idle();
                      });
}

void Connection::send(Clock::time_point scheduled) {
  busy_ = true;
  scheduled_ = scheduled;
  written_ = Clock::now();
  filled_ = 0;
  auto generation = generation_;
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(load_.request()),
                    [self, generation](error_code ec, std::size_t) {
                      if (generation != self->generation_) return;
                      if (ec) self->fail("write_error");
                    });
  if (!reading_) read_more();  // else the idle connection's pending read takes the answer
}

// One read into the free end of the buffer. Its completion while a request is
// under way is part of the answer; while the connection is idle it can only be
// the server closing it (an idle timeout) or sending what nobody asked for: the
// connection is opened again, not counted as an error (a client with a pool
// does the same), but counted as idle_closed.
void Connection::read_more() {
  reading_ = true;
  auto generation = generation_;
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(buffer_.data() + filled_, buffer_.size() - filled_),
                          [self, generation](error_code ec, std::size_t n) {
                            if (generation != self->generation_) return;
                            self->reading_ = false;
                            if (self->busy_) {
                              self->on_read(ec, n);
                            } else if (!self->load_.stopped_) {
                              ++self->load_.idle_closed;
                              ++self->load_.reconnects;
                              self->connect();
                            }
                          });
}

void Connection::watch_idle() {
  if (!busy_ && ready_ && !reading_ && !load_.stopped_) read_more();
}

void Connection::on_read(error_code ec, std::size_t n) {
  if (ec) {
    fail(ec == asio::error::eof ? "closed" : "reset");
    return;
  }
  filled_ += n;
  if (parse_answer()) return;
  if (filled_ == buffer_.size()) {
    fail("bad_answer");
    return;
  }
  read_more();
}

// A whole answer (head + Content-Length body) in the buffer: finish the request.
bool Connection::parse_answer() {
  std::string_view data(buffer_.data(), filled_);
  auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  std::string_view head = data.substr(0, head_end + 2);
  int status = 0;
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/" ||
      std::sscanf(std::string(head.substr(9, 3)).c_str(), "%d", &status) != 1) {
    fail("bad_answer");
    return true;
  }
  std::size_t length = 0;
  bool close_after = false;
  std::size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    std::string line(head.substr(pos, end - pos));
    pos = end + 2;
    for (auto& ch : line) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (line.rfind("content-length:", 0) == 0) {
      length = std::strtoull(line.c_str() + 15, nullptr, 10);
    } else if (line.rfind("connection:", 0) == 0 && line.find("close") != std::string::npos) {
      close_after = true;
    } else if (line.rfind("transfer-encoding:", 0) == 0) {
      fail("bad_answer");  // the backends here always send Content-Length
      return true;
    }
  }
  if (data.size() < head_end + 4 + length) {
    if (head_end + 4 + length > buffer_.size()) {
      fail("bad_answer");
      return true;
    }
    return false;
  }
  std::string_view body = data.substr(head_end + 4, length);
  busy_ = false;
  load_.finish(scheduled_, id_, status,
               status >= 500 ? "http_5xx" : status >= 400 ? "http_4xx" : nullptr, body);
  if (load_.stopped_) return true;
  if (close_after) {
    ++load_.reconnects;
    connect();
  } else {
    filled_ = 0;
    load_.on_idle(*this);
    watch_idle();
  }
  return true;
}

void Connection::fail(const char* kind) {
  if (!busy_) return;
  busy_ = false;
  auto generation_before = generation_;
  load_.finish(scheduled_, id_, 0, kind, {});
  if (load_.stopped_ || generation_before != generation_) return;
  ++load_.reconnects;
  connect();
}

void Connection::expire() { fail("timeout"); }

double percentile_ms(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1] / 1000.0;
}

void Load::report() {
  std::vector<std::uint32_t> latencies;
  latencies.reserve(samples_.size());
  double sum = 0;
  for (const auto& s : samples_) {
    latencies.push_back(s.latency_us);
    sum += s.latency_us;
  }
  std::sort(latencies.begin(), latencies.end());
  std::uint64_t errors = 0;
  for (const auto& [kind, n] : errors_) errors += n;
  auto elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  std::printf("mode=%s\n", options_.per_connection ? "per_connection" : "pool");
  std::printf("rate=%.0f\nconnections=%d\nseconds=%.1f\nsent=%llu\ncompleted=%zu\n",
              options_.rate, options_.connections, elapsed,
              static_cast<unsigned long long>(issued_), samples_.size());
  std::printf("idle_closed=%llu\n", static_cast<unsigned long long>(idle_closed));
  std::printf("ok=%llu\nerrors=%llu\nreconnects=%llu\n",
              static_cast<unsigned long long>(samples_.size() - errors),
              static_cast<unsigned long long>(errors),
              static_cast<unsigned long long>(reconnects));
  for (const auto& [kind, n] : errors_) {
    std::printf("error_%s=%llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  }
  for (const auto& [code, n] : statuses_) {
    std::printf("status_%d=%llu\n", code, static_cast<unsigned long long>(n));
  }
  std::printf("p50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\np999_ms=%.3f\nmax_ms=%.3f\nmean_ms=%.3f\n",
              percentile_ms(latencies, 0.50), percentile_ms(latencies, 0.90),
              percentile_ms(latencies, 0.99), percentile_ms(latencies, 0.999),
              latencies.empty() ? 0.0 : latencies.back() / 1000.0,
              latencies.empty() ? 0.0 : sum / 1000.0 / static_cast<double>(latencies.size()));
  std::printf("late_start_ms=%.3f\n",
              std::chrono::duration<double, std::milli>(late_start_).count());
  // CLOCK_MONOTONIC (steady_clock on Linux): lets a driver place its own events
  // (faults) on the schedule's time axis.
  std::printf("start_monotonic_ns=%lld\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch())
                      .count()));

  if (!options_.timeline_file.empty()) {
    if (FILE* f = std::fopen(options_.timeline_file.c_str(), "w")) {
      std::map<std::uint32_t, std::vector<std::uint32_t>> windows;  // 100 ms windows
      for (const auto& s : samples_) windows[s.scheduled_us / 100000].push_back(s.latency_us);
      std::fprintf(f, "t_ms\trequests\tp50_ms\tp99_ms\tmax_ms\n");
      for (auto& [w, values] : windows) {
        std::sort(values.begin(), values.end());
        std::fprintf(f, "%u\t%zu\t%.3f\t%.3f\t%.3f\n", w * 100, values.size(),
                     percentile_ms(values, 0.5), percentile_ms(values, 0.99),
                     values.back() / 1000.0);
      }
      std::fclose(f);
    }
  }
  if (!options_.slow_log_file.empty()) {
    if (FILE* f = std::fopen(options_.slow_log_file.c_str(), "w")) {
      std::sort(slow_.begin(), slow_.end(), [](const SlowRecord& a, const SlowRecord& b) {
        return a.sample.scheduled_us < b.sample.scheduled_us;
      });
      std::fprintf(f, "scheduled_ms\tlatency_ms\tconnection\tstatus\terror\tbody\n");
      for (const auto& r : slow_) {
        std::fprintf(f, "%.3f\t%.3f\t%d\t%d\t%s\t%s\n", r.sample.scheduled_us / 1000.0,
                     r.sample.latency_us / 1000.0, r.connection, r.status,
                     r.kind.empty() ? "-" : r.kind.c_str(), r.body.c_str());
      }
      std::fclose(f);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Load load(parse_options(argc, argv));
  return load.run();
}
