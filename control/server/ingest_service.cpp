#include "server/ingest_service.hpp"

#include "ingest/fingerprint.hpp"
#include "ingest/otlp_logs.hpp"
#include "ingest/reports.hpp"
#include "server/core.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <variant>

namespace tg::control::ingest {

namespace asio = boost::asio;

// What the worker made of a body: one of the reports, or the 400 to answer.
struct IngestService::Parsed {
  std::variant<std::monostate, std::vector<EventReport>, StatusReport, RegisterReport, InstanceReport, OtlpLogs>
      report;
  std::optional<FieldError> error;
};

namespace {

constexpr const char* json_type = "application/json";

net::HttpResponse error_response(unsigned status, std::string_view error, std::string_view message,
                                 std::string_view field = {}) {
  std::string body = "{\"error\":" + json_quote(error);
  if (!field.empty()) body += ",\"field\":" + json_quote(field);
  body += ",\"message\":" + json_quote(message) + "}\n";
  net::HttpResponse response{status, json_type, std::move(body)};
  if (status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tenantgate\"");
  if (status == 503 || status == 429) response.headers.emplace_back("Retry-After", "1");
  return response;
}

// A registry refusal as an HTTP answer ("field: problem" for invalid ones).
net::HttpResponse status_response(const Status& status) {
  switch (status.code) {
    case Code::invalid_argument: {
      const auto colon = status.message.find(": ");
      return error_response(400, "invalid_argument", status.message,
                            colon == std::string::npos ? std::string_view{} : std::string_view(status.message).substr(0, colon));
    }
    case Code::not_found: return error_response(404, "not_found", status.message);
    case Code::already_exists: return error_response(409, "already_exists", status.message);
    case Code::failed_precondition: return error_response(409, "failed_precondition", status.message);
    case Code::permission_denied: return error_response(403, "permission_denied", status.message);
    case Code::unavailable: return error_response(503, "unavailable", status.message);
    case Code::resource_exhausted: return error_response(429, "overloaded", status.message);
    default: return error_response(500, "internal", status.message);
  }
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

net::HttpResponse forbidden(const std::string& message) { return error_response(403, "permission_denied", message); }

// The tenant of a service, or null when the service does not exist.
const std::string* tenant_of_service(const Registry& registry, const std::string& service) {
  auto it = registry.services().find(service);
  return it == registry.services().end() ? nullptr : &it->second.tenant();
}

// The instance when it exists and belongs to a service of `tenant`.
const v1::Instance* tenant_instance(const Registry& registry, const std::string& tenant, const std::string& id) {
  auto it = registry.instances().find(id);
  if (it == registry.instances().end()) return nullptr;
  const std::string* owner = tenant_of_service(registry, it->second.service());
  return owner && *owner == tenant ? &it->second : nullptr;
}

// Why `event` may not be reported by `tenant`; empty when it may.
std::string event_refusal(const Registry& registry, const std::string& tenant, const EventReport& event) {
  const std::string* owner = tenant_of_service(registry, event.service);
  if (owner == nullptr || *owner != tenant)
    return "service " + quoted(event.service) + " is not a service of tenant " + quoted(tenant);
  // An instance label need not be registered (a pod name); a registered one must be this tenant's.
  if (!event.instance.empty() && registry.instances().contains(event.instance) &&
      tenant_instance(registry, tenant, event.instance) == nullptr)
    return "instance " + quoted(event.instance) + " is not an instance of tenant " + quoted(tenant);
  return {};
}

EventRecord record_of(EventReport&& e, const std::string& tenant, const char* source, std::int64_t now) {
  EventRecord record;
  record.time_unix_ms = e.time_unix_ms.value_or(now);
  record.source = source;
  record.kind = std::move(e.kind);
  record.level = std::move(e.level);
  record.tenant = tenant;
  record.service = std::move(e.service);
  record.instance = std::move(e.instance);
  record.fingerprint = std::move(e.fingerprint);  // the worker filled it in when absent
  record.message = std::move(e.message);
  record.detail_json = std::move(e.detail_json);
  return record;
}

std::string_view health_name(v1::Health health) {
  return health == v1::HEALTH_HEALTHY ? "healthy" : health == v1::HEALTH_UNHEALTHY ? "unhealthy" : "unknown";
}

}  // namespace

IngestService::IngestService(Core& core, IngestOptions options)
    : core_(core), options_(options), metrics_(std::make_unique<IngestMetrics>()) {}

IngestService::~IngestService() { stop(); }

void IngestService::stop() {
  if (stopping_.exchange(true)) return;
  worker_.join();
}

std::string IngestService::render_metrics() const { return metrics_->render(options_.max_pending_rows); }

void IngestService::install(net::HttpServer& server) {
  credentials_.rebuild(core_.registry());
  // A commit that touches a tenant may add or revoke a credential: the map
  // follows before the next request is handled (same thread).
  core_.add_observer([this](const CommitBatch& batch) {
    for (const Mutation& m : batch.mutations)
      if (m.kind == ObjectKind::tenant) {
        credentials_.rebuild(core_.registry());
        return;
      }
  });
  core_.add_reload_observer([this] { credentials_.rebuild(core_.registry()); });
  const std::pair<const char*, Endpoint> paths[] = {
      {"/v1/ingest/events", Endpoint::events},          {"/v1/ingest/status", Endpoint::status},
      {"/v1/ingest/heartbeat", Endpoint::heartbeat},    {"/v1/ingest/register", Endpoint::register_instance},
      {"/v1/ingest/deregister", Endpoint::deregister}, {"/v1/logs", Endpoint::logs}};
  for (const auto& [path, endpoint] : paths) {
    net::HttpRoute route;
    route.path = path;
    route.methods = {"POST"};
    route.body_limit = options_.body_limit;
    route.method_not_allowed = error_response(405, "method_not_allowed", "use POST with a JSON body");
    route.body_too_large = error_response(
        413, "too_large", "the body is larger than " + std::to_string(options_.body_limit) + " bytes; send smaller batches");
    route.on_body_too_large = [this, endpoint = endpoint](const std::string&) {
      metrics_->record(endpoint, Result::too_large);
    };
    server.handle(std::move(route), [this, endpoint = endpoint](net::HttpRequest request, net::HttpRespond respond) {
      handle(endpoint, std::move(request), std::move(respond));
    });
  }
}

void IngestService::answer(Endpoint endpoint, net::HttpRespond& respond, net::HttpResponse response) {
  metrics_->record(endpoint, result_of_status(response.status));
  respond(std::move(response));
}

void IngestService::handle(Endpoint endpoint, net::HttpRequest request, net::HttpRespond respond) {
  const auto principal = credentials_.authenticate(request.header("Authorization"));
  if (!principal) {
    answer(endpoint, respond,
           error_response(401, "unauthenticated",
                          request.header("Authorization") ? "unknown or revoked token: send Authorization: Bearer "
                                                            "<secret of an ingest credential of your tenant>"
                                                          : "missing Authorization: Bearer <secret of an ingest "
                                                            "credential of your tenant>"));
    return;
  }
  if (stopping_.load(std::memory_order_relaxed)) {
    answer(endpoint, respond, error_response(503, "unavailable", "tg-control is stopping; retry"));
    return;
  }
  // Read-only mode (a full database): refused before parsing. Heartbeats go
  // on, as Admin's do: a plain one stores nothing.
  if (Status refused = core_.write_refusal(); !refused.ok() && endpoint != Endpoint::heartbeat) {
    answer(endpoint, respond, error_response(503, "unavailable", refused.message));
    return;
  }
  if (metrics_->pending_rows.load(std::memory_order_relaxed) >= options_.max_pending_rows ||
      in_flight_.load(std::memory_order_relaxed) >= options_.max_in_flight) {
    answer(endpoint, respond,
           error_response(503, "overloaded", "tg-control's writer is behind; retry after the Retry-After delay"));
    return;
  }
  if (endpoint == Endpoint::logs) {
    const auto type = request.header("Content-Type");
    if (type && type->find("json") == std::string_view::npos) {
      answer(endpoint, respond,
             error_response(415, "unsupported_media_type",
                            "only OTLP/HTTP JSON is taken here (Content-Type: application/json), not protobuf"));
      return;
    }
  }
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  asio::post(worker_, [this, endpoint, principal = *principal, body = std::move(request.body),
                       respond = std::move(respond)]() mutable {
    auto parsed = std::make_shared<Parsed>();
    auto take = [&parsed](auto&& result) {
      if (auto* error = std::get_if<FieldError>(&result)) parsed->error = std::move(*error);
      else std::visit([&](auto&& value) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(value)>, FieldError>) parsed->report = std::move(value);
      }, std::move(result));
    };
    switch (endpoint) {
      case Endpoint::events: take(parse_events(body)); break;
      case Endpoint::status: take(parse_status(body)); break;
      case Endpoint::register_instance: take(parse_register(body)); break;
      case Endpoint::heartbeat:
      case Endpoint::deregister: take(parse_instance(body)); break;
      case Endpoint::logs: take(parse_otlp_logs(body)); break;
    }
    // The group key of events without one: the costly part, here rather than on the owner loop.
    auto fill = [](std::vector<EventReport>& events) {
      for (EventReport& e : events)
        if (e.fingerprint.empty()) e.fingerprint = normalise_message(e.message);
    };
    if (auto* events = std::get_if<std::vector<EventReport>>(&parsed->report)) fill(*events);
    if (auto* logs = std::get_if<OtlpLogs>(&parsed->report)) fill(logs->events);
    asio::post(core_.io(), [this, endpoint, principal = std::move(principal), parsed,
                            respond = std::move(respond)]() mutable {
      finish(endpoint, principal, parsed, std::move(respond));
    });
  });
}

