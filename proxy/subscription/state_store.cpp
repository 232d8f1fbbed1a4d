#include "subscription/state_store.hpp"

#include <xxhash.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace tg::proxy::subscription {

namespace {

constexpr std::string_view kMagic = "TGTABLE2";
constexpr std::size_t kHeaderBytes = 8 + 6 * 8;  // magic, generation, counter, digest, id length, length, checksum
constexpr std::string_view kMagicV1 = "TGTABLE1";
constexpr std::size_t kHeaderBytesV1 = 8 + 4 * 8;  // magic, generation, counter, length, checksum
constexpr std::size_t kMaxRegistryId = 128;

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

// Over the header fields before the checksum, the registry id and the table.
std::uint64_t checksum(std::string_view fields, std::string_view table, std::string_view registry_id = {}) {
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  XXH64_update(state, fields.data(), fields.size());
  XXH64_update(state, registry_id.data(), registry_id.size());
  XXH64_update(state, table.data(), table.size());
  const std::uint64_t digest = XXH64_digest(state);
  XXH64_freeState(state);
  return digest;
}

std::string errno_text(const std::string& step, const std::string& path) {
  return step + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string state_file_path(const std::string& dir) { return (std::filesystem::path(dir) / "table.state").string(); }

std::string encode_state(const SavedTable& saved) {
  std::string out;
  out.reserve(kHeaderBytes + saved.registry_id.size() + saved.table.size());
  out.append(kMagic);
  put_u64(out, saved.version.generation);
  put_u64(out, saved.version.counter);
  put_u64(out, saved.digest);
  put_u64(out, saved.registry_id.size());
  put_u64(out, saved.table.size());
  put_u64(out, checksum(std::string_view(out).substr(kMagic.size()), saved.table, saved.registry_id));
  out.append(saved.registry_id);
  out.append(saved.table);
  return out;
}

namespace {

bool decode_v1(std::string_view bytes, SavedTable& out, std::string& error) {
  if (bytes.size() < kHeaderBytesV1) {
    error = "not a table state file (bad header)";
    return false;
  }
  const std::uint64_t length = get_u64(bytes, 24);
  if (length != bytes.size() - kHeaderBytesV1) {
    error = "truncated or overlong: header says " + std::to_string(length) + " table bytes, file holds " +
            std::to_string(bytes.size() - kHeaderBytesV1);
    return false;
  }
  const std::string_view table = bytes.substr(kHeaderBytesV1);
  if (checksum(bytes.substr(8, 24), table) != get_u64(bytes, 32)) {
    error = "checksum mismatch";
    return false;
  }
  out.version = {get_u64(bytes, 8), get_u64(bytes, 16)};
  out.registry_id.clear();
  out.digest = 0;
  out.table.assign(table);
  return true;
}

}  // namespace

bool decode_state(std::string_view bytes, SavedTable& out, std::string& error) {
  if (bytes.substr(0, kMagicV1.size()) == kMagicV1) return decode_v1(bytes, out, error);
  if (bytes.size() < kHeaderBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    error = "not a table state file (bad header)";
    return false;
  }
  const std::uint64_t id_length = get_u64(bytes, 32);
  const std::uint64_t table_length = get_u64(bytes, 40);
  if (id_length > kMaxRegistryId || table_length > bytes.size() ||
      id_length + table_length != bytes.size() - kHeaderBytes) {
    error = "truncated or overlong: header says " + std::to_string(id_length) + " + " + std::to_string(table_length) +
            " bytes, file holds " + std::to_string(bytes.size() - kHeaderBytes);
    return false;
  }
  const std::string_view registry_id = bytes.substr(kHeaderBytes, id_length);
  const std::string_view table = bytes.substr(kHeaderBytes + id_length);
  if (checksum(bytes.substr(8, 40), table, registry_id) != get_u64(bytes, 48)) {
    error = "checksum mismatch";
    return false;
  }
  out.version = {get_u64(bytes, 8), get_u64(bytes, 16)};
  out.digest = get_u64(bytes, 24);
  out.registry_id.assign(registry_id);
  out.table.assign(table);
  return true;
}

bool save_state(const std::string& dir, const SavedTable& saved, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "create " + dir + ": " + ec.message();
    return false;
  }
  const std::string path = state_file_path(dir);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = errno_text("open", tmp);
    return false;
  }
  const bool written = write_all(fd, encode_state(saved));
  if (!written || ::fsync(fd) != 0) {
    error = errno_text(written ? "fsync" : "write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::close(fd) != 0) {
    error = errno_text("close", tmp);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = errno_text("rename to", path);
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename itself is durable once the directory is synced.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return true;
}

LoadStatus load_state(const std::string& dir, SavedTable& out, std::string& error) {
  const std::string path = state_file_path(dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path)) return LoadStatus::absent;
    error = errno_text("open", path);
    return LoadStatus::corrupt;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "read " + path + " failed";
    return LoadStatus::corrupt;
  }
  if (!decode_state(bytes, out, error)) {
    error = path + ": " + error;
    return LoadStatus::corrupt;
  }
  return LoadStatus::loaded;
}

}  // namespace tg::proxy::subscription
