// A fake upstream: an HTTP/1.1 server on 127.0.0.1:0, in-process, on its own
// threads (one acceptor, one thread per connection), whose behaviour each test
// sets. Every response carries "X-Backend-Name: <name>" so tests can tell
// instances apart. Counters are atomics, safe to read from the test thread;
// the backend itself never asserts (Catch2 is not thread-safe).
#pragma once

#include "support/header_list.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tg::itest {

enum class BackendMode {
  // 200 + JSON {"backend","method","target","version","headers":[[n,v],..],
  // "body_length","body_fnv1a","body" (only up to 64 KiB),"connection_id",
  // "request_on_connection"}. The body is streamed and never stored whole, so
  // uploads of any size work.
  echo,
  fixed,                 // `status` and `body`
  large,                 // `size` bytes of the body pattern; chunked or Content-Length
  close_without_answer,  // reads the request, then closes the connection
  reset,                 // reads the request, then closes with RST (SO_LINGER 0)
  never_answer,          // reads the request, then says nothing until the peer closes
  stall_body,            // head with Content-Length `size`, `stall_after` bytes, then silence
  garbage,               // answers bytes that are not HTTP
  // 101 Switching Protocols (Upgrade: the request's), then every byte read
  // is written back until the peer closes: a WebSocket-like tunnel end.
  upgrade_echo,
};

struct Behaviour {
  BackendMode mode = BackendMode::echo;
  int status = 200;
  std::string body;                    // fixed
  HeaderList headers;                  // added to the response head
  std::chrono::milliseconds delay{0};  // after reading the request, before answering
  std::uint64_t size = 0;              // large, stall_body
  bool chunked = false;                // large
  std::size_t block_size = 64 * 1024;  // large: bytes per write (and per chunk)
  std::chrono::milliseconds block_interval{0};  // large: pause between blocks
  // Close the connection after the response without announcing it
  // (no "Connection: close"), like a backend whose keep-alive timer fired.
  bool close_after_response = false;
  std::uint64_t stall_after = 0;       // stall_body

  static Behaviour echo() { return {}; }
  static Behaviour fixed(int status, std::string body) {
    Behaviour b;
    b.mode = BackendMode::fixed;
    b.status = status;
    b.body = std::move(body);
    return b;
  }
  static Behaviour of(BackendMode mode) {
    Behaviour b;
    b.mode = mode;
    return b;
  }
  Behaviour& with_delay(std::chrono::milliseconds d) {
    delay = d;
    return *this;
  }
};

class Backend {
 public:
  // Listens at once on 127.0.0.1:`port` (0 = one picked by the kernel;
  // SO_REUSEADDR, so a port whose previous owner was killed can be bound
  // again); `name` appears in X-Backend-Name and echo JSON.
  explicit Backend(std::string name, Behaviour behaviour = {}, std::uint16_t port = 0);
  ~Backend();  // stop()
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& name() const;
  std::uint16_t port() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  // The behaviour for every request whose path starts with none of the
  // prefixes given to on_path().
  void set_behaviour(Behaviour behaviour);
  // The behaviour for paths starting with `prefix` (the longest prefix wins).
  void on_path(std::string prefix, Behaviour behaviour);

  std::uint64_t requests() const;             // request heads read
  std::uint64_t connections() const;          // connections accepted
  std::uint64_t active_connections() const;   // currently open
  std::uint64_t body_bytes_received() const;  // request body bytes, all requests
  std::uint64_t responses_completed() const;  // responses written in full

  // Closes the listener and every connection, joins the threads (idempotent).
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tg::itest
