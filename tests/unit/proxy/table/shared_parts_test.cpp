// The shared containers a Snapshot is made of (proxy/table/shared_parts.hpp,
// proxy/routing/shared_map.hpp): a copy shares every chunk or shard until one
// of the two writes it, and then only that one is copied.
#include "table/shared_parts.hpp"

#include <catch2/catch.hpp>

#include <string>

using tg::proxy::SharedIndex;
using tg::proxy::SharedVector;

TEST_CASE("a shared vector copies only the chunk a write lands in", "[proxy][table][shared]") {
  SharedVector<std::string, 2> base;  // chunks of 4
  for (int i = 0; i < 10; ++i) base.push_back("v" + std::to_string(i));
  REQUIRE(base.size() == 10);
  CHECK(base[9] == "v9");

  SharedVector<std::string, 2> copy = base;
  CHECK(copy.shared_chunks(base) == 3);
  copy.mutate(5) = "changed";
  CHECK(copy[5] == "changed");
  CHECK(base[5] == "v5");  // the original is untouched
  CHECK(copy.shared_chunks(base) == 2);

  copy.append("v10");  // into the shared last chunk (8, 9): copied first
  copy.append("v11");
  copy.append("v12");  // a new chunk
  CHECK(base.size() == 10);
  CHECK(copy.size() == 13);
  CHECK(copy[12] == "v12");
  CHECK(copy.shared_chunks(base) == 1);

  copy.pop_back();  // the chunk of 12 goes
  copy.pop_back();
  copy.pop_back();
  copy.pop_back();  // 9: into the last chunk, now this copy's own
  CHECK(copy.size() == 9);
  CHECK(copy.back() == "v8");
  CHECK(base[9] == "v9");

  std::string all;
  for (const std::string& v : copy) all += v + ",";
  CHECK(all == "v0,v1,v2,v3,v4,changed,v6,v7,v8,");
}

TEST_CASE("a shared index copies only the shard a write lands in", "[proxy][table][shared]") {
  SharedIndex base;
  for (std::uint32_t i = 0; i < 5000; ++i) base.set("id-" + std::to_string(i), i);
  CHECK(base.size() == 5000);
  SharedIndex copy = base;
  copy.set("id-7", 70);
  copy.erase("id-8");
  copy.set("new", 1);
  copy.erase("not-there");
  REQUIRE(copy.find("id-7") != nullptr);
  CHECK(*copy.find("id-7") == 70);
  CHECK(copy.find("id-8") == nullptr);
  CHECK(*copy.find("new") == 1);
  CHECK(copy.size() == 5000);
  // The original still holds what it held.
  CHECK(*base.find("id-7") == 7);
  CHECK(*base.find("id-8") == 8);
  CHECK(base.find("new") == nullptr);
  CHECK(base.size() == 5000);
  std::size_t seen = 0;
  copy.for_each([&](const std::string&, std::uint32_t) { ++seen; });
  CHECK(seen == 5000);
}
