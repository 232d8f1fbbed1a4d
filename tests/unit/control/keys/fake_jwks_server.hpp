// A loopback HTTP server on port 0 for the jwks_url fetcher: answers every
// request with the status, Cache-Control and body set last, counts requests,
// and can go away (its port then refuses connections).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace tg::control::test {

class FakeJwksServer {
 public:
  FakeJwksServer() {
    namespace asio = boost::asio;
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_.bind(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeJwksServer() { stop(); }

  // The port refuses connections afterwards. Idempotent.
  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    boost::asio::ip::tcp::socket poke(io_);
    boost::system::error_code ignored;
    poke.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), port_), ignored);
    thread_.join();
    acceptor_.close(ignored);
  }

  void reply(unsigned status, std::string body, std::string cache_control = {}) {
    std::lock_guard lock(mutex_);
    status_ = status;
    body_ = std::move(body);
    cache_control_ = std::move(cache_control);
  }
  int requests() const { return requests_.load(); }
  unsigned short port() const { return port_; }
  std::string url(const std::string& path = "/jwks") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void serve() {
    namespace asio = boost::asio;
    while (true) {
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      asio::streambuf buffer;
      asio::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) continue;
      std::string response;
      {
        std::lock_guard lock(mutex_);
        last_request_.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
        response = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Type: application/json\r\n";
        if (!cache_control_.empty()) response += "Cache-Control: " + cache_control_ + "\r\n";
        response += "Content-Length: " + std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
      }
      ++requests_;
      asio::write(socket, asio::buffer(response), ec);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  unsigned status_ = 200;
  std::string body_;
  std::string cache_control_;
  std::string last_request_;
};

}  // namespace tg::control::test
