// The bearer token tgctl sends (metadata `authorization: Bearer <token>`).
#pragma once

#include <string>

namespace tg::tgctl {

// The token in file `path`: the first line that is neither blank nor a '#'
// comment, trimmed. A line "NAME TOKEN" or "NAME TOKEN ROLE" (the forms of
// tg-control's --token-file) gives TOKEN, so an operator can copy a line of the server's
// file. Throws UsageError when the file cannot be read or holds no token.
std::string read_token_file(const std::string& path);

}  // namespace tg::tgctl
