#include "health/prober.hpp"

#include "config/value_parsers.hpp"
#include "netio/endpoint.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <string_view>

namespace tg::control::health {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Prober::Probe {
  Probe(asio::io_context& io, ProbeSpec s) : spec(std::move(s)), socket(io), timer(io), resolver(io) {}
  ProbeSpec spec;
  tcp::socket socket;
  asio::steady_timer timer;
  tcp::resolver resolver;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string request;
  std::array<char, 512> chunk{};
  std::string head;
  bool done = false;
  bool timed_out = false;
};

namespace {

std::string connect_reason(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return "connect refused";
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) return "unreachable";
  return "connect: " + ec.message();
}

std::string io_reason(const boost::system::error_code& ec) {
  if (ec == asio::error::eof) return "closed before a status line";
  if (ec == asio::error::connection_reset) return "connection reset";
  return "read: " + ec.message();
}

// The status of "HTTP/1.x NNN ...", or 0.
unsigned status_of(std::string_view line) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return 0;
  unsigned status = 0;
  const char* begin = line.data() + 9;
  auto [end, ec] = std::from_chars(begin, begin + 3, status);
  if (ec != std::errc() || end != begin + 3 || status < 100 || status > 599) return 0;
  if (line.size() > 12 && line[12] != ' ' && line[12] != '\r') return 0;
  return status;
}

}  // namespace

Prober::Prober(Sink sink, ProberOptions options) : sink_(std::move(sink)), options_(options) {}

Prober::~Prober() { stop(); }

void Prober::start() { io_thread_.start(); }

void Prober::stop() { io_thread_.stop(); }

void Prober::submit(std::vector<ProbeSpec> probes) {
  asio::post(io_thread_.context(), [this, probes = std::move(probes)]() mutable {
    for (ProbeSpec& spec : probes) run(std::make_shared<Probe>(io_thread_.context(), std::move(spec)));
  });
}

void Prober::run(std::shared_ptr<Probe> probe) {
  started_.fetch_add(1, std::memory_order_relaxed);
  probe->timer.expires_after(probe->spec.timeout);
  probe->timer.async_wait([this, probe](const boost::system::error_code& ec) {
    if (ec || probe->done) return;
    probe->timed_out = true;
    finish(*probe, false, "timeout");
  });

  auto on_connected = [this, probe](const boost::system::error_code& ec) {
    if (probe->done) return;
    if (ec) {
      finish(*probe, false, connect_reason(ec));
      return;
    }
    if (probe->spec.type == ProbeSpec::Type::tcp) {
      finish(*probe, true, "tcp connect");
      return;
    }
    probe->request = "GET " + probe->spec.path + " HTTP/1.1\r\nHost: " + probe->spec.host_header +
                     "\r\nUser-Agent: tg-control-health\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    asio::async_write(probe->socket, asio::buffer(probe->request),
                      [this, probe](const boost::system::error_code& write_ec, std::size_t) {
                        if (probe->done) return;
                        if (write_ec) {
                          finish(*probe, false, io_reason(write_ec));
                          return;
                        }
                        // Read until the status line is complete.
                        auto read = std::make_shared<std::function<void()>>();
                        *read = [this, probe, read] {
                          probe->socket.async_read_some(
                              asio::buffer(probe->chunk),
                              [this, probe, read](const boost::system::error_code& read_ec, std::size_t n) {
                                if (probe->done) {
                                  *read = nullptr;  // breaks the cycle
                                  return;
                                }
                                probe->head.append(probe->chunk.data(), n);
                                const auto eol = probe->head.find("\r\n");
                                if (eol != std::string::npos) {
                                  *read = nullptr;
                                  const unsigned status = status_of(std::string_view(probe->head).substr(0, eol));
                                  if (status == 0) {
                                    finish(*probe, false, "bad response");
                                    return;
                                  }
                                  finish(*probe, status_expected(status, probe->spec.expect),
                                         "http " + std::to_string(status));
                                  return;
                                }
                                if (read_ec || probe->head.size() >= options_.max_response_head) {
                                  *read = nullptr;
                                  finish(*probe, false, read_ec ? io_reason(read_ec) : "bad response");
                                  return;
                                }
                                (*read)();
                              });
                        };
                        (*read)();
                      });
  };

  tcp::endpoint endpoint;
  std::string error;
  if (net::parse_endpoint(probe->spec.address, endpoint, error)) {
    probe->socket.async_connect(endpoint, on_connected);
    return;
  }
  std::string host;
  std::uint16_t port = 0;
  if (std::string problem = config::try_parse_address(probe->spec.address, host, port); !problem.empty()) {
    finish(*probe, false, "bad address: " + problem);
    return;
  }
  probe->resolver.async_resolve(
      host, std::to_string(port),
      [probe, on_connected](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
        if (probe->done) return;
        if (ec || results.empty()) {
          on_connected(ec ? ec : asio::error::host_not_found);
          return;
        }
        asio::async_connect(probe->socket, results,
                            [on_connected](const boost::system::error_code& connect_ec, const tcp::endpoint&) {
                              on_connected(connect_ec);
                            });
      });
}

void Prober::finish(Probe& probe, bool passed, std::string reason) {
  if (probe.done) return;
  probe.done = true;
  probe.timer.cancel();
  probe.resolver.cancel();
  boost::system::error_code ignored;
  if (probe.socket.is_open()) {
    probe.socket.set_option(tcp::socket::linger(true, 0), ignored);  // a reset: no TIME_WAIT here
    probe.socket.close(ignored);
  }
  pending_.push_back(ProbeResult{
      probe.spec.instance, probe.spec.epoch, passed, std::move(reason),
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - probe.start)});
  if (pending_.size() >= options_.flush_at) {
    flush();
    return;
  }
  if (!flush_armed_) {
    flush_armed_ = true;
    flush_timer_.expires_after(options_.flush_every);
    flush_timer_.async_wait([this](const boost::system::error_code& ec) {
      flush_armed_ = false;
      if (!ec) flush();
    });
  }
}

void Prober::flush() {
  if (pending_.empty()) return;
  std::vector<ProbeResult> batch;
  batch.swap(pending_);
  sink_(std::move(batch));
}

}  // namespace tg::control::health
