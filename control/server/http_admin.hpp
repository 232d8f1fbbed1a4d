// POST /v1/admin/<Method> on tg-control's HTTP port (docs/api.md): every
// Admin RPC, its request and response in proto3 JSON, answered by the same
// handlers as gRPC calls.
//
// Generic: the method is looked up in the Admin service's descriptor, so an
// RPC added to admin.proto works over HTTP without code here. The body is
// parsed with protobuf's JSON mapping (unknown fields refused) into the
// method's request message, which goes to tg-control's own gRPC server over an
// in-process channel (grpc::Server::InProcessChannel), with the HTTP
// `Authorization` header as the `authorization` metadata: the token check,
// the roles, the audit actor, the limits and the Admin metrics are the gRPC
// call's. The response is printed as proto3 JSON with the .proto field names
// and every field, zero values included.
//
// Answers: 200 with the response; a failed call gets the gRPC status mapped
// to HTTP as grpc-gateway maps it (http_status_for) and the body
// {"code": <gRPC code>, "message": "...", "details": []}. Before any call:
// an unknown method 404 (code 5), another HTTP method than POST 405 (code 12),
// a body that is not JSON or not the request message 400 (code 3), a
// Content-Type other than application/json 415 (code 3), a body over
// body_limit 413 (code 8), more than max_in_flight calls under way 429
// (code 8), no channel yet or stopping 503 (code 14).
//
// Threads: handle() runs on the HTTP server's io thread (tg-control's owner
// loop) and only posts. JSON parsing and printing run on one worker thread of
// this object; the call completes on a gRPC thread, which posts to the
// worker; the answer is posted back to the io thread. Nothing blocks the io
// thread.
#pragma once

#include "netio/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <grpcpp/channel.h>
#include <grpcpp/support/status_code_enum.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace google::protobuf {
class MethodDescriptor;
}

namespace tg::control {

// The path prefix: POST /v1/admin/<Method>.
inline constexpr std::string_view http_admin_prefix = "/v1/admin/";

// The HTTP status grpc-gateway answers for a gRPC status code: OK 200,
// CANCELLED 499, UNKNOWN 500, INVALID_ARGUMENT 400, DEADLINE_EXCEEDED 504,
// NOT_FOUND 404, ALREADY_EXISTS 409, PERMISSION_DENIED 403,
// RESOURCE_EXHAUSTED 429, FAILED_PRECONDITION 400, ABORTED 409,
// OUT_OF_RANGE 400, UNIMPLEMENTED 501, INTERNAL 500, UNAVAILABLE 503,
// DATA_LOSS 500, UNAUTHENTICATED 401; any other value 500.
unsigned http_status_for(grpc::StatusCode code);

// An error answer: `http_status` with {"code": code, "message": message,
// "details": []}. UNAUTHENTICATED adds `WWW-Authenticate: Bearer`.
net::HttpResponse http_admin_error(unsigned http_status, grpc::StatusCode code, std::string_view message);
// The same, with the HTTP status of the code.
net::HttpResponse http_admin_error(grpc::StatusCode code, std::string_view message);

// A request checked and ready to go out as a gRPC call.
struct HttpAdminCall {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string request_bytes;  // the request message, serialized
  std::string authorization;  // the Authorization header; empty when absent
};

// The Admin method a path names, or null (any thread).
const google::protobuf::MethodDescriptor* http_admin_method(std::string_view path);

// Checks and converts an HTTP request (its path, Content-Type, Authorization
// and JSON body) into a call, or the error answer to give instead. Any thread.
std::variant<HttpAdminCall, net::HttpResponse> decode_http_admin(const net::HttpRequest& request);

// The 200 answer for a response message of `method` (serialized), or a 500
// if it does not parse. Any thread.
net::HttpResponse encode_http_admin(const google::protobuf::MethodDescriptor& method, const std::string& response_bytes);

struct HttpAdminOptions {
  std::size_t body_limit = 1024 * 1024;
  std::size_t max_in_flight = 64;  // calls received and not answered yet
  std::chrono::milliseconds call_timeout{30'000};  // the gRPC deadline
};

class HttpAdmin {
 public:
  // `record` runs on the io thread once per answer, with the method (its
  // name when it is one of the Admin service's, else "unknown") and the HTTP status.
  using Record = std::function<void(const std::string& method, unsigned status)>;

  HttpAdmin(boost::asio::io_context& io, HttpAdminOptions options, Record record);
  ~HttpAdmin();  // stop(0)
  HttpAdmin(const HttpAdmin&) = delete;
  HttpAdmin& operator=(const HttpAdmin&) = delete;

  // The route to register on the HTTP server (prefix, POST, body limit, 405
  // and 413 answers in the JSON error form).
  net::HttpRoute route() const;
  // The route's handler; on the io thread.
  void handle(net::HttpRequest request, net::HttpRespond respond);

  // The channel to tg-control's own server; any thread but the io thread,
  // returns once calls use it. Until then calls are answered 503.
  void connect(std::shared_ptr<grpc::Channel> channel);
  // New calls are answered 503; waits up to `timeout` for the calls under
  // way to be answered (the io thread must run meanwhile), then stops the
  // worker. Any thread but the io thread. Idempotent.
  void stop(std::chrono::milliseconds timeout);

  struct Shared;  // shared with the calls in flight (defined in the .cpp)

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace tg::control
