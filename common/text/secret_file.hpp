// The secret an HS256 secret file holds: its bytes without one trailing
// newline ("\n" or "\r\n"), as an editor or `echo` leaves one. tg-control and
// a standalone tg-proxy read `hs256_secret_file` by this one rule, so one file
// never gives two secrets.
#pragma once

#include <string>

namespace tg::text {

inline std::string secret_from_file_content(std::string content) {
  if (content.ends_with("\r\n")) {
    content.resize(content.size() - 2);
  } else if (content.ends_with("\n")) {
    content.pop_back();
  }
  return content;
}

}  // namespace tg::text
