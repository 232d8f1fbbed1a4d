// The outcome of a registry operation, with the gRPC status codes admin.proto
// promises. Kept free of gRPC headers so the registry logic and its tests do
// not depend on the RPC layer; server/admin_service.cpp maps it 1:1 (the
// numeric values are grpc::StatusCode's).
#pragma once

#include <string>
#include <string_view>

namespace tg::control {

enum class Code : int {
  ok = 0,
  cancelled = 1,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  unauthenticated = 16,
};

// "OK", "INVALID_ARGUMENT", ... as gRPC spells them (metrics labels, logs).
std::string_view code_name(Code code);

struct Status {
  Code code = Code::ok;
  std::string message;

  bool ok() const { return code == Code::ok; }

  static Status invalid(std::string field, std::string_view problem) {
    return {Code::invalid_argument, std::move(field) + ": " + std::string(problem)};
  }
  static Status not_found(std::string message) { return {Code::not_found, std::move(message)}; }
  static Status exists(std::string message) { return {Code::already_exists, std::move(message)}; }
  static Status precondition(std::string message) { return {Code::failed_precondition, std::move(message)}; }
  static Status internal(std::string message) { return {Code::internal, std::move(message)}; }
};

}  // namespace tg::control
