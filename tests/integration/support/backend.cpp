#include "support/backend.hpp"

#include "support/body_pattern.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tg::itest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t io_block = 64 * 1024;
constexpr std::size_t echo_body_limit = 64 * 1024;

std::string reason_phrase(int status) {
  const auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  return reason.empty() ? std::string("Status") : std::string(reason);
}

}  // namespace

struct Backend::State {
  std::string name;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread acceptor_thread;

  std::mutex mutex;  // guards everything below
  std::condition_variable changed;
  Behaviour default_behaviour;
  std::vector<std::pair<std::string, Behaviour>> path_behaviours;
  std::set<int> open_fds;
  int live_threads = 0;
  bool stopping = false;

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> body_bytes{0};
  std::atomic<std::uint64_t> responses{0};

  Behaviour behaviour_for(std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    std::lock_guard lock(mutex);
    const Behaviour* best = &default_behaviour;
    std::size_t best_length = 0;
    for (const auto& [prefix, behaviour] : path_behaviours) {
      if (path.substr(0, prefix.size()) == prefix && prefix.size() >= best_length) {
        best = &behaviour;
        best_length = prefix.size();
      }
    }
    return *best;
  }

  bool is_stopping() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  // Sleeps `delay` unless stop() comes first; false when stopping.
  bool pause(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, delay, [&] { return stopping; });
    return !stopping;
  }

  void accept_loop(const std::shared_ptr<State>& self);
  void serve(tcp::socket socket, std::uint64_t connection_id);
};

namespace {

// Reads and discards until the peer closes or the socket is shut down.
void drain_until_closed(tcp::socket& socket) {
  char sink[4096];
  boost::system::error_code ec;
  while (!ec) socket.read_some(asio::buffer(sink), ec);
}

std::string response_head(const std::string& name, int status, const HeaderList& extra,
                          const std::string& framing, bool close) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  head += "X-Backend-Name: " + name + "\r\n";
  for (const auto& [field, value] : extra.entries()) head += field + ": " + value + "\r\n";
  head += framing;
  if (close) head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

}  // namespace

void Backend::State::accept_loop(const std::shared_ptr<State>& self) {
  for (std::uint64_t next_id = 1;; ++next_id) {
    tcp::socket socket(io);
    boost::system::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) {
      if (is_stopping()) return;
      if (ec == asio::error::interrupted || ec == asio::error::connection_aborted) continue;
      return;  // the listener is gone
    }
    std::lock_guard lock(mutex);
    if (stopping) return;  // checked under the lock: stop() shuts down only registered fds
    connections.fetch_add(1);
    open_fds.insert(socket.native_handle());
    ++live_threads;
    std::thread([self, socket = std::move(socket), next_id]() mutable {
      self->serve(std::move(socket), next_id);
      std::lock_guard lock(self->mutex);
      --self->live_threads;
      self->changed.notify_all();
    }).detach();
  }
}

