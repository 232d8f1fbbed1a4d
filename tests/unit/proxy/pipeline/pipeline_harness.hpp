// A worker that is never started and one request context on it, for running
// the pipeline's phases without sockets: the head is parsed into the
// context's client buffer as phase 1 would.
#pragma once

#include "../table/config_builders.hpp"
#include "http/message_head.hpp"
#include "pipeline/exchange.hpp"
#include "pipeline/phases.hpp"
#include "table/snapshot.hpp"
#include "runtime/worker.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>

namespace tg::proxy::test {

inline std::shared_ptr<const Snapshot> snapshot_of(const config::Config& config, std::uint64_t version = 1) {
  std::string error;
  auto s = Snapshot::build(config, version, "", error);
  INFO(error);
  REQUIRE(s != nullptr);
  return s;
}

inline void ignore_accept(Worker&, Socket, const tcp::endpoint&) {}

class PipelineHarness {
 public:
  explicit PipelineHarness(const config::Config& config, ProxySettings settings = {})
      : settings_(std::move(settings)), worker_(0, settings_, nullptr, &ignore_accept) {
    worker_.install(snapshot_of(config));
    ctx_ = RequestContext::acquire(worker_);
  }
  ~PipelineHarness() { RequestContext::release(worker_, ctx_); }
  PipelineHarness(const PipelineHarness&) = delete;
  PipelineHarness& operator=(const PipelineHarness&) = delete;

  // Phase 1: `text` parsed into the client buffer; the exchange starts on
  // the worker's table.
  void head(const std::string& text) {
    RequestContext& c = *ctx_;
    REQUIRE(text.size() <= c.client.capacity);
    std::memcpy(c.client.data.get(), text.data(), text.size());
    c.client.begin = 0;
    c.client.end = text.size();
    c.scanned = 0;
    const auto status = http::parse_request(c.client.data.get(), text.size(), c.scanned, settings_.limits,
                                            c.request_fields, c.request);
    REQUIRE(status == http::ParseStatus::complete);
    Exchange& ex = c.exchange;
    ex.table = worker_.table();
    ex.head_offset = 0;
    c.client.begin = c.request.head_length;
  }

  PhaseInput input(bool draining = false) { return PhaseInput{*ctx_, ctx_->exchange, worker_, peer_, draining, worker_.admission_gates()}; }
  Exchange& exchange() { return ctx_->exchange; }
  RequestContext& context() { return *ctx_; }
  Worker& worker() { return worker_; }

 private:
  ProxySettings settings_;
  Worker worker_;
  RequestContext* ctx_ = nullptr;
  balancing::IpAddress peer_{{127, 0, 0, 1}, false};
};

}  // namespace tg::proxy::test
