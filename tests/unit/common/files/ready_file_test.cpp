// The --ready-file of both binaries (common/files/ready_file).
#include "files/ready_file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("tg-ready-file-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the ready file holds exactly the text, with no temporary left", "[files][ready_file]") {
  TempDir dir;
  const fs::path file = dir.path / "ready";
  tg::write_ready_file(file.string(), "listen=127.0.0.1:1\n");
  tg::write_ready_file(file.string(), "listen=127.0.0.1:2\nadmin=[::1]:3\n");
  CHECK(read(file) == "listen=127.0.0.1:2\nadmin=[::1]:3\n");
  CHECK_FALSE(fs::exists(dir.path / "ready.tmp"));
}

TEST_CASE("a ready file that cannot be written is an error naming it", "[files][ready_file]") {
  TempDir dir;
  const fs::path file = dir.path / "missing-dir" / "ready";
  CHECK_THROWS_WITH(tg::write_ready_file(file.string(), "x"),
                    Catch::Matchers::Contains((dir.path / "missing-dir" / "ready.tmp").string()));
}
