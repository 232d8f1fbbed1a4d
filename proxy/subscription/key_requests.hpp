// KeyRequest{tenant, kid} on the table stream (proto/tenantgate/v1/discovery.proto):
// a token named a key id its tenant's key set lacks, so tg-control may fetch
// the tenant's jwks_url again and push the new keys.
//
// Workers report unknown kids through the server at any time; this sends at
// most one request per tenant every kInterval, from a thread of its own
// (the stream's thread is blocked reading updates), on the stream attached
// now, and drops requests made while no stream is up (the next unknown kid
// after the interval asks again). Writes share `write_mutex` with the
// stream's own writes (one Write at a time on a gRPC stream).
#pragma once

#include "tenantgate/v1/discovery.grpc.pb.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace tg::proxy::subscription {

using TableStream = grpc::ClientReaderWriter<tenantgate::v1::StreamTableRequest, tenantgate::v1::StreamTableResponse>;

class KeyRequests {
 public:
  static constexpr std::chrono::seconds kInterval{30};
  static constexpr std::size_t kMaxQueued = 64;

  explicit KeyRequests(std::mutex& write_mutex);
  ~KeyRequests();  // stops and joins
  KeyRequests(const KeyRequests&) = delete;
  KeyRequests& operator=(const KeyRequests&) = delete;

  // Any thread, returns at once.
  void submit(const std::string& tenant, const std::string& kid);
  // The stream's thread: the stream requests go out on (null: none). Detaching
  // waits for a write under way (hold no write_mutex when calling).
  void attach(TableStream* stream);

  std::uint64_t sent() const;

 private:
  void run();

  std::mutex& write_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_;
  TableStream* stream_ = nullptr;  // under write_mutex_ (and mutex_ to set)
  std::uint64_t sent_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tg::proxy::subscription
