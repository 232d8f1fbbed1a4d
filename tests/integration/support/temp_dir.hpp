// A private temporary directory, removed with everything in it on destruction.
//
// Set TG_ITEST_KEEP=1 to keep the directories (configs, logs) of a run for a
// post-mortem; their paths are then printed to stderr.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tg::itest {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "tg-itest");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Whole-file helpers; throw std::runtime_error on I/O errors.
void write_file(const std::filesystem::path& path, std::string_view content);
// Writes to a sibling temporary file and renames it over `path`, so a reader
// never sees a half-written file.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);
// Returns "" when the file does not exist.
std::string read_file(const std::filesystem::path& path);

}  // namespace tg::itest
