#include "control/delivery/receiver.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace tg::itest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Receiver::State {
  Script script;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread accept_thread;

  mutable std::mutex mutex;
  std::condition_variable stopped_cv;
  bool stopping = false;
  std::vector<ReceivedRequest> requests;
  std::list<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> connection_threads;
  std::size_t active = 0;
  std::size_t max_active = 0;
  std::unique_ptr<ssl::context> tls;  // set: HTTPS

  void serve(std::shared_ptr<tcp::socket> socket) {
    if (!tls) return exchange(*socket, *socket);
    ssl::stream<tcp::socket&> stream(*socket, *tls);
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    exchange(stream, *socket);
    stream.shutdown(ec);
  }

  template <class Stream>
  void exchange(Stream& stream, tcp::socket& socket) {
    boost::system::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    ReceivedRequest received;
    received.target = std::string(request.target());
    for (const auto& field : request) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      received.headers[name] = std::string(field.value());
    }
    received.body = request.body();
    received.at = std::chrono::steady_clock::now();
    std::size_t index = 0;
    {
      std::lock_guard lock(mutex);
      index = requests.size();
      requests.push_back(received);
      max_active = std::max(max_active, ++active);
    }
    const ReceiverAnswer answer = script ? script(received, index) : ReceiverAnswer{};
    {
      std::unique_lock lock(mutex);
      stopped_cv.wait_for(lock, answer.delay, [this] { return stopping; });
      --active;
      if (stopping) return;
    }
    http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    response.set(http::field::connection, "close");
    response.body() = answer.body;
    response.prepare_payload();
    http::write(stream, response, ec);
    if (!tls) socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  void accept_loop() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io);
      boost::system::error_code ec;
      acceptor.accept(*socket, ec);
      std::lock_guard lock(mutex);
      if (stopping) return;
      if (ec) continue;
      sockets.push_back(socket);
      connection_threads.emplace_back([this, socket] { serve(socket); });
    }
  }
};

Receiver::Receiver(Script script, const std::string& certificate_pem, const std::string& key_pem)
    : Receiver(std::move(script), 0) {
  // Before the first connection can be served: the test connects only after construction.
  std::lock_guard lock(state_->mutex);
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->use_certificate_chain_file(certificate_pem);
  tls->use_private_key_file(key_pem, ssl::context::pem);
  state_->tls = std::move(tls);
}

Receiver::Receiver(Script script, std::uint16_t port) : state_(std::make_shared<State>()) {
  state_->script = std::move(script);
  auto& acceptor = state_->acceptor;
  acceptor.open(tcp::v4());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  acceptor.listen();
  state_->port = acceptor.local_endpoint().port();
  state_->accept_thread = std::thread([state = state_.get()] { state->accept_loop(); });
}

Receiver::~Receiver() { stop(); }

std::uint16_t Receiver::port() const { return state_->port; }

std::string Receiver::url(const std::string& path, const std::string& host) const {
  return std::string(state_->tls ? "https://" : "http://") + host + ":" + std::to_string(port()) + path;
}

std::vector<ReceivedRequest> Receiver::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::size_t Receiver::count() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests.size();
}

std::size_t Receiver::max_concurrent() const {
  std::lock_guard lock(state_->mutex);
  return state_->max_active;
}

void Receiver::stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
    boost::system::error_code ignored;
    for (auto& socket : state_->sockets) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }
  state_->stopped_cv.notify_all();
  // Wake the blocking accept() with a connection of our own.
  {
    tcp::socket poke(state_->io);
    boost::system::error_code ignored;
    poke.connect(tcp::endpoint(asio::ip::address_v4::loopback(), state_->port), ignored);
  }
  state_->accept_thread.join();
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(state_->mutex);
    threads.swap(state_->connection_threads);
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace tg::itest
