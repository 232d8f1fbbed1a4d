// Where suspended requests wait (proxy/pipeline/wait_list.hpp).
#include "pipeline/wait_list.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace tg::proxy;

namespace {
struct Woken {
  std::vector<int> order;
};
struct Owner {
  Woken* log;
  int id;
};
void record_wake(void* owner) {
  auto* o = static_cast<Owner*>(owner);
  o->log->order.push_back(o->id);
}
}  // namespace

TEST_CASE("waiters are woken oldest first and leave the list", "[proxy][pipeline][wait]") {
  Woken log;
  Owner a{&log, 1}, b{&log, 2}, c{&log, 3};
  Waiter wa, wb, wc;
  for (auto [w, o] : {std::pair{&wa, &a}, {&wb, &b}, {&wc, &c}}) {
    w->wake = &record_wake;
    w->owner = o;
  }
  WaitList list(10);
  REQUIRE(list.add(wa, 100, Step::respond(503, ErrorKind::overflow)));
  REQUIRE(list.add(wb, 200, Step::respond(503, ErrorKind::overflow)));
  REQUIRE(list.add(wc, 300, Step::respond(503, ErrorKind::overflow)));
  CHECK(list.size() == 3);
  CHECK(list.wake_one());
  CHECK(log.order == std::vector<int>{1});
  CHECK_FALSE(wa.waiting());
  CHECK(wa.woken);
  CHECK(list.wake_all() == 2);
  CHECK(log.order == std::vector<int>{1, 2, 3});
  CHECK(list.woken() == 3);
  CHECK_FALSE(list.wake_one());
  // Woken requests keep their place until they resume.
  CHECK(list.size() == 3);
  for (Waiter* w : {&wa, &wb, &wc}) w->take_wake();
  CHECK(list.size() == 0);
  CHECK(list.woken() == 0);
  CHECK(log.order == std::vector<int>{1, 2, 3});  // taking a wake wakes nobody
}

TEST_CASE("a woken waiter that goes away passes its wake to the next", "[proxy][pipeline][wait]") {
  Woken log;
  Owner a{&log, 1}, b{&log, 2}, c{&log, 3};
  Waiter wa, wb, wc;
  for (auto [w, o] : {std::pair{&wa, &a}, {&wb, &b}, {&wc, &c}}) {
    w->wake = &record_wake;
    w->owner = o;
  }
  WaitList list(10);
  REQUIRE(list.add(wa, 100, Step::respond(503, ErrorKind::overflow)));
  REQUIRE(list.add(wb, 100, Step::respond(503, ErrorKind::overflow)));
  REQUIRE(list.add(wc, 100, Step::respond(503, ErrorKind::overflow)));
  REQUIRE(list.wake_one());
  wa.cancel();  // its client went away before its request resumed
  CHECK(log.order == std::vector<int>{1, 2});
  CHECK(wb.woken);
  CHECK(list.woken() == 1);
  wb.expire();  // its deadline passed before it resumed
  CHECK(log.order == std::vector<int>{1, 2, 3});
  CHECK(list.expired() == 1);
  wc.take_wake();
  CHECK(list.size() == 0);
  // A waiter not woken leaves without waking anybody.
  Waiter wd;
  wd.wake = &record_wake;
  wd.owner = &a;
  REQUIRE(list.add(wd, 100, Step::respond(503, ErrorKind::overflow)));
  wd.cancel();
  CHECK(log.order == std::vector<int>{1, 2, 3});
}

TEST_CASE("a waiter keeps its deadline, timeout answer and fate", "[proxy][pipeline][wait]") {
  Waiter w;
  WaitList list(2);
  REQUIRE(list.add(w, 1234, Step::respond(503, ErrorKind::overflow), Fate::pending_timeout));
  CHECK(w.deadline_ms == 1234);
  CHECK(w.on_timeout().status == 503);
  CHECK(w.on_timeout().error == ErrorKind::overflow);
  CHECK(w.timeout_fate == Fate::pending_timeout);
  w.expire();
  CHECK_FALSE(w.waiting());
  CHECK(list.expired() == 1);
  CHECK(list.size() == 0);
}

TEST_CASE("a full list refuses, and a cancelled waiter frees its place", "[proxy][pipeline][wait]") {
  Waiter w1, w2;
  WaitList list(1);
  REQUIRE(list.add(w1, 10, Step::respond(504, ErrorKind::timeout)));
  CHECK(w1.deadline_ms == 10);
  CHECK(w1.on_timeout().status == 504);
  CHECK_FALSE(list.add(w2, 10, Step::respond(504, ErrorKind::timeout)));
  CHECK_FALSE(w2.waiting());
  CHECK(list.refused() == 1);
  w1.cancel();
  CHECK(list.size() == 0);
  CHECK(list.add(w2, 10, Step::respond(504, ErrorKind::timeout)));
  CHECK(list.size() == 1);
}

TEST_CASE("a waiter destroyed while waiting leaves the list", "[proxy][pipeline][wait]") {
  WaitList list(4);
  {
    Waiter w;
    REQUIRE(list.add(w, 1, Step::respond(503, ErrorKind::overflow)));
    CHECK(list.size() == 1);
  }
  CHECK(list.size() == 0);
  CHECK_FALSE(list.wake_one());
}

TEST_CASE("a waiter cannot wait in two lists at once", "[proxy][pipeline][wait]") {
  WaitList first(4), second(4);
  Waiter w;
  REQUIRE(first.add(w, 1, Step::respond(503, ErrorKind::overflow)));
  CHECK_FALSE(second.add(w, 1, Step::respond(503, ErrorKind::overflow)));
  CHECK(first.size() == 1);
  CHECK(second.size() == 0);
}
