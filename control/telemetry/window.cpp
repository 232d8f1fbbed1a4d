#include "telemetry/window.hpp"

#include <algorithm>
#include <limits>

namespace tg::control::telemetry {
namespace {

void add32(std::uint32_t& to, std::uint64_t value) {
  const std::uint64_t sum = static_cast<std::uint64_t>(to) + value;
  to = static_cast<std::uint32_t>(std::min<std::uint64_t>(sum, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

void Window::Bucket::add(const RollupCounters& c) {
  for (std::size_t i = 0; i < requests_by_class.size(); ++i) add32(requests_by_class[i], c.requests_by_class[i]);
  add32(gateway_errors, c.gateway_errors);
  add32(retries, c.retries);
  add32(auth_failures, c.auth_failures);
  add32(rate_limited, c.rate_limited);
  add32(held, c.held);
  bytes_in += c.bytes_in;
  bytes_out += c.bytes_out;
  if (c.latency_count == 0) return;
  add32(latency_count, c.latency_count);
  latency_sum_us += c.latency_sum_us;
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) add32(latency_buckets[i], c.latency_buckets[i]);
}

void Window::Bucket::add_to(RollupCounters& out) const {
  for (std::size_t i = 0; i < requests_by_class.size(); ++i) out.requests_by_class[i] += requests_by_class[i];
  out.gateway_errors += gateway_errors;
  out.retries += retries;
  out.auth_failures += auth_failures;
  out.rate_limited += rate_limited;
  out.held += held;
  out.bytes_in += bytes_in;
  out.bytes_out += bytes_out;
  if (latency_count == 0) return;
  out.latency_count += latency_count;
  out.latency_sum_us += latency_sum_us;
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) out.latency_buckets[i] += latency_buckets[i];
}

void Window::add(const SeriesKey& series, std::int64_t time_unix_ms, const RollupCounters& counters,
                 std::int64_t now_unix_ms, std::uint64_t timeouts) {
  const std::int64_t start = bucket_of(time_unix_ms);
  const std::int64_t oldest = bucket_of(now_unix_ms) - kWindowMs + kBucketMs;
  if (start < oldest) return;
  std::deque<Bucket>& buckets = series_[series];
  while (!buckets.empty() && buckets.front().start_unix_ms < oldest) buckets.pop_front();
  // Nearly always the newest bucket or a new one after it; a late batch
  // finds its bucket further back.
  auto it = buckets.end();
  while (it != buckets.begin() && std::prev(it)->start_unix_ms > start) --it;
  if (it == buckets.begin() || std::prev(it)->start_unix_ms != start) {
    Bucket bucket;
    bucket.start_unix_ms = start;
    it = buckets.insert(it, bucket);
  } else {
    --it;
  }
  it->add(counters);
  add32(it->timeouts, timeouts);
}

void Window::reported(const std::string& node_id, std::int64_t time_unix_ms) {
  reporters_[bucket_of(time_unix_ms)].insert(node_id);
}

void Window::prune(std::int64_t now_unix_ms) {
  const std::int64_t oldest = bucket_of(now_unix_ms) - kWindowMs + kBucketMs;
  for (auto it = series_.begin(); it != series_.end();) {
    auto& buckets = it->second;
    while (!buckets.empty() && buckets.front().start_unix_ms < oldest) buckets.pop_front();
    it = buckets.empty() ? series_.erase(it) : std::next(it);
  }
  reporters_.erase(reporters_.begin(), reporters_.lower_bound(oldest));
}

void Window::for_each(const std::function<void(const SeriesKey&, const std::deque<Bucket>&)>& visit) const {
  for (const auto& [key, buckets] : series_) visit(key, buckets);
}

std::size_t Window::proxies_since(std::int64_t since_unix_ms) const {
  std::set<std::string> nodes;
  for (auto it = reporters_.lower_bound(bucket_of(since_unix_ms)); it != reporters_.end(); ++it)
    nodes.insert(it->second.begin(), it->second.end());
  return nodes.size();
}

std::size_t Window::bucket_count() const {
  std::size_t n = 0;
  for (const auto& [key, buckets] : series_) n += buckets.size();
  return n;
}

}  // namespace tg::control::telemetry
