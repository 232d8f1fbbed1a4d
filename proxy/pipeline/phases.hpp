// The phases of a request that are functions of the request alone (2-5 and
// 7; docs/life-of-a-request.md), and the driver that runs them in order.
//
// Each phase reads and writes the request's Exchange and returns a Step:
// proceed, respond(status, error) or suspend. None does I/O or reaches into
// the connection: the connection (proxy/connection/downstream.hpp) does the
// I/O of phases 1, 6 and 8 and acts on the step the driver returns. A new
// feature is a step inside a phase (an AdmissionGate, a pick rule), not a
// flag threaded through the connection.
#pragma once

#include "balancing/ip_address.hpp"
#include "pipeline/exchange.hpp"
#include "pipeline/step.hpp"

#include <vector>

namespace tg::proxy {

class AdmissionGate;
class Worker;
struct ServiceDef;

// What the phases see: the request and the worker it runs on.
struct PhaseInput {
  RequestContext& ctx;
  Exchange& ex;
  Worker& worker;
  const balancing::IpAddress& peer;
  bool draining;  // the connection or worker is draining: no keep-alive
  const std::vector<AdmissionGate*>& gates;  // phase 4's steps (Worker::admission_gates())

  // The matched route's service (after phase 3).
  const ServiceDef& service() const { return *ex.service_def; }
};

// 2. Request id, client address, path normalisation (400 on a bad path),
// body framing, keep-alive and upgrade.
Step normalise(PhaseInput& in);
// The client address as text in the context (once per context).
void format_client_ip(RequestContext& c, const balancing::IpAddress& peer);
// For the access log of a head refused by phase 1 (400/431): the client
// address, and the method, Host and path as far as they were parsed from
// base[0, size).
void describe_refused_head(PhaseInput& in, const char* base, std::size_t size);
// 3. Route by host, path, method and headers (404; 503 route_removed when a
// resumed request's route went away); the service's body limit (413).
Step match_route(PhaseInput& in);
// 4. Admission: each of the worker's AdmissionGates in turn (none by default:
// then a test, not a call).
Step admit_gates(PhaseInput& in);
inline Step admit(PhaseInput& in) { return in.gates.empty() ? Step::proceed() : admit_gates(in); }
// 5. Pick an instance (503 no_instance; 502/504 when retries ran out) and
// reserve its connection: a pooled one, or a slot under the per-worker
// connection limit (503 overflow).
Step pick_instance(PhaseInput& in);
// 7. Counters, latency histogram and the access-log line.
void record(PhaseInput& in, std::uint16_t client_port);

// Runs phases `first`..`last` (both among normalise, match_route, admit,
// pick_instance) in order. Returns the step that stopped the run and the
// phase that returned it; {proceed, last} when every phase passed.
// Inline and straight-line: with the constant bounds of its call sites the
// driver costs a test per phase (docs/performance.md).
struct PhaseOutcome {
  Step step;
  PhaseId phase;
};
inline PhaseOutcome run_phases(PhaseInput& in, PhaseId first, PhaseId last);

// A step of phase 4 (authentication, rate limits, concurrency limits): one
// per worker, run in the order registered (Worker::admission_gates()).
class AdmissionGate {
 public:
  virtual ~AdmissionGate() = default;
  // proceed, respond (401/403/429...), or suspend after arming in.ex.waiter
  // on one of the gate's WaitLists.
  virtual Step admit(PhaseInput& in) = 0;
};

inline PhaseOutcome run_phases(PhaseInput& in, PhaseId first, PhaseId last) {
  const auto runs = [&](PhaseId phase) { return first <= phase && phase <= last; };
  if (runs(PhaseId::normalise)) {
    const Step step = normalise(in);
    if (step.kind != Step::Kind::proceed) return {step, PhaseId::normalise};
  }
  if (runs(PhaseId::match_route)) {
    const Step step = match_route(in);
    if (step.kind != Step::Kind::proceed) return {step, PhaseId::match_route};
  }
  if (runs(PhaseId::admit)) {
    const Step step = admit(in);
    if (step.kind != Step::Kind::proceed) return {step, PhaseId::admit};
  }
  // receive_body is I/O: the connection's, between admit and pick_instance.
  if (runs(PhaseId::pick_instance)) {
    const Step step = pick_instance(in);
    if (step.kind != Step::Kind::proceed) return {step, PhaseId::pick_instance};
  }
  return {Step::proceed(), last};
}

}  // namespace tg::proxy
