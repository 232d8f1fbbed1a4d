// The prober against real loopback servers: HTTP statuses in and out of the
// expected ranges, the request it sends, a refused connect, a server that
// never answers (timeout), a response that is not HTTP, TCP checks.
#include "health/prober.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace tg::control::health {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A loopback server on port 0 answering every connection with `reply`
// (after reading the request head), or holding it open without a word when
// reply is empty. Records the last request head.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::string reply) : reply_(std::move(reply)) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    boost::system::error_code ignored;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    // Wake the accept with a connection of our own.
    tcp::socket poke(io_);
    poke.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port()), ignored);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void serve() {
    std::vector<tcp::socket> held;
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (ec) continue;
      if (reply_.empty()) {
        held.push_back(std::move(socket));  // never answers
        continue;
      }
      asio::streambuf buffer;
      asio::read_until(socket, buffer, "\r\n\r\n", ec);
      {
        std::lock_guard lock(mutex_);
        last_request_.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
      }
      asio::write(socket, asio::buffer(reply_), ec);
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::string reply_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::string last_request_;
  std::thread thread_;
};

// Collects results from the prober thread; wait() returns them once `n` came.
struct Results {
  std::mutex mutex;
  std::condition_variable arrived;
  std::map<std::string, ProbeResult> by_instance;

  Prober::Sink sink() {
    return [this](std::vector<ProbeResult> batch) {
      std::lock_guard lock(mutex);
      for (ProbeResult& r : batch) by_instance[r.instance] = std::move(r);
      arrived.notify_all();
    };
  }
  std::map<std::string, ProbeResult> wait(std::size_t n) {
    std::unique_lock lock(mutex);
    arrived.wait_for(lock, 10s, [&] { return by_instance.size() >= n; });
    return by_instance;
  }
};

ProbeSpec http_probe(const std::string& id, const std::string& address) {
  ProbeSpec spec;
  spec.instance = id;
  spec.epoch = 7;
  spec.address = address;
  spec.path = "/ready?x=1";
  spec.host_header = "acme.internal";
  spec.timeout = 2s;
  return spec;
}

// A port nothing listens on: bound, then closed.
std::string closed_address() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return "127.0.0.1:" + std::to_string(port);
}

TEST_CASE("prober: HTTP statuses pass by the expected ranges, the request names path and Host",
          "[health][prober]") {
  LoopbackServer ok("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
  LoopbackServer unavailable("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  LoopbackServer moved("HTTP/1.0 301 Moved\r\n\r\n");
  LoopbackServer garbage("SSH-2.0-OpenSSH_9.2\r\n");
  Results results;
  Prober prober(results.sink(), ProberOptions{});
  prober.start();
  ProbeSpec strict = http_probe("strict", moved.address());
  strict.expect = {{200, 299}};
  prober.submit({http_probe("ok", ok.address()), http_probe("unavailable", unavailable.address()),
                 http_probe("moved", moved.address()), strict, http_probe("garbage", garbage.address())});
  const auto got = results.wait(5);
  prober.stop();
  REQUIRE(got.size() == 5);
  CHECK(got.at("ok").passed);
  CHECK(got.at("ok").reason == "http 204");
  CHECK(got.at("ok").epoch == 7);
  CHECK_FALSE(got.at("unavailable").passed);
  CHECK(got.at("unavailable").reason == "http 503");
  CHECK(got.at("moved").passed);  // 200-399 by default
  CHECK_FALSE(got.at("strict").passed);
  CHECK(got.at("strict").reason == "http 301");
  CHECK_FALSE(got.at("garbage").passed);
  CHECK(got.at("garbage").reason == "bad response");
  const std::string request = ok.last_request();
  CHECK(request.rfind("GET /ready?x=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(request.find("\r\nHost: acme.internal\r\n") != std::string::npos);
  CHECK(got.at("ok").latency > 0us);
}

TEST_CASE("prober: a refused connect and a silent server fail with their reasons", "[health][prober]") {
  LoopbackServer silent("");
  Results results;
  Prober prober(results.sink(), ProberOptions{});
  prober.start();
  ProbeSpec slow = http_probe("silent", silent.address());
  slow.timeout = 200ms;
  ProbeSpec tcp_refused = http_probe("tcp-refused", closed_address());
  tcp_refused.type = ProbeSpec::Type::tcp;
  prober.submit({http_probe("refused", closed_address()), slow, tcp_refused});
  const auto got = results.wait(3);
  prober.stop();
  REQUIRE(got.size() == 3);
  CHECK_FALSE(got.at("refused").passed);
  CHECK(got.at("refused").reason == "connect refused");
  CHECK_FALSE(got.at("silent").passed);
  CHECK(got.at("silent").reason == "timeout");
  CHECK(got.at("silent").latency >= 200ms);
  CHECK_FALSE(got.at("tcp-refused").passed);
  CHECK(got.at("tcp-refused").reason == "connect refused");
}

TEST_CASE("prober: a TCP check passes on connect, without a request", "[health][prober]") {
  LoopbackServer silent("");
  Results results;
  Prober prober(results.sink(), ProberOptions{});
  prober.start();
  ProbeSpec spec = http_probe("tcp", silent.address());
  spec.type = ProbeSpec::Type::tcp;
  prober.submit({spec});
  const auto got = results.wait(1);
  prober.stop();
  REQUIRE(got.size() == 1);
  CHECK(got.at("tcp").passed);
  CHECK(got.at("tcp").reason == "tcp connect");
}

TEST_CASE("prober: results come in batches of at most flush_at", "[health][prober]") {
  LoopbackServer ok("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::size_t> sizes;
  std::size_t total = 0;
  ProberOptions options;
  options.flush_at = 4;
  options.flush_every = 50ms;
  Prober prober(
      [&](std::vector<ProbeResult> batch) {
        std::lock_guard lock(mutex);
        sizes.push_back(batch.size());
        total += batch.size();
        arrived.notify_all();
      },
      options);
  prober.start();
  std::vector<ProbeSpec> probes;
  for (int i = 0; i < 10; ++i) probes.push_back(http_probe("i" + std::to_string(i), ok.address()));
  prober.submit(std::move(probes));
  {
    std::unique_lock lock(mutex);
    arrived.wait_for(lock, 10s, [&] { return total >= 10; });
  }
  prober.stop();
  CHECK(total == 10);
  for (std::size_t n : sizes) CHECK(n <= 4);
}

}  // namespace
}  // namespace tg::control::health
