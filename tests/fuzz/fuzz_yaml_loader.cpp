// libFuzzer target: the YAML configuration loader (tests/fuzz/README.md).
// Must never crash or hang; errors are always reported against the file name.
#include "config/loader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_yaml_loader: invariant violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size > 64 * 1024) return -1;  // deeply nested documents: keep runs short
  std::string_view text(reinterpret_cast<const char*>(bytes), size);
  tg::config::LoadResult result = tg::config::load_string(text, "fuzz.yaml", tg::config::Reader::proxy);
  if (result.ok()) {
    check(result.errors.empty(), "ok() with errors");
    check(result.config.has_value(), "ok() without a config");
  } else {
    check(!result.config.has_value(), "errors and a config");
    for (const tg::config::ConfigError& e : result.errors) {
      std::string s = e.to_string();
      if (!std::string_view(s).starts_with("fuzz.yaml")) {
        std::fprintf(stderr, "error without file name: %s\n", s.c_str());
        std::abort();
      }
    }
  }
  return 0;
}
