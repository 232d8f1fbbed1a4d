// Readers for the JSON bodies tests look at: what the echo backend saw, and
// the proxy's error body {"error":"<kind>","request_id":"<id>"}.
#pragma once

#include "support/header_list.hpp"
#include "support/http_client.hpp"

#include <cstdint>
#include <string>

namespace tg::itest {

// The request as the echo backend received it (BackendMode::echo).
struct EchoedRequest {
  std::string backend;
  std::string method;
  std::string target;
  std::string version;
  HeaderList headers;
  std::uint64_t body_length = 0;
  std::string body_fnv1a;
  std::string body;  // only when body_length <= 64 KiB
  std::uint64_t connection_id = 0;
  std::uint64_t request_on_connection = 0;
};

// Throws std::runtime_error (with the response) when the body is not an echo.
EchoedRequest parse_echo(const HttpResponse& response);

struct ErrorBody {
  std::string error;
  std::string request_id;
};

// Throws std::runtime_error (with the response) unless the body is a JSON
// object with string fields "error" and "request_id".
ErrorBody parse_error(const HttpResponse& response);

}  // namespace tg::itest
