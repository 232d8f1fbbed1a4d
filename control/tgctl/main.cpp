// tgctl: the environment and argv into tg::tgctl::run (docs/tgctl.md).
#include "tgctl/run.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>

namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

}  // namespace

int main(int argc, char** argv) {
  tg::tgctl::Environment environment;
  environment.server = env("TG_SERVER");
  environment.token_file = env("TG_TOKEN_FILE");
  environment.now_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  const std::vector<std::string> args(argv + 1, argv + argc);
  return tg::tgctl::run(args, environment, std::cout, std::cerr);
}