void IngestService::finish(Endpoint endpoint, const IngestPrincipal& principal, std::shared_ptr<Parsed> parsed,
                           net::HttpRespond respond) {
  auto done = [&](net::HttpResponse response) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    answer(endpoint, respond, std::move(response));
  };
  if (parsed->error) {
    done(error_response(400, "invalid_argument", parsed->error->field + ": " + parsed->error->message,
                        parsed->error->field));
    return;
  }
  const Registry& registry = core_.registry();
  const std::string& tenant = principal.tenant;
  const std::int64_t now = registry.clock().unix_ms();
  CommitBatch batch;
  std::string reply;
  switch (endpoint) {
    case Endpoint::events: {
      auto& events = std::get<std::vector<EventReport>>(parsed->report);
      for (const EventReport& e : events)
        if (std::string why = event_refusal(registry, tenant, e); !why.empty()) {
          done(forbidden(why + "; nothing of this request was stored"));
          return;
        }
      for (EventReport& e : events) batch.events.push_back(record_of(std::move(e), tenant, "ingest", now));
      reply = "{\"accepted\":" + std::to_string(batch.events.size()) + "}\n";
      break;
    }
    case Endpoint::logs: {
      auto& logs = std::get<OtlpLogs>(parsed->report);
      std::size_t rejected = logs.rejected;
      std::string message = logs.rejected_message;
      for (EventReport& e : logs.events) {
        if (std::string why = event_refusal(registry, tenant, e); !why.empty()) {
          ++rejected;
          message = why;
          continue;
        }
        batch.events.push_back(record_of(std::move(e), tenant, "otlp", now));
      }
      metrics_->otlp_below_level.fetch_add(logs.below_level, std::memory_order_relaxed);
      metrics_->otlp_rejected.fetch_add(rejected, std::memory_order_relaxed);
      reply = rejected == 0 ? std::string("{}\n")
                            : "{\"partialSuccess\":{\"rejectedLogRecords\":" + std::to_string(rejected) +
                                  ",\"errorMessage\":" + json_quote(message) + "}}\n";
      break;
    }
    case Endpoint::status: {
      auto& report = std::get<StatusReport>(parsed->report);
      const v1::Instance* instance = tenant_instance(registry, tenant, report.instance);
      if (instance == nullptr) {
        done(forbidden("instance " + quoted(report.instance) + " is not a registered instance of tenant " +
                       quoted(tenant) + " (register it first: POST /v1/ingest/register)"));
        return;
      }
      StatusSample sample;
      sample.time_unix_ms = now;
      sample.tenant = tenant;
      sample.service = instance->service();
      sample.instance = report.instance;
      sample.cpu = report.cpu;
      sample.memory_bytes = report.memory_bytes;
      sample.restarts = report.restarts;
      sample.load = report.load;
      sample.detail_json = std::move(report.detail_json);
      batch.status_samples.push_back(std::move(sample));
      reply = "{\"accepted\":1}\n";
      break;
    }
    case Endpoint::heartbeat: {
      auto& report = std::get<InstanceReport>(parsed->report);
      if (tenant_instance(registry, tenant, report.instance) == nullptr) {
        done(forbidden("instance " + quoted(report.instance) + " is not a registered instance of tenant " +
                       quoted(tenant)));
        return;
      }
      v1::HeartbeatRequest request;
      request.set_id(report.instance);
      v1::HeartbeatResponse response;
      if (Status status = core_.registry().heartbeat(request, WriteContext{principal.actor(), "Heartbeat"},
                                                     &response, &batch);
          !status.ok()) {
        done(status_response(status));
        return;
      }
      reply = "{\"instance\":" + json_quote(report.instance) + ",\"health\":\"" +
              std::string(health_name(response.health())) +
              "\",\"heartbeat_ttl_ms\":" + std::to_string(response.heartbeat_ttl_ms()) + "}\n";
      break;
    }
    case Endpoint::register_instance: {
      auto& report = std::get<RegisterReport>(parsed->report);
      const std::string* owner = tenant_of_service(registry, report.service);
      if (owner == nullptr || *owner != tenant) {
        done(forbidden("service " + quoted(report.service) + " is not a service of tenant " + quoted(tenant)));
        return;
      }
      const std::string id = report.id.empty() ? report.service + "/" + report.address : report.id;
      if (registry.instances().contains(id) && tenant_instance(registry, tenant, id) == nullptr) {
        done(forbidden("instance " + quoted(id) + " belongs to another tenant"));
        return;
      }
      v1::RegisterInstanceRequest request;
      v1::Instance* instance = request.mutable_instance();
      instance->set_id(report.id);
      instance->set_service(report.service);
      instance->set_address(report.address);
      instance->set_weight(report.weight);
      for (auto& [key, value] : report.labels) (*instance->mutable_labels())[key] = value;
      request.set_heartbeat_ttl_ms(report.ttl_ms);
      request.set_replace(true);
      v1::Instance registered;
      if (Status status = core_.registry().register_instance(
              request, WriteContext{principal.actor(), "RegisterInstance"}, &registered, &batch);
          !status.ok()) {
        done(status_response(status));
        return;
      }
      reply = "{\"instance\":" + json_quote(registered.id()) + ",\"health\":\"" +
              std::string(health_name(registered.health())) +
              "\",\"heartbeat_ttl_ms\":" + std::to_string(registered.heartbeat_ttl_ms()) + "}\n";
      break;
    }
    case Endpoint::deregister: {
      auto& report = std::get<InstanceReport>(parsed->report);
      if (tenant_instance(registry, tenant, report.instance) == nullptr) {
        done(forbidden("instance " + quoted(report.instance) + " is not a registered instance of tenant " +
                       quoted(tenant)));
        return;
      }
      v1::DeregisterInstanceRequest request;
      request.set_id(report.instance);
      v1::DeleteResponse response;
      if (Status status = core_.registry().deregister_instance(
              request, WriteContext{principal.actor(), "DeregisterInstance"}, &response, &batch);
          !status.ok()) {
        done(status_response(status));
        return;
      }
      reply = "{\"instance\":" + json_quote(report.instance) + ",\"deregistered\":true}\n";
      break;
    }
  }
  commit(endpoint, std::move(batch), std::move(reply), std::move(respond));
}

void IngestService::commit(Endpoint endpoint, CommitBatch batch, std::string reply, net::HttpRespond respond) {
  const std::size_t events = batch.events.size(), samples = batch.status_samples.size();
  metrics_->pending_rows.fetch_add(events + samples, std::memory_order_relaxed);
  core_.commit(std::move(batch), [this, endpoint, events, samples, reply = std::move(reply),
                                  respond = std::move(respond)](const Status& status) mutable {
    metrics_->pending_rows.fetch_sub(events + samples, std::memory_order_relaxed);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (!status.ok()) {
      spdlog::warn("tg-control: ingest {}: not stored: {}", endpoint_name(endpoint), status.message);
      answer(endpoint, respond, status_response(status));
      return;
    }
    metrics_->events.fetch_add(events, std::memory_order_relaxed);
    metrics_->status_samples.fetch_add(samples, std::memory_order_relaxed);
    answer(endpoint, respond, net::HttpResponse{200, json_type, std::move(reply)});
  });
}

}  // namespace tg::control::ingest
