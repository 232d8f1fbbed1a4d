#include "server/alert_ack_http.hpp"

#include "registry/json.hpp"
#include "server/http_admin.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <memory>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;

// Who acknowledges through a signed ackURL (the token names the alert, not a person).
constexpr const char* ack_url_actor = "ack-url";
constexpr std::size_t max_comment_bytes = 4096;

const char* result_name(AlertAckHttp::Result result) {
  switch (result) {
    case AlertAckHttp::Result::acked: return "acked";
    case AlertAckHttp::Result::bad_request: return "bad_request";
    case AlertAckHttp::Result::unauthenticated: return "unauthenticated";
    case AlertAckHttp::Result::forbidden: return "forbidden";
    case AlertAckHttp::Result::not_found: return "not_found";
    case AlertAckHttp::Result::not_firing: return "not_firing";
    case AlertAckHttp::Result::failed: return "failed";
    case AlertAckHttp::Result::count_: break;
  }
  return "?";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string alert_json(const v1::Alert& alert) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string body;
  if (!google::protobuf::util::MessageToJsonString(alert, &body, options).ok()) body = "{}";
  body += '\n';
  return body;
}

// The optional body: empty, or a JSON object with at most a string "comment".
std::optional<std::string> parse_comment(const std::string& body, std::string& error) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return std::string();
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) {
    error = "body: expected a JSON object {\"comment\": \"...\"} or nothing";
    return std::nullopt;
  }
  std::string comment;
  for (const auto& [key, field] : value.as_object()) {
    if (key != "comment") {
      error = "body: unknown field \"" + std::string(key) + "\" (only \"comment\")";
      return std::nullopt;
    }
    if (!field.is_string()) {
      error = "comment: must be a string";
      return std::nullopt;
    }
    comment = std::string(field.as_string());
  }
  if (comment.size() > max_comment_bytes) {
    error = "comment: at most " + std::to_string(max_comment_bytes) + " bytes";
    return std::nullopt;
  }
  return comment;
}

}  // namespace

std::optional<std::uint64_t> alert_ack_id(std::string_view path) {
  if (!path.starts_with(alert_ack_prefix)) return std::nullopt;
  std::string_view rest = path.substr(alert_ack_prefix.size());
  constexpr std::string_view suffix = "/ack";
  if (!rest.ends_with(suffix)) return std::nullopt;
  rest.remove_suffix(suffix.size());
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  if (ec != std::errc() || end != rest.data() + rest.size() || rest.empty() || id == 0) return std::nullopt;
  return id;
}

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return std::nullopt;
}

net::HttpRoute AlertAckHttp::route() const {
  net::HttpRoute route;
  route.path = std::string(alert_ack_prefix);
  route.prefix = true;
  route.methods = {"POST"};
  route.body_limit = 16 * 1024;
  route.method_not_allowed = http_admin_error(405, grpc::StatusCode::UNIMPLEMENTED,
                                              "use POST /v1/alerts/<id>/ack (optional body {\"comment\": \"...\"})");
  route.body_too_large =
      http_admin_error(413, grpc::StatusCode::RESOURCE_EXHAUSTED, "the body is larger than 16384 bytes");
  return route;
}

