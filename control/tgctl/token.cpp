#include "tgctl/token.hpp"

#include "tgctl/command.hpp"
#include "tgctl/json_input.hpp"

#include <sstream>

namespace tg::tgctl {

std::string read_token_file(const std::string& path) {
  std::istringstream lines(read_input_file(path, "--token-file"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string first, second, role, extra;
    words >> first >> second >> role >> extra;
    if (first.empty() || first.starts_with("#")) continue;
    if (!extra.empty()) {
      throw UsageError("--token-file: " + path + ": expected TOKEN, NAME TOKEN or NAME TOKEN ROLE on a line");
    }
    return second.empty() ? first : second;
  }
  throw UsageError("--token-file: " + path + " holds no token");
}

}  // namespace tg::tgctl
