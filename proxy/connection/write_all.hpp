// Downstream::write_all: try the write at once (sockets are non-blocking),
// fall back to an asynchronous write for whatever the kernel did not take.
// Saves a trip through the reactor for the common case of a small message.
#pragma once

#include "connection/downstream.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace tg::proxy {

template <typename Buffers, typename Handler>
void Downstream::write_all(Socket& socket, const Buffers& buffers, Handler&& handler) {
  boost::system::error_code ec;
  const std::size_t total = asio::buffer_size(buffers);
  std::size_t done = socket.write_some(buffers, ec);
  if (!ec && done == total) {
    handler(ec);
    return;
  }
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    handler(ec);
    return;
  }
  // Rest asynchronously. Copy the remaining buffer descriptors (the bytes
  // themselves stay in the context's buffers, which outlive the write).
  std::array<asio::const_buffer, 4> rest{};  // unused entries stay empty
  std::size_t count = 0;
  std::size_t skip = done;
  for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
    asio::const_buffer b(*it);
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest[count++] = b + skip;
    skip = 0;
  }
  asio::async_write(socket, rest,
                    [h = std::forward<Handler>(handler)](const boost::system::error_code& e, std::size_t) mutable {
                      h(e);
                    });
}

}  // namespace tg::proxy
