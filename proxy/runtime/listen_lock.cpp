#include "runtime/listen_lock.hpp"

#include "net/bind_error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

namespace tg::proxy {

namespace {

// Opens (creating when missing, mode 0700) the lock directory and checks that
// only this user can plant files in it. Returns the fd, or -1 with `error`.
int open_lock_dir(const std::string& dir, std::string& error) {
  if (dir.empty()) {
    error = "--lock-dir: empty path";
    return -1;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "--lock-dir " + dir + ": cannot create: " + net::errno_text(errno);
    return -1;
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = "--lock-dir " + dir + ": " + net::errno_text(errno);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "--lock-dir " + dir + ": " + net::errno_text(errno);
    ::close(fd);
    return -1;
  }
  if ((st.st_uid != ::geteuid() && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    error = "--lock-dir " + dir + ": must be owned by this user and writable by no one else (owner uid " +
            std::to_string(st.st_uid) + ", mode " + std::to_string((st.st_mode >> 6) & 7) +
            std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ")";
    ::close(fd);
    return -1;
  }
  ::flock(fd, LOCK_SH | LOCK_NB);  // best effort: only keeps tmpfiles cleaners away
  return fd;
}

std::string holder_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return {};
  std::string_view text(buffer, static_cast<std::size_t>(n));
  const auto end = text.find_first_not_of("0123456789");
  text = text.substr(0, end);
  return std::string(text);
}

bool same_file(int fd, int dir_fd, const std::string& name) {
  struct stat opened {}, named {};
  if (::fstat(fd, &opened) != 0 || ::fstatat(dir_fd, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace

std::string default_lock_dir() {
  if (::geteuid() == 0 && ::access("/run", W_OK) == 0) return "/run/tenantgate";
  return "/tmp/tenantgate-" + std::to_string(::geteuid());
}

std::string lock_file_name(const tcp::endpoint& endpoint) {
  return "tg-proxy-" + endpoint.address().to_string() + "-" + std::to_string(endpoint.port()) + ".lock";
}

ListenLock ListenLock::acquire(const std::string& dir, const tcp::endpoint& endpoint,
                               const std::string& flag_address, std::string& error) {
  ListenLock lock;
  lock.dir_fd_ = open_lock_dir(dir, error);
  if (lock.dir_fd_ < 0) return lock;
  lock.name_ = lock_file_name(endpoint);
  lock.path_ = (dir.back() == '/' ? dir : dir + "/") + lock.name_;
  // A holder that exits removes its file while still holding the lock; we may
  // have opened that file just before. Locking a removed file guards nothing,
  // so after the lock succeeds the name must still lead to the locked file;
  // else open again. Each round follows an exiting holder: a few suffice.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::openat(lock.dir_fd_, lock.name_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      error = "--lock-dir " + dir + ": cannot open " + lock.name_ + ": " + net::errno_text(errno);
      return lock;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int flock_errno = errno;
      if (flock_errno == EWOULDBLOCK) {
        const std::string pid = holder_pid(fd);
        error = "--listen " + flag_address + ": another tg-proxy" + (pid.empty() ? "" : " (pid " + pid + ")") +
                " serves this address; stop it first (lock " + lock.path_ + ")";
      } else {
        error = "--lock-dir " + dir + ": cannot lock " + lock.name_ + ": " + net::errno_text(flock_errno);
      }
      ::close(fd);
      return lock;
    }
    if (!same_file(fd, lock.dir_fd_, lock.name_)) {
      ::close(fd);
      continue;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      error = "--lock-dir " + dir + ": cannot write " + lock.name_ + ": " + net::errno_text(errno);
      ::unlinkat(lock.dir_fd_, lock.name_.c_str(), 0);
      ::close(fd);
      return lock;
    }
    lock.fd_ = fd;
    return lock;
  }
  error = "--lock-dir " + dir + ": " + lock.name_ + " keeps being replaced; is another tg-proxy restarting in a loop?";
  return lock;
}

ListenLock::ListenLock(ListenLock&& other) noexcept
    : dir_fd_(std::exchange(other.dir_fd_, -1)),
      fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      path_(std::move(other.path_)) {}

ListenLock& ListenLock::operator=(ListenLock&& other) noexcept {
  if (this != &other) {
    release();
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    path_ = std::move(other.path_);
  }
  return *this;
}

ListenLock::~ListenLock() { release(); }

void ListenLock::release() noexcept {
  if (fd_ >= 0) {
    // Only our own file: a name that leads elsewhere belongs to someone else.
    if (same_file(fd_, dir_fd_, name_)) ::unlinkat(dir_fd_, name_.c_str(), 0);
    ::close(fd_);
    fd_ = -1;
  }
  if (dir_fd_ >= 0) {
    ::close(dir_fd_);
    dir_fd_ = -1;
  }
}

}  // namespace tg::proxy
