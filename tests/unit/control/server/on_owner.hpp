// Runs `fn` on Core's owner loop and waits (bounded) for its result: the
// tests' way to read or change what the owner loop holds.
#pragma once

#include "server/core.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <future>

namespace tg::control::test {

template <class F>
auto on_owner(Core& core, F fn) {
  std::promise<decltype(fn())> result;
  boost::asio::post(core.io(), [&] { result.set_value(fn()); });
  auto future = result.get_future();
  REQUIRE(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return future.get();
}

}  // namespace tg::control::test
