// The --state-dir table file (proxy/subscription/state_store.cpp): what is saved is
// what loads, and a damaged file is refused rather than half used.
#include "subscription/state_store.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using tg::proxy::subscription::decode_state;
using tg::proxy::subscription::encode_state;
using tg::proxy::subscription::load_state;
using tg::proxy::subscription::LoadStatus;
using tg::proxy::subscription::save_state;
using tg::proxy::subscription::SavedTable;
using tg::proxy::subscription::state_file_path;
using tg::proxy::test::TempDir;

namespace {

SavedTable sample() {
  SavedTable saved;
  saved.version = {7, 42};
  saved.registry_id = "0123456789abcdef0123456789abcdef";
  saved.digest = 0xfedcba9876543210ULL;
  saved.table = std::string("\x0a\x05tenant\x00binary", 15);
  return saved;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace

TEST_CASE("a saved table loads back with its version and exact bytes", "[proxy][control][state]") {
  TempDir dir;
  const std::string state_dir = dir.path() + "/state/nested";  // created on save
  std::string error;
  REQUIRE(save_state(state_dir, sample(), error));
  SavedTable loaded;
  REQUIRE(load_state(state_dir, loaded, error) == LoadStatus::loaded);
  CHECK(loaded.version == sample().version);
  CHECK(loaded.registry_id == sample().registry_id);
  CHECK(loaded.digest == sample().digest);
  CHECK(loaded.table == sample().table);
  CHECK_FALSE(std::filesystem::exists(state_file_path(state_dir) + ".tmp"));
}

TEST_CASE("a second save replaces the first", "[proxy][control][state]") {
  TempDir dir;
  std::string error;
  REQUIRE(save_state(dir.path(), sample(), error));
  SavedTable next{{8, 1}, "r2", 5, "other"};
  REQUIRE(save_state(dir.path(), next, error));
  SavedTable loaded;
  REQUIRE(load_state(dir.path(), loaded, error) == LoadStatus::loaded);
  CHECK(loaded.version == next.version);
  CHECK(loaded.registry_id == "r2");
  CHECK(loaded.table == "other");
}

TEST_CASE("an empty table round-trips", "[proxy][control][state]") {
  SavedTable empty{{1, 1}, "", 0, ""};
  SavedTable out;
  std::string error;
  REQUIRE(decode_state(encode_state(empty), out, error));
  CHECK(out.version == empty.version);
  CHECK(out.table.empty());
}

TEST_CASE("no state file is absent, not corrupt", "[proxy][control][state]") {
  TempDir dir;
  SavedTable loaded;
  std::string error;
  CHECK(load_state(dir.path(), loaded, error) == LoadStatus::absent);
  CHECK(load_state(dir.path() + "/missing", loaded, error) == LoadStatus::absent);
}

TEST_CASE("a truncated state file is refused", "[proxy][control][state]") {
  TempDir dir;
  std::string error;
  REQUIRE(save_state(dir.path(), sample(), error));
  const std::string path = state_file_path(dir.path());
  const std::string bytes = read_file(path);
  SavedTable loaded;

  write_file(path, bytes.substr(0, bytes.size() - 1));
  CHECK(load_state(dir.path(), loaded, error) == LoadStatus::corrupt);
  CHECK_THAT(error, Catch::Contains("truncated"));

  write_file(path, bytes.substr(0, 20));  // inside the header
  CHECK(load_state(dir.path(), loaded, error) == LoadStatus::corrupt);

  write_file(path, "");
  CHECK(load_state(dir.path(), loaded, error) == LoadStatus::corrupt);

  write_file(path, bytes + "x");
  CHECK(load_state(dir.path(), loaded, error) == LoadStatus::corrupt);
}

TEST_CASE("a state file with a flipped byte is refused", "[proxy][control][state]") {
  const std::string bytes = encode_state(sample());
  SavedTable loaded;
  std::string error;
  // generation, counter, digest, a byte of the registry id, the table's last byte
  for (std::size_t at : {std::size_t{9}, std::size_t{17}, std::size_t{25}, std::size_t{60}, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    CHECK_FALSE(decode_state(damaged, loaded, error));
  }
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  CHECK_FALSE(decode_state(bad_magic, loaded, error));
  CHECK_THAT(error, Catch::Contains("header"));
  REQUIRE(decode_state(bytes, loaded, error));
}

TEST_CASE("a state file written before registry ids (TGTABLE1) loads as a table of no registry",
          "[proxy][control][state]") {
  // "TGTABLE1" generation counter length xxh64 table, as the previous format wrote it.
  const std::string v1 = std::string("TGTABLE1", 8) +
                         std::string("\x07\0\0\0\0\0\0\0\x2a\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\0", 24);
  // The checksum is computed the same way as the previous format did.
  SavedTable loaded;
  std::string error;
  std::string file = v1 + std::string(8, '\0') + "abc";
  CHECK_FALSE(decode_state(file, loaded, error));  // wrong checksum
  CHECK_THAT(error, Catch::Contains("checksum"));
  // XXH64 over generation, counter, length and the table.
  const std::string covered = v1.substr(8, 24) + "abc";
  const std::uint64_t sum = XXH64(covered.data(), covered.size(), 0);
  std::string sum_bytes;
  for (int i = 0; i < 8; ++i) sum_bytes.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  file = v1 + sum_bytes + "abc";
  REQUIRE(decode_state(file, loaded, error));
  CHECK(loaded.version == tg::TableVersion{7, 42});
  CHECK(loaded.registry_id.empty());
  CHECK(loaded.digest == 0);
  CHECK(loaded.table == "abc");
}
