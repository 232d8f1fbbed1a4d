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

namespace {

struct Taken {
  enum Result { locked, busy, failed } result = failed;
  int fd = -1;           // locked
  std::string pid;       // busy: the pid in the holder's file (may be empty)
  int error_number = 0;  // failed
};

// Opens (creates) `name` in the lock directory and flocks it with `operation`
// (LOCK_EX or LOCK_SH) without waiting. A holder that exits removes its file
// while still holding the lock, and we may have opened that file just before:
// a lock on a removed file guards nothing, so once locked the name must still
// lead to the locked file, else open again (each round follows one exiting
// holder: a few suffice).
Taken take_file(int dir_fd, const std::string& name, int operation) {
  Taken taken;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      taken.error_number = errno;
      return taken;
    }
    if (::flock(fd, operation | LOCK_NB) != 0) {
      taken.error_number = errno;
      if (taken.error_number == EWOULDBLOCK) {
        taken.result = Taken::busy;
        taken.pid = holder_pid(fd);
      }
      ::close(fd);
      return taken;
    }
    if (same_file(fd, dir_fd, name)) {
      taken.result = Taken::locked;
      taken.fd = fd;
      return taken;
    }
    ::close(fd);
  }
  taken.error_number = EAGAIN;  // replaced again and again: a holder restarting in a loop
  return taken;
}

// The file says who holds it exclusively; shared holders leave it empty (so
// a pid left by a killed exclusive holder is never reported).
bool write_pid(int fd, bool exclusive) {
  if (::ftruncate(fd, 0) != 0) return false;
  if (!exclusive) return true;
  const std::string pid = std::to_string(::getpid()) + "\n";
  return ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string port_lock_file_name(unsigned short port) { return "tg-proxy-port-" + std::to_string(port) + ".lock"; }

ListenLock ListenLock::acquire(const std::string& dir, const tcp::endpoint& endpoint,
                               const std::string& flag_address, std::string& error) {
  ListenLock lock;
  lock.dir_fd_ = open_lock_dir(dir, error);
  if (lock.dir_fd_ < 0) return lock;
  const std::string prefix = dir.back() == '/' ? dir : dir + "/";
  const std::string port = std::to_string(endpoint.port());
  const auto lock_error = [&](const std::string& name, int error_number) {
    return "--lock-dir " + dir + ": cannot lock " + name + ": " + net::errno_text(error_number);
  };

  // The port: a wildcard address overlaps every address of its port, so it
  // holds the port exclusively; a single address shares it with the others.
  lock.port_exclusive_ = endpoint.address().is_unspecified();
  lock.port_name_ = port_lock_file_name(endpoint.port());
  Taken port_taken = take_file(lock.dir_fd_, lock.port_name_, lock.port_exclusive_ ? LOCK_EX : LOCK_SH);
  if (port_taken.result == Taken::busy) {
    if (!port_taken.pid.empty())
      error = "--listen " + flag_address + ": another tg-proxy (pid " + port_taken.pid + ") serves every address of port " +
              port + "; stop it first (lock " + prefix + lock.port_name_ + ")";
    else
      error = "--listen " + flag_address + ": another tg-proxy serves an address of port " + port +
              ", which " + endpoint.address().to_string() + " includes; stop it first (locks " + prefix +
              "tg-proxy-*-" + port + ".lock)";
    return lock;
  }
  if (port_taken.result == Taken::failed || !write_pid(port_taken.fd, lock.port_exclusive_)) {
    error = lock_error(lock.port_name_, port_taken.error_number ? port_taken.error_number : errno);
    close_fd(port_taken.fd);
    return lock;
  }
  lock.port_fd_ = port_taken.fd;

  // The address itself, always exclusive.
  lock.name_ = lock_file_name(endpoint);
  lock.path_ = prefix + lock.name_;
  Taken taken = take_file(lock.dir_fd_, lock.name_, LOCK_EX);
  if (taken.result == Taken::busy) {
    error = "--listen " + flag_address + ": another tg-proxy" + (taken.pid.empty() ? "" : " (pid " + taken.pid + ")") +
            " serves this address; stop it first (lock " + lock.path_ + ")";
    return lock;  // the destructor lets go of the port
  }
  if (taken.result == Taken::failed || !write_pid(taken.fd, true)) {
    error = lock_error(lock.name_, taken.error_number ? taken.error_number : errno);
    if (taken.fd >= 0) ::unlinkat(lock.dir_fd_, lock.name_.c_str(), 0);
    close_fd(taken.fd);
    return lock;
  }
  lock.fd_ = taken.fd;
  return lock;
}

ListenLock::ListenLock(ListenLock&& other) noexcept { *this = std::move(other); }

ListenLock& ListenLock::operator=(ListenLock&& other) noexcept {
  if (this != &other) {
    release();
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    port_fd_ = std::exchange(other.port_fd_, -1);
    fd_ = std::exchange(other.fd_, -1);
    port_exclusive_ = other.port_exclusive_;
    port_name_ = std::move(other.port_name_);
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
    close_fd(fd_);
  }
  if (port_fd_ >= 0) {
    // A shared port file may be held by others too: only its exclusive holder removes it.
    if (port_exclusive_ && same_file(port_fd_, dir_fd_, port_name_)) ::unlinkat(dir_fd_, port_name_.c_str(), 0);
    close_fd(port_fd_);
  }
  if (dir_fd_ >= 0) {
    ::close(dir_fd_);
    dir_fd_ = -1;
  }
}

}  // namespace tg::proxy
