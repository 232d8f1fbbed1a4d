// tg-proxy --control: the proxy side of Discovery.StreamTable
// (proto/tenantgate/v1/discovery.proto, docs/architecture.md, The balancer-table stream).
//
// One thread of its own runs a synchronous bidi stream: hello, then for each
// update read → build the Snapshot (here, off the workers) → switch every
// worker → ACK, or NACK with the reason and keep serving the previous table.
// The control plane sends one update at a time and waits for the answer, so
// one thread doing all of it is enough. On stream end it reconnects with
// jittered exponential backoff; stop() cancels the stream and every wait.
//
// With a state dir, each applied version is saved (state_store.hpp) by a
// writer thread of its own that gets only what changed (state_writer.hpp),
// and served at the next start before the stream is up.
//
// Workers that do not all switch within switch_timeout: the version is NACKed
// as retryable (not refused); its snapshot stays posted, and when tg-control
// sends the same version again the client only waits for that switch.
#pragma once

#include "subscription/backoff.hpp"
#include "table/table_feed.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace tg::proxy::subscription {

struct ControlOptions {
  std::string address;    // tg-control's gRPC address, HOST:PORT
  std::string node_id;    // [A-Za-z0-9_.:-]{1,128}
  std::string token;      // sent as "authorization: Bearer <token>"; empty: none
  std::string state_dir;  // empty: nothing saved or loaded
  std::chrono::milliseconds switch_timeout{10000};  // all workers must switch within
  BackoffPolicy backoff;
};

// 16 hex digits from std::random_device: the hello's boot id.
std::string random_boot_id();

class ControlClient final : public TableFeed {
 public:
  explicit ControlClient(ControlOptions options);
  ~ControlClient() override;  // stops and joins
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  std::shared_ptr<const Snapshot> saved_table(std::uint64_t version) override;
  void start(std::shared_ptr<const Snapshot> serving, std::string listen, InstallFn install) override;
  void stop() override;
  void join() override;
  FeedStatus status() const override;
  void request_key(const std::string& tenant, const std::string& kid) override;
  std::string name() const override;

  const std::string& boot_id() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace tg::proxy::subscription
