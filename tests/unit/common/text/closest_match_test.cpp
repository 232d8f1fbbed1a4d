// The shared "did you mean" rule (common/text/closest_match).
#include "text/closest_match.hpp"

#include <catch2/catch.hpp>

using tg::text::closest_match;
using tg::text::edit_distance;

TEST_CASE("edit distance counts an adjacent swap as one edit", "[text][closest_match]") {
  CHECK(edit_distance("hots", "host") == 1);
  CHECK(edit_distance("ab", "ba") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("instance", "instances") == 1);
  CHECK(edit_distance("same", "same") == 0);
  CHECK(edit_distance("ca", "abc") == 3);  // optimal string alignment: no edit of a swapped pair
}

TEST_CASE("closest match suggests only likely typos", "[text][closest_match]") {
  const std::vector<std::string> flags{"--host", "--service", "--path-prefix", "--json"};
  CHECK(closest_match("--hots", flags) == "--host");
  CHECK(closest_match("--servce", flags) == "--service");
  CHECK_FALSE(closest_match("--weight", flags).has_value());
  CHECK(closest_match("instance", {"tenants", "services", "instances", "routes"}) == "instances");
  CHECK(closest_match("atempts", {"attempt", "attempts"}) == "attempts");  // the nearest, not the first within reach
  CHECK_FALSE(closest_match("ab", {"xy"}).has_value());
}
