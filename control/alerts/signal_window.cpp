// SignalWindow (alerts/eval.hpp): event and restart counts in 10 s buckets
// for the last hour, what event_count and restarts read.
#include "alerts/eval.hpp"

#include "telemetry/window.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <tuple>

namespace tg::control::alerts {
namespace {

using telemetry::bucket_of;
using telemetry::kBucketMs;
using telemetry::kWindowMs;

// debug < info < warning < error < critical; an unknown level ranks below
// debug, so only a rule without `level` counts it.
int level_rank(const std::string& level) {
  static constexpr std::array<std::string_view, 5> levels = {"debug", "info", "warning", "error", "critical"};
  for (std::size_t i = 0; i < levels.size(); ++i)
    if (levels[i] == level) return static_cast<int>(i);
  return -1;
}

std::uint64_t sum_buckets(const std::map<std::int64_t, std::uint64_t>& buckets, std::int64_t since,
                          std::int64_t until) {
  std::uint64_t n = 0;
  for (auto it = buckets.lower_bound(bucket_of(since)); it != buckets.end() && it->first < until; ++it) n += it->second;
  return n;
}

using Visit = std::function<void(const std::string&, const std::string&, const std::string&, std::uint64_t)>;

}  // namespace

void SignalWindow::add_event(const std::string& tenant, const std::string& service, const std::string& instance,
                             const std::string& kind, const std::string& level, std::int64_t time_unix_ms,
                             std::uint64_t count) {
  if (count == 0) return;
  events_[Key{tenant, service, instance, kind, level}][bucket_of(time_unix_ms)] += count;
}

void SignalWindow::add_restarts(const std::string& tenant, const std::string& service, const std::string& instance,
                                std::int64_t restarts_total, std::int64_t time_unix_ms) {
  Key key{tenant, service, instance, {}, {}};
  auto [it, first] = last_restarts_total_.try_emplace(key, restarts_total);
  // The first report of an instance is the baseline; a counter that went
  // down (a new container) is a new baseline: neither is a restart we saw.
  if (first) return;
  if (restarts_total > it->second)
    restarts_[key][bucket_of(time_unix_ms)] += static_cast<std::uint64_t>(restarts_total - it->second);
  it->second = restarts_total;
}

void SignalWindow::prune(std::int64_t now_unix_ms) {
  const std::int64_t oldest = bucket_of(now_unix_ms) - kWindowMs + kBucketMs;
  for (auto* counts : {&events_, &restarts_}) {
    for (auto it = counts->begin(); it != counts->end();) {
      auto& buckets = it->second;
      buckets.erase(buckets.begin(), buckets.lower_bound(oldest));
      it = buckets.empty() ? counts->erase(it) : std::next(it);
    }
  }
}

void SignalWindow::visit_events(const std::string& kind, const std::string& min_level, std::int64_t since_unix_ms,
                                std::int64_t until_unix_ms, const Visit& visit) const {
  const int min_rank = min_level.empty() ? -1 : level_rank(min_level);
  // Keys are ordered by (tenant, service, instance) first: sum the kinds and
  // levels of one instance, then report it once.
  const Key* current = nullptr;
  std::uint64_t sum = 0;
  const auto flush = [&] {
    if (current != nullptr && sum != 0) visit(current->tenant, current->service, current->instance, sum);
    sum = 0;
  };
  for (const auto& [key, buckets] : events_) {
    if (key.kind != kind) continue;
    if (!min_level.empty() && level_rank(key.level) < min_rank) continue;
    if (current == nullptr ||
        std::tie(current->tenant, current->service, current->instance) !=
            std::tie(key.tenant, key.service, key.instance)) {
      flush();
      current = &key;
    }
    sum += sum_buckets(buckets, since_unix_ms, until_unix_ms);
  }
  flush();
}

void SignalWindow::visit_restarts(std::int64_t since_unix_ms, std::int64_t until_unix_ms, const Visit& visit) const {
  for (const auto& [key, buckets] : restarts_)
    if (std::uint64_t n = sum_buckets(buckets, since_unix_ms, until_unix_ms); n != 0)
      visit(key.tenant, key.service, key.instance, n);
}

namespace {

// The scope's and group's tenant, service and instance (route and labels do
// not apply to signals).
bool signal_matches(const v1::AlertScope& scope, const Labels& group, const std::string& tenant,
                    const std::string& service, const std::string& instance) {
  const auto same = [](const std::string& want, const std::string& have) { return want.empty() || want == have; };
  if (!same(scope.tenant(), tenant) || !same(scope.service(), service) || !same(scope.instance(), instance))
    return false;
  for (const auto& [name, value] : group) {
    if (name == "tenant" && value != tenant) return false;
    if (name == "service" && value != service) return false;
    if (name == "instance" && value != instance) return false;
  }
  return true;
}

}  // namespace

std::uint64_t SignalWindow::events(const v1::AlertScope& scope, const Labels& group, const std::string& kind,
                                   const std::string& min_level, std::int64_t since_unix_ms,
                                   std::int64_t until_unix_ms) const {
  std::uint64_t n = 0;
  visit_events(kind, min_level, since_unix_ms, until_unix_ms,
               [&](const std::string& t, const std::string& s, const std::string& i, std::uint64_t count) {
                 if (signal_matches(scope, group, t, s, i)) n += count;
               });
  return n;
}

std::uint64_t SignalWindow::restarts(const v1::AlertScope& scope, const Labels& group, std::int64_t since_unix_ms,
                                     std::int64_t until_unix_ms) const {
  std::uint64_t n = 0;
  visit_restarts(since_unix_ms, until_unix_ms,
                 [&](const std::string& t, const std::string& s, const std::string& i, std::uint64_t count) {
                   if (signal_matches(scope, group, t, s, i)) n += count;
                 });
  return n;
}

void SignalWindow::for_each_key(const std::function<void(const std::string& tenant, const std::string& service,
                                                         const std::string& instance)>& visit) const {
  std::set<std::tuple<std::string, std::string, std::string>> keys;
  for (const auto* counts : {&events_, &restarts_})
    for (const auto& [key, buckets] : *counts) keys.emplace(key.tenant, key.service, key.instance);
  for (const auto& [t, s, i] : keys) visit(t, s, i);
}

}  // namespace tg::control::alerts
