// The ingest endpoints of tg-control's HTTP port (docs/api.md, "Ingest"):
// tenant containers report events, status and heartbeats, register and
// deregister themselves, and send OTLP/HTTP JSON logs.
//
//   POST /v1/ingest/events      one event or {"events": [...]}
//   POST /v1/ingest/status      {instance, cpu, memory_bytes, restarts, load, detail?}
//   POST /v1/ingest/heartbeat   {instance}
//   POST /v1/ingest/register    {service, address, id?, weight?, labels?, ttl_ms?}
//   POST /v1/ingest/deregister  {instance}
//   POST /v1/logs               OTLP logs (JSON)
//
// Per request, in order: the bearer token must be a tenant's `ingest`
// credential (else 401, io thread); the writer's backlog must be under its
// bound and the store writable, heartbeats excepted (else 503 with
// Retry-After); the body (at
// most body_limit, else 413 before it is read) is parsed and validated whole
// on the ingest worker (else 400 naming the field); back on the owner loop
// every service and instance named must be the credential's tenant's (else
// 403 and nothing stored; OTLP: those records rejected in partialSuccess);
// then one CommitBatch goes to the writer and the answer (200) waits for
// its COMMIT: nothing acknowledged is lost. Registry changes (register,
// heartbeat, deregister) are the Admin operations, audited with the actor
// "ingest:TENANT/CREDENTIAL".
//
// Threads: handle() runs on the HTTP server's io thread, tg-control's owner
// loop; parsing runs on one worker thread of this object. The adapter only:
// the bodies, OTLP mapping, group keys and credentials are control/ingest/.
#pragma once

#include "ingest/credentials.hpp"
#include "ingest/ingest_metrics.hpp"
#include "netio/http_server.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace tg::control {
class Core;
struct CommitBatch;
}

namespace tg::control::ingest {

struct IngestOptions {
  std::size_t body_limit = 1024 * 1024;
  // Events and status samples handed to the writer and not yet committed;
  // beyond, requests are answered 503 with Retry-After (load shedding).
  std::size_t max_pending_rows = 50'000;
  // Requests received and not answered yet (parsing or committing); beyond: 503.
  std::size_t max_in_flight = 512;
};

class IngestService {
 public:
  IngestService(Core& core, IngestOptions options = {});
  ~IngestService();  // stop()
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  // Registers the six routes. On the io thread, or before it runs. Also
  // hooks the credential map to the core's commits (call before core.start()).
  void install(net::HttpServer& server);
  // Joins the worker; requests after this are answered 503. Any thread but the io thread.
  void stop();

  std::string render_metrics() const;
  const IngestMetrics& metrics() const { return *metrics_; }

  struct Parsed;  // a request body after the worker (defined in the .cpp)

 private:
  void handle(Endpoint endpoint, net::HttpRequest request, net::HttpRespond respond);
  // Owner loop, after parsing: the tenant checks, the batch, the commit.
  void finish(Endpoint endpoint, const IngestPrincipal& principal, std::shared_ptr<Parsed> parsed,
              net::HttpRespond respond);
  void commit(Endpoint endpoint, CommitBatch batch, std::string answer, net::HttpRespond respond);
  void answer(Endpoint endpoint, net::HttpRespond& respond, net::HttpResponse response);

  Core& core_;
  IngestOptions options_;
  IngestCredentials credentials_;  // owner loop
  std::unique_ptr<IngestMetrics> metrics_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  boost::asio::thread_pool worker_{1};
};

}  // namespace tg::control::ingest
