// IoThread (control/io_thread.hpp): handlers run on its own thread between
// start() and stop(); stop() joins and abandons what is still queued (a
// queued handler is destroyed with the context, never run); a stopped
// IoThread starts again; the destructor stops it.
#include "io_thread.hpp"

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace tg::control {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Waits up to `timeout` for `done`; never a fixed sleep.
template <typename Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_CASE("io thread: handlers run on its thread until stop, and again after a restart", "[control][io_thread]") {
  IoThread thread("test");
  std::atomic<int> ran{0};
  std::atomic<bool> elsewhere{false};
  const auto caller = std::this_thread::get_id();
  thread.start();
  thread.start();  // idempotent
  CHECK(thread.running());
  asio::post(thread.context(), [&] {
    elsewhere = std::this_thread::get_id() != caller;
    ++ran;
  });
  REQUIRE(wait_until([&] { return ran.load() == 1; }));
  CHECK(elsewhere);
  thread.stop();
  thread.stop();  // idempotent
  CHECK_FALSE(thread.running());

  // Posted while stopped: waits for the next start.
  asio::post(thread.context(), [&] { ++ran; });
  CHECK(ran == 1);
  thread.start();
  REQUIRE(wait_until([&] { return ran.load() == 2; }));
}

TEST_CASE("io thread: stop joins the running handler and abandons the queued ones, destroying them",
          "[control][io_thread]") {
  std::atomic<int> destroyed{0};
  std::atomic<bool> queued_ran{false};
  // Counts its destruction: shows a handler was dropped, not leaked.
  struct Witness {
    explicit Witness(std::atomic<int>* count) : count(count) {}
    Witness(const Witness&) = delete;
    ~Witness() { ++*count; }
    std::atomic<int>* count;
  };
  {
    IoThread thread("test");
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> blocking{false};
    thread.start();
    asio::post(thread.context(), [&blocking, released] {
      blocking = true;
      released.wait();
    });
    asio::post(thread.context(), [&queued_ran, w = std::make_shared<Witness>(&destroyed)] { queued_ran = true; });
    REQUIRE(wait_until([&] { return blocking.load(); }));

    auto stopping = std::async(std::launch::async, [&thread] { thread.stop(); });
    // stop() has told the context to stop; the running handler holds the join.
    REQUIRE(wait_until([&] { return thread.context().stopped(); }));
    CHECK(stopping.wait_for(0ms) == std::future_status::timeout);
    release.set_value();
    stopping.get();
    CHECK_FALSE(queued_ran);
    CHECK(destroyed == 0);  // still queued: the context holds it
  }
  // The IoThread is gone, its context with it: the queued handler was destroyed, not run.
  CHECK_FALSE(queued_ran);
  CHECK(destroyed == 1);
}

TEST_CASE("io thread: the destructor stops a running thread", "[control][io_thread]") {
  std::atomic<int> ran{0};
  {
    IoThread thread("test");
    thread.start();
    asio::post(thread.context(), [&] { ++ran; });
    REQUIRE(wait_until([&] { return ran.load() == 1; }));
  }  // joined here; a hang would time the test out
  CHECK(ran == 1);
}

}  // namespace tg::control