void AlertAckHttp::answer(Result result, net::HttpRespond& respond, net::HttpResponse response) {
  counts_[static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
  respond(std::move(response));
}

void AlertAckHttp::handle(net::HttpRequest request, net::HttpRespond respond) {
  const std::optional<std::uint64_t> id = alert_ack_id(request.path);
  if (!id) {
    answer(Result::not_found, respond,
           http_admin_error(grpc::StatusCode::NOT_FOUND,
                            "no such path: acknowledge with POST /v1/alerts/<id>/ack (id a positive number)"));
    return;
  }

  // Who: an admin bearer token, or the alert's signed token.
  std::string actor;
  const std::optional<std::string> signed_token = query_parameter(request.target, "token");
  const std::optional<std::string_view> authorization = request.header("Authorization");
  if (signed_token && !authorization) {
    if (!alerts_.ack_token_valid(*id, *signed_token)) {
      answer(Result::forbidden, respond,
             http_admin_error(grpc::StatusCode::PERMISSION_DENIED,
                              "token: not the signed token of alert " + std::to_string(*id)));
      return;
    }
    actor = ack_url_actor;
  } else {
    const std::optional<Principal> principal = tokens_.authenticate(authorization);
    if (!principal) {
      answer(Result::unauthenticated, respond,
             http_admin_error(grpc::StatusCode::UNAUTHENTICATED,
                              "send Authorization: Bearer <admin token>, or use the ackURL of a notification "
                              "(?token=...)"));
      return;
    }
    if (Status allowed = authorize(*principal, Access::write, "AckAlert"); !allowed.ok()) {
      answer(Result::forbidden, respond, http_admin_error(grpc::StatusCode::PERMISSION_DENIED, allowed.message));
      return;
    }
    actor = principal->actor;
  }

  std::string error;
  const std::optional<std::string> comment = parse_comment(request.body, error);
  if (!comment) {
    answer(Result::bad_request, respond, http_admin_error(grpc::StatusCode::INVALID_ARGUMENT, error));
    return;
  }

  const v1::Alert* open = alerts_.find_open(*id);
  if (open == nullptr) {
    // Resolved (409) or never was (404): the store tells, on the writer thread.
    auto shared_respond = std::make_shared<net::HttpRespond>(std::move(respond));
    const std::uint64_t alert_id = *id;
    core_.read_store([this, alert_id, shared_respond](Store& store) {
      bool stored = false;
      bool failed = false;
      try {
        stored = store.get_alert(alert_id).has_value();
      } catch (const std::exception&) {
        failed = true;
      }
      boost::asio::post(core_.io(), [this, alert_id, shared_respond, stored, failed] {
        if (failed) {
          answer(Result::failed, *shared_respond,
                 http_admin_error(grpc::StatusCode::INTERNAL, "reading alert " + std::to_string(alert_id) + " failed"));
        } else if (stored) {
          answer(Result::not_firing, *shared_respond,
                 http_admin_error(409, grpc::StatusCode::FAILED_PRECONDITION,
                                  "alert " + std::to_string(alert_id) + " is resolved"));
        } else {
          answer(Result::not_found, *shared_respond,
                 http_admin_error(grpc::StatusCode::NOT_FOUND, "alert " + std::to_string(alert_id) + " not found"));
        }
      });
    });
    return;
  }
  if (open->state() != v1::Alert::STATE_FIRING) {
    answer(Result::not_firing, respond,
           http_admin_error(409, grpc::StatusCode::FAILED_PRECONDITION,
                            "alert " + std::to_string(*id) + " is pending, not firing: only a firing alert is "
                                                              "acknowledged"));
    return;
  }
  if (Status refused = core_.write_refusal(); !refused.ok()) {
    answer(Result::failed, respond, http_admin_error(grpc::StatusCode::UNAVAILABLE, refused.message));
    return;
  }

  v1::Alert before = *open;
  before.clear_transitions();
  before.clear_deliveries();
  const WriteContext who{actor, "AckAlert"};
  CommitBatch batch;
  auto acked = std::make_shared<v1::Alert>();
  Status status;
  try {
    status = alerts_.ack(*id, *comment, who, batch.alerts, acked.get());
  } catch (const std::exception& e) {
    status = Status::internal(e.what());
  }
  if (!status.ok()) {
    const Result result = status.code == Code::failed_precondition ? Result::not_firing
                          : status.code == Code::not_found          ? Result::not_found
                                                                    : Result::failed;
    const unsigned http = status.code == Code::failed_precondition
                              ? 409
                              : http_status_for(static_cast<grpc::StatusCode>(status.code));
    answer(result, respond, http_admin_error(http, static_cast<grpc::StatusCode>(status.code), status.message));
    return;
  }
  v1::Alert after = *acked;
  after.clear_transitions();
  after.clear_deliveries();
  batch.audit.push_back(AuditRecord{core_.registry().clock().unix_ms(), actor, "AckAlert", "alert",
                                    std::to_string(*id), to_json(before), to_json(after)});
  auto shared_respond = std::make_shared<net::HttpRespond>(std::move(respond));
  core_.commit(std::move(batch), [this, shared_respond, acked](const Status& committed) {
    if (!committed.ok()) {
      answer(Result::failed, *shared_respond,
             http_admin_error(static_cast<grpc::StatusCode>(committed.code), committed.message));
      return;
    }
    answer(Result::acked, *shared_respond, net::HttpResponse(200, "application/json", alert_json(*acked)));
  });
}

std::string AlertAckHttp::render_metrics() const {
  std::string out =
      "# HELP tg_control_alert_ack_requests_total POST /v1/alerts/<id>/ack requests by result.\n"
      "# TYPE tg_control_alert_ack_requests_total counter\n";
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    out += "tg_control_alert_ack_requests_total{result=\"";
    out += result_name(static_cast<Result>(i));
    out += "\"} " + std::to_string(counts_[i].load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

}  // namespace tg::control
