// The default group key of reported events: ids and numbers masked, so the
// same error with different ids is one group.
#include "ingest/fingerprint.hpp"

#include <catch2/catch.hpp>

namespace tg::control::ingest {

TEST_CASE("normalise_message: numbers, uuids and hex ids are masked, words kept", "[ingest][fingerprint]") {
  CHECK(normalise_message("order 12345 failed") == normalise_message("order 987 failed"));
  CHECK(normalise_message("order 12345 failed") == "order # failed");
  CHECK(normalise_message("user 3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f not found") == "user <uuid> not found");
  CHECK(normalise_message("trace 4bf92f3577b34da6a3ce929d0e0e4736 dropped") == "trace <hex> dropped");
  CHECK(normalise_message("at 0x7ffd1234 segv") == "at <hex> segv");
  CHECK(normalise_message("v2 took 12.5 ms") == "v# took #.# ms");
  // Words that only look like hex stay: short, or without a digit.
  CHECK(normalise_message("deadbeef cafe failed") == "deadbeef cafe failed");
  CHECK(normalise_message("no numbers here") == "no numbers here");
  CHECK(normalise_message("") == "");
  // Different messages stay apart.
  CHECK(normalise_message("order 1 failed") != normalise_message("order 1 shipped"));
}

TEST_CASE("normalise_message: the result is bounded", "[ingest][fingerprint]") {
  const std::string long_message(10'000, 'a');
  CHECK(normalise_message(long_message).size() == max_fingerprint_bytes);
}

}  // namespace tg::control::ingest
