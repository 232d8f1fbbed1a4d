// ListenLock: one holder per address (flock), the refusal message names the
// holder's pid and the file, the file goes with a clean release, and a lock
// directory others may write to is refused.
#include "runtime/listen_lock.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace tg::proxy;

namespace {

class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/tg-unit-lock-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

tcp::endpoint loopback(unsigned short port) { return {asio::ip::make_address("127.0.0.1"), port}; }

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("lock file names encode the address and the port", "[proxy][listen_lock]") {
  CHECK(lock_file_name(loopback(8080)) == "tg-proxy-127.0.0.1-8080.lock");
  CHECK(lock_file_name({asio::ip::make_address("::1"), 443}) == "tg-proxy-::1-443.lock");
}

TEST_CASE("a held listen lock refuses a second holder with the pid and the file", "[proxy][listen_lock]") {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/locks";
  std::string error;
  auto first = std::make_unique<ListenLock>(ListenLock::acquire(dir, loopback(8080), "127.0.0.1:8080", error));
  INFO(error);
  REQUIRE(first->held());
  CHECK(first->path() == dir + "/tg-proxy-127.0.0.1-8080.lock");
  CHECK(contents(first->path()) == std::to_string(::getpid()) + "\n");
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  // flock locks belong to the open file, so a second open in this process conflicts too.
  std::string refused;
  const ListenLock second = ListenLock::acquire(dir, loopback(8080), "127.0.0.1:8080", refused);
  CHECK_FALSE(second.held());
  CHECK(refused == "--listen 127.0.0.1:8080: another tg-proxy (pid " + std::to_string(::getpid()) +
                       ") serves this address; stop it first (lock " + dir + "/tg-proxy-127.0.0.1-8080.lock)");

  std::string other_error;
  const ListenLock other_port = ListenLock::acquire(dir, loopback(8081), "127.0.0.1:8081", other_error);
  CHECK(other_port.held());

  const std::string path = first->path();
  first.reset();
  CHECK_FALSE(std::filesystem::exists(path));
  std::string again_error;
  const ListenLock again = ListenLock::acquire(dir, loopback(8080), "127.0.0.1:8080", again_error);
  INFO(again_error);
  CHECK(again.held());
}

TEST_CASE("a lock file left by a dead holder does not block", "[proxy][listen_lock]") {
  ScratchDir scratch;
  std::ofstream(scratch.path() + "/tg-proxy-127.0.0.1-8080.lock") << "99999999\n";
  ::chmod(scratch.path().c_str(), 0700);
  std::string error;
  const ListenLock lock = ListenLock::acquire(scratch.path(), loopback(8080), "127.0.0.1:8080", error);
  INFO(error);
  REQUIRE(lock.held());
  CHECK(contents(lock.path()) == std::to_string(::getpid()) + "\n");
}

TEST_CASE("a lock directory others may write to is refused", "[proxy][listen_lock]") {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/open";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  std::string error;
  const ListenLock lock = ListenLock::acquire(dir, loopback(8080), "127.0.0.1:8080", error);
  CHECK_FALSE(lock.held());
  CHECK(error == "--lock-dir " + dir + ": must be owned by this user and writable by no one else (owner uid " +
                     std::to_string(::geteuid()) + ", mode 777)");
}

TEST_CASE("the default lock directory depends on the user only", "[proxy][listen_lock]") {
  const std::string dir = default_lock_dir();
  if (::geteuid() == 0 && ::access("/run", W_OK) == 0) CHECK(dir == "/run/tenantgate");
  else CHECK(dir == "/tmp/tenantgate-" + std::to_string(::geteuid()));
}

TEST_CASE("a wildcard address and a single address of the same port exclude each other", "[proxy][listen_lock]") {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/locks";
  const tcp::endpoint any{asio::ip::make_address("0.0.0.0"), 8080};
  std::string error;
  {
    // Two single addresses of one port share it.
    const ListenLock one = ListenLock::acquire(dir, loopback(8080), "127.0.0.1:8080", error);
    const ListenLock two = ListenLock::acquire(dir, {asio::ip::make_address("127.0.0.2"), 8080}, "127.0.0.2:8080", error);
    INFO(error);
    REQUIRE(one.held());
    REQUIRE(two.held());
    std::string refused;
    const ListenLock wildcard = ListenLock::acquire(dir, any, "0.0.0.0:8080", refused);
    CHECK_FALSE(wildcard.held());
    CHECK(refused == "--listen 0.0.0.0:8080: another tg-proxy serves an address of port 8080, which 0.0.0.0 "
                     "includes; stop it first (locks " + dir + "/tg-proxy-*-8080.lock)");
  }
  const ListenLock wildcard = ListenLock::acquire(dir, any, "0.0.0.0:8080", error);
  INFO(error);
  REQUIRE(wildcard.held());
  std::string refused;
  const ListenLock single = ListenLock::acquire(dir, loopback(8080), "127.0.0.1:8080", refused);
  CHECK_FALSE(single.held());
  CHECK(refused == "--listen 127.0.0.1:8080: another tg-proxy (pid " + std::to_string(::getpid()) +
                       ") serves every address of port 8080; stop it first (lock " + dir + "/tg-proxy-port-8080.lock)");
  std::string other_error;
  CHECK(ListenLock::acquire(dir, loopback(8081), "127.0.0.1:8081", other_error).held());
}