void Backend::State::serve(tcp::socket socket, std::uint64_t connection_id) {
  active.fetch_add(1);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  std::vector<char> block(io_block);

  for (std::uint64_t on_connection = 1;; ++on_connection) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(1024 * 1024);
    parser.body_limit(boost::none);
    http::read_header(socket, buffer, parser, ec);
    if (ec) break;
    requests.fetch_add(1);

    const auto& request = parser.get();
    const std::string target(request.target());
    const Behaviour behaviour = behaviour_for(target);
    if (beast::iequals(request[http::field::expect], "100-continue")) {
      asio::write(socket, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), ec);
      if (ec) break;
    }

    // The body, streamed: hashed and counted, only its start kept.
    Fnv1a hash;
    std::uint64_t body_length = 0;
    std::string body_start;
    while (!parser.is_done()) {
      parser.get().body().data = block.data();
      parser.get().body().size = block.size();
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
      const std::size_t got = block.size() - parser.get().body().size;
      const std::string_view data(block.data(), got);
      hash.update(data);
      body_length += got;
      body_bytes.fetch_add(got);
      if (body_start.size() < echo_body_limit) {
        body_start.append(data.substr(0, echo_body_limit - body_start.size()));
      }
    }
    if (ec) break;

    const bool close = !parser.get().keep_alive();
    // A response to HEAD has the head only (its Content-Length included).
    const bool head_only = request.method() == http::verb::head;
    if (behaviour.delay.count() > 0 && !pause(behaviour.delay)) break;

    switch (behaviour.mode) {
      case BackendMode::echo: {
        boost::json::array headers;
        for (const auto& field : request) {
          headers.push_back(boost::json::array{std::string(field.name_string()), std::string(field.value())});
        }
        boost::json::object echo{
            {"backend", name},
            {"method", std::string(request.method_string())},
            {"target", target},
            {"version", request.version() == 11 ? "1.1" : "1.0"},
            {"headers", std::move(headers)},
            {"body_length", body_length},
            {"body_fnv1a", hash.hex()},
            {"connection_id", connection_id},
            {"request_on_connection", on_connection},
        };
        if (body_length <= echo_body_limit) echo["body"] = body_start;
        const std::string body = boost::json::serialize(echo);
        HeaderList extra = behaviour.headers;
        extra.add("Content-Type", "application/json");
        const std::string response =
            response_head(name, behaviour.status, extra,
                          "Content-Length: " + std::to_string(body.size()) + "\r\n", close) +
            (head_only ? std::string() : body);
        asio::write(socket, asio::buffer(response), ec);
        break;
      }
      case BackendMode::fixed: {
        const std::string response =
            response_head(name, behaviour.status, behaviour.headers,
                          "Content-Length: " + std::to_string(behaviour.body.size()) + "\r\n", close) +
            (head_only ? std::string() : behaviour.body);
        asio::write(socket, asio::buffer(response), ec);
        break;
      }
      case BackendMode::large: {
        const std::string framing = behaviour.chunked
                                        ? std::string("Transfer-Encoding: chunked\r\n")
                                        : "Content-Length: " + std::to_string(behaviour.size) + "\r\n";
        asio::write(socket, asio::buffer(response_head(name, behaviour.status, behaviour.headers, framing, close)),
                    ec);
        const std::size_t block_size = std::clamp<std::size_t>(behaviour.block_size, 1, block.size());
        for (std::uint64_t sent = 0; !ec && !head_only && sent < behaviour.size;) {
          if (sent > 0 && behaviour.block_interval.count() > 0 && !pause(behaviour.block_interval)) {
            ec = asio::error::operation_aborted;
            break;
          }
          const std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(block_size, behaviour.size - sent));
          fill_pattern(sent, block.data(), now);
          if (behaviour.chunked) {
            char size_line[32];
            const int length = std::snprintf(size_line, sizeof size_line, "%zx\r\n", now);
            const std::array<asio::const_buffer, 3> frame{asio::buffer(size_line, static_cast<std::size_t>(length)),
                                                          asio::buffer(block.data(), now), asio::buffer("\r\n", 2)};
            asio::write(socket, frame, ec);
          } else {
            asio::write(socket, asio::buffer(block.data(), now), ec);
          }
          sent += now;
        }
        if (!ec && !head_only && behaviour.chunked) asio::write(socket, asio::buffer("0\r\n\r\n", 5), ec);
        break;
      }
      case BackendMode::close_without_answer:
        socket.shutdown(tcp::socket::shutdown_both, ec);
        ec = asio::error::eof;
        break;
      case BackendMode::reset:
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        ec = asio::error::connection_reset;
        break;
      case BackendMode::never_answer:
        drain_until_closed(socket);
        ec = asio::error::eof;
        break;
      case BackendMode::stall_body: {
        const std::string framing = "Content-Length: " + std::to_string(behaviour.size) + "\r\n";
        asio::write(socket, asio::buffer(response_head(name, behaviour.status, behaviour.headers, framing, close)),
                    ec);
        std::string start(static_cast<std::size_t>(behaviour.stall_after), '\0');
        fill_pattern(0, start.data(), start.size());
        if (!ec) asio::write(socket, asio::buffer(start), ec);
        drain_until_closed(socket);
        ec = asio::error::eof;
        break;
      }
      case BackendMode::garbage:
        asio::write(socket, asio::buffer(std::string_view("THIS IS NOT HTTP AT ALL\r\n\r\n")), ec);
        ec = asio::error::eof;
        break;
      case BackendMode::upgrade_echo: {
        HeaderList extra = behaviour.headers;
        extra.add("Upgrade", std::string(request[http::field::upgrade]));
        extra.add("Connection", "Upgrade");
        asio::write(socket, asio::buffer(response_head(name, 101, extra, "", false)), ec);
        // Bytes the client sent behind its request head are tunnel data.
        if (!ec && buffer.size() > 0) asio::write(socket, buffer.data(), ec);
        while (!ec) {
          const std::size_t got = socket.read_some(asio::buffer(block), ec);
          if (!ec) asio::write(socket, asio::buffer(block.data(), got), ec);
        }
        if (!ec || ec == asio::error::eof) responses.fetch_add(1);
        ec = asio::error::eof;
        break;
      }
    }
    if (ec) break;
    responses.fetch_add(1);
    if (close || behaviour.close_after_response) break;
  }

  {
    std::lock_guard lock(mutex);
    open_fds.erase(socket.native_handle());
  }
  boost::system::error_code ignored;
  socket.close(ignored);  // with linger(true, 0) set above this sends RST
  active.fetch_sub(1);
}

Backend::Backend(std::string name, Behaviour behaviour, std::uint16_t port) : state_(std::make_shared<State>()) {
  state_->name = std::move(name);
  state_->default_behaviour = std::move(behaviour);
  const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), port);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen(1024);
  state_->port = state_->acceptor.local_endpoint().port();
  state_->acceptor_thread = std::thread([state = state_] { state->accept_loop(state); });
}

Backend::~Backend() { stop(); }

const std::string& Backend::name() const { return state_->name; }
std::uint16_t Backend::port() const { return state_->port; }

void Backend::set_behaviour(Behaviour behaviour) {
  std::lock_guard lock(state_->mutex);
  state_->default_behaviour = std::move(behaviour);
}

void Backend::on_path(std::string prefix, Behaviour behaviour) {
  std::lock_guard lock(state_->mutex);
  state_->path_behaviours.emplace_back(std::move(prefix), std::move(behaviour));
}

std::uint64_t Backend::requests() const { return state_->requests.load(); }
std::uint64_t Backend::connections() const { return state_->connections.load(); }
std::uint64_t Backend::active_connections() const { return state_->active.load(); }
std::uint64_t Backend::body_bytes_received() const { return state_->body_bytes.load(); }
std::uint64_t Backend::responses_completed() const { return state_->responses.load(); }

void Backend::stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
    ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);  // wakes the blocked accept()
    for (const int fd : state_->open_fds) ::shutdown(fd, SHUT_RDWR);
    state_->changed.notify_all();
  }
  if (state_->acceptor_thread.joinable()) state_->acceptor_thread.join();
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return state_->live_threads == 0; });
}

}  // namespace tg::itest
