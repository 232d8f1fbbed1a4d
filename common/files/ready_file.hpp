// The --ready-file both binaries write once they listen ("listen=IP:PORT\n..."),
// so that scripts and tests learn the ports the kernel picked.
#pragma once

#include <string>
#include <string_view>

namespace tg {

// Writes `text` to `path` through a temporary file and a rename, so a reader
// never sees half a file. Throws std::runtime_error when it cannot.
void write_ready_file(const std::string& path, std::string_view text);

}  // namespace tg
