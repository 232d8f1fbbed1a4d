#include "server/http_admin.hpp"

#include "text/closest_match.hpp"

#include "tenantgate/v1/admin.grpc.pb.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

namespace tg::control {
namespace {

namespace asio = boost::asio;
namespace pb = google::protobuf;

const pb::ServiceDescriptor& admin_service() {
  static const pb::ServiceDescriptor* const service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(tenantgate::v1::Admin::service_full_name());
  return *service;
}

std::string_view method_name(std::string_view path) {
  return path.starts_with(http_admin_prefix) ? path.substr(http_admin_prefix.size()) : std::string_view{};
}

// `text` as a JSON string literal (quotes and escapes by protobuf's printer).
std::string json_string(std::string_view text) {
  pb::Value value;
  value.set_string_value(std::string(text));
  std::string out;
  if (!pb::util::MessageToJsonString(value, &out).ok()) return "\"\"";
  return out;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

// "application/json", with or without parameters (charset=utf-8).
bool is_json_media_type(std::string_view content_type) {
  const std::string type = lower_ascii(content_type.substr(0, content_type.find(';')));
  const auto first = type.find_first_not_of(" \t");
  const auto last = type.find_last_not_of(" \t");
  return first != std::string::npos && type.substr(first, last - first + 1) == "application/json";
}

// gRPC metadata values are printable ASCII.
bool is_metadata_value(std::string_view value) {
  for (char c : value)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

net::HttpResponse unknown_method(std::string_view name) {
  std::vector<std::string> names;
  const pb::ServiceDescriptor& service = admin_service();
  for (int i = 0; i < service.method_count(); ++i) names.push_back(service.method(i)->name());
  std::string message = "no Admin method \"" + std::string(name) + "\"";
  if (auto suggestion = text::closest_match(name, names)) message += " (did you mean \"" + *suggestion + "\"?)";
  message += "; the Admin methods (POST " + std::string(http_admin_prefix) + "ListTenants and so on) are:";
  for (const auto& n : names) message += " " + n;
  return http_admin_error(grpc::StatusCode::NOT_FOUND, message);
}

}  // namespace

unsigned http_status_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::CANCELLED: return 499;
    case grpc::StatusCode::UNKNOWN: return 500;
    case grpc::StatusCode::INVALID_ARGUMENT: return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS: return 409;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::FAILED_PRECONDITION: return 400;  // as grpc-gateway: not 412
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::UNIMPLEMENTED: return 501;
    case grpc::StatusCode::INTERNAL: return 500;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::DATA_LOSS: return 500;
    default: return 500;
  }
}

net::HttpResponse http_admin_error(unsigned http_status, grpc::StatusCode code, std::string_view message) {
  net::HttpResponse response;
  response.status = http_status;
  response.content_type = "application/json";
  response.body = "{\"code\":" + std::to_string(static_cast<int>(code)) + ",\"message\":" + json_string(message) +
                  ",\"details\":[]}\n";
  if (code == grpc::StatusCode::UNAUTHENTICATED) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

net::HttpResponse http_admin_error(grpc::StatusCode code, std::string_view message) {
  return http_admin_error(http_status_for(code), code, message);
}

const pb::MethodDescriptor* http_admin_method(std::string_view path) {
  const std::string_view name = method_name(path);
  if (name.empty()) return nullptr;
  return admin_service().FindMethodByName(std::string(name));
}

std::variant<HttpAdminCall, net::HttpResponse> decode_http_admin(const net::HttpRequest& request) {
  const pb::MethodDescriptor* method = http_admin_method(request.path);
  if (method == nullptr) return unknown_method(method_name(request.path));
  if (method->client_streaming() || method->server_streaming())
    return http_admin_error(grpc::StatusCode::UNIMPLEMENTED,
                            method->name() + " is a streaming call; it is served over gRPC only");
  if (const auto type = request.header("Content-Type"); type && !is_json_media_type(*type))
    return http_admin_error(415, grpc::StatusCode::INVALID_ARGUMENT,
                            "Content-Type \"" + std::string(*type) +
                                "\": the body must be JSON, Content-Type: application/json (curl --json)");
  HttpAdminCall call;
  call.method = method;
  if (const auto authorization = request.header("Authorization")) {
    if (!is_metadata_value(*authorization))
      return http_admin_error(grpc::StatusCode::UNAUTHENTICATED,
                              "the Authorization header holds bytes other than printable ASCII; send "
                              "Authorization: Bearer <token>");
    call.authorization = std::string(*authorization);
  }
  std::unique_ptr<pb::Message> message(
      pb::MessageFactory::generated_factory()->GetPrototype(method->input_type())->New());
  // An empty body is the empty request message ({}).
  if (!is_blank(request.body)) {
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = pb::util::JsonStringToMessage(request.body, message.get(), options);
    if (!status.ok())
      return http_admin_error(grpc::StatusCode::INVALID_ARGUMENT,
                              "body: not a " + method->input_type()->full_name() + " in proto3 JSON: " +
                                  std::string(status.message()));
  }
  call.request_bytes = message->SerializeAsString();
  return call;
}

net::HttpResponse encode_http_admin(const pb::MethodDescriptor& method, const std::string& response_bytes) {
  std::unique_ptr<pb::Message> message(
      pb::MessageFactory::generated_factory()->GetPrototype(method.output_type())->New());
  if (!message->ParseFromString(response_bytes))
    return http_admin_error(grpc::StatusCode::INTERNAL, "the response of " + method.name() + " does not parse");
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  net::HttpResponse response;
  response.content_type = "application/json";
  if (const auto status = pb::util::MessageToJsonString(*message, &response.body, options); !status.ok())
    return http_admin_error(grpc::StatusCode::INTERNAL,
                            "the response of " + method.name() + " cannot be JSON: " + std::string(status.message()));
  response.body += '\n';
  return response;
}

// ---- the calls

struct HttpAdmin::Shared {
  Shared(asio::io_context& io_, HttpAdminOptions options_, Record record_)
      : io(io_), options(options_), record(std::move(record_)) {}

  asio::io_context& io;
  const HttpAdminOptions options;
  const Record record;
  asio::thread_pool worker{1};
  std::unique_ptr<grpc::GenericStub> stub;  // worker thread
  std::shared_ptr<grpc::Channel> channel;   // worker thread
  std::atomic<bool> connected{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> in_flight{0};
  std::mutex mutex;  // for `answered`
  std::condition_variable answered;
};

namespace {

// One call under way: what the gRPC call holds until it completes.
struct InFlight {
  std::string label;  // the method, for the metrics
  net::HttpRespond respond;
  const pb::MethodDescriptor* method = nullptr;
  grpc::ClientContext context;
  grpc::ByteBuffer request, response;
};

// Hands `response` to the io thread, which records and sends it.
void answer(const std::shared_ptr<HttpAdmin::Shared>& shared, std::string label, net::HttpRespond respond,
            net::HttpResponse response) {
  asio::post(shared->io, [shared, label = std::move(label), respond = std::move(respond),
                          response = std::move(response)]() mutable {
    if (shared->record) shared->record(label, response.status);
    respond(std::move(response));
    {
      std::lock_guard lock(shared->mutex);
      shared->in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
    shared->answered.notify_all();
  });
}

std::string bytes_of(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return out;
}

// Worker thread: decode the request and start the call.
void start_call(const std::shared_ptr<HttpAdmin::Shared>& shared, std::string label, net::HttpRequest request,
                net::HttpRespond respond) {
  auto decoded = decode_http_admin(request);
  if (auto* refusal = std::get_if<net::HttpResponse>(&decoded)) {
    answer(shared, std::move(label), std::move(respond), std::move(*refusal));
    return;
  }
  if (!shared->stub || shared->stopping.load(std::memory_order_relaxed)) {
    answer(shared, std::move(label), std::move(respond),
           http_admin_error(grpc::StatusCode::UNAVAILABLE, "tg-control is starting or stopping; retry"));
    return;
  }
  HttpAdminCall& call = std::get<HttpAdminCall>(decoded);
  auto flight = std::make_shared<InFlight>();
  flight->label = std::move(label);
  flight->respond = std::move(respond);
  flight->method = call.method;
  flight->context.set_deadline(std::chrono::system_clock::now() + shared->options.call_timeout);
  if (!call.authorization.empty()) flight->context.AddMetadata("authorization", call.authorization);
  grpc::Slice slice(std::move(call.request_bytes));
  flight->request = grpc::ByteBuffer(&slice, 1);  // an empty message too (a default ByteBuffer is none)
  const std::string path = "/" + call.method->service()->full_name() + "/" + call.method->name();
  shared->stub->UnaryCall(&flight->context, path, grpc::StubOptions(), &flight->request, &flight->response,
                          [shared, flight](grpc::Status status) {
                            // A gRPC thread: the JSON is printed on the worker.
                            asio::post(shared->worker, [shared, flight, status = std::move(status)] {
                              net::HttpResponse response =
                                  status.ok() ? encode_http_admin(*flight->method, bytes_of(flight->response))
                                              : http_admin_error(status.error_code(), status.error_message());
                              answer(shared, std::move(flight->label), std::move(flight->respond),
                                     std::move(response));
                            });
                          });
}

}  // namespace

HttpAdmin::HttpAdmin(asio::io_context& io, HttpAdminOptions options, Record record)
    : shared_(std::make_shared<Shared>(io, options, std::move(record))) {}

HttpAdmin::~HttpAdmin() { stop(std::chrono::milliseconds(0)); }

net::HttpRoute HttpAdmin::route() const {
  net::HttpRoute route;
  route.path = std::string(http_admin_prefix);
  route.prefix = true;
  route.methods = {"POST"};
  route.body_limit = shared_->options.body_limit;
  route.method_not_allowed =
      http_admin_error(405, grpc::StatusCode::UNIMPLEMENTED,
                       "use POST, with the request as JSON (POST " + std::string(http_admin_prefix) +
                           "ListTenants with {})");
  route.body_too_large = http_admin_error(413, grpc::StatusCode::RESOURCE_EXHAUSTED,
                                          "the body is larger than " + std::to_string(shared_->options.body_limit) +
                                              " bytes; send larger requests (an Apply of a large document) over gRPC");
  return route;
}

void HttpAdmin::handle(net::HttpRequest request, net::HttpRespond respond) {
  const pb::MethodDescriptor* method = http_admin_method(request.path);
  std::string label = method ? method->name() : "unknown";
  const auto refuse = [&](net::HttpResponse response) {
    if (shared_->record) shared_->record(label, response.status);
    respond(std::move(response));
  };
  if (shared_->stopping.load(std::memory_order_relaxed) || !shared_->connected.load(std::memory_order_relaxed)) {
    refuse(http_admin_error(grpc::StatusCode::UNAVAILABLE, "tg-control is starting or stopping; retry"));
    return;
  }
  if (shared_->in_flight.load(std::memory_order_relaxed) >= shared_->options.max_in_flight) {
    refuse(http_admin_error(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            std::to_string(shared_->options.max_in_flight) +
                                " HTTP Admin calls are under way already; retry later"));
    return;
  }
  shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
  asio::post(shared_->worker, [shared = shared_, label = std::move(label), request = std::move(request),
                               respond = std::move(respond)]() mutable {
    start_call(shared, std::move(label), std::move(request), std::move(respond));
  });
}

void HttpAdmin::connect(std::shared_ptr<grpc::Channel> channel) {
  // Installed on the worker (the stub's only user); returns once it is, so
  // a request after connect() finds it.
  std::promise<void> installed;
  asio::post(shared_->worker, [shared = shared_, channel = std::move(channel), &installed] {
    shared->channel = channel;
    shared->stub = std::make_unique<grpc::GenericStub>(channel);
    shared->connected.store(true, std::memory_order_relaxed);
    installed.set_value();
  });
  installed.get_future().wait();
}

void HttpAdmin::stop(std::chrono::milliseconds timeout) {
  if (shared_->stopping.exchange(true)) return;
  {
    std::unique_lock lock(shared_->mutex);
    shared_->answered.wait_for(lock, timeout,
                               [this] { return shared_->in_flight.load(std::memory_order_relaxed) == 0; });
  }
  shared_->worker.join();
  // Calls still under way (past the timeout) keep `shared_` alive; their
  // completions post to a worker that no longer runs and are dropped.
  shared_->stub.reset();
  shared_->channel.reset();
}

}  // namespace tg::control
