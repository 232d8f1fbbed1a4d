// Running a test process out of file descriptors on purpose (the accept
// back-off tests of the HTTP server and the gRPC acceptor).
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace tg::test {

// Lowers the soft open-file limit for the object's life and restores it.
struct FileLimit {
  rlimit saved{};
  explicit FileLimit(rlim_t soft) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit lowered = saved;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  ~FileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
};

// Opens /dev/null until the process has no descriptor left; closes them all
// in release() or, should an assertion end the test early, when destroyed.
struct Filler {
  std::vector<int> fds;
  int last_errno = 0;
  void fill() {
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fds.push_back(fd);
    last_errno = errno;
  }
  void release() {
    for (int fd : fds) ::close(fd);
    fds.clear();
  }
  ~Filler() { release(); }
};

}  // namespace tg::test
