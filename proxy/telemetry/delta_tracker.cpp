#include "telemetry/delta_tracker.hpp"

namespace tg::proxy::telemetry {

namespace {

template <typename Array>
void add_array(Array& to, const Array& from) {
  for (std::size_t i = 0; i < to.size(); ++i) to[i] += from[i];
}

// a - b, or a when a counter went below what was seen (it cannot with
// serials, but a wrong delta must not become 2^64 - n).
std::uint64_t less(std::uint64_t a, std::uint64_t b) { return a >= b ? a - b : a; }

template <typename Array>
Array minus_array(const Array& a, const Array& b) {
  Array out{};
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = less(a[i], b[i]);
  return out;
}

template <typename Array>
bool array_zero(const Array& a) {
  for (auto v : a)
    if (v) return false;
  return true;
}

}  // namespace

bool SeriesCounts::zero() const {
  return array_zero(requests) && array_zero(errors) && array_zero(fates) && retries == 0 && held == 0 &&
         bytes_in == 0 && bytes_out == 0 && latency.count == 0;
}

void SeriesCounts::add(const SeriesCounts& o) {
  add_array(requests, o.requests);
  add_array(errors, o.errors);
  add_array(fates, o.fates);
  retries += o.retries;
  held += o.held;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  latency.add(o.latency);
}

SeriesCounts SeriesCounts::minus(const SeriesCounts& p) const {
  SeriesCounts out;
  out.requests = minus_array(requests, p.requests);
  out.errors = minus_array(errors, p.errors);
  out.fates = minus_array(fates, p.fates);
  out.retries = less(retries, p.retries);
  out.held = less(held, p.held);
  out.bytes_in = less(bytes_in, p.bytes_in);
  out.bytes_out = less(bytes_out, p.bytes_out);
  out.latency.buckets = minus_array(latency.buckets, p.latency.buckets);
  out.latency.count = less(latency.count, p.latency.count);
  out.latency.sum_us = less(latency.sum_us, p.latency.sum_us);
  return out;
}

std::uint64_t SeriesCounts::auth_failures() const {
  return errors[static_cast<std::size_t>(ErrorKind::unauthenticated)] +
         errors[static_cast<std::size_t>(ErrorKind::forbidden)];
}

std::uint64_t SeriesCounts::rate_limited() const { return errors[static_cast<std::size_t>(ErrorKind::rate_limited)]; }

bool is_gateway_error(ErrorKind kind) {
  return kind != ErrorKind::none && kind != ErrorKind::unauthenticated && kind != ErrorKind::forbidden &&
         kind != ErrorKind::rate_limited;
}

SeriesCounts route_counts(const WorkerStatsCopy::Route& r) {
  SeriesCounts c;
  c.requests = r.requests;
  for (std::size_t i = 0; i < kErrorKinds; ++i) c.errors[i] = r.errors[i];
  c.fates = r.fates;
  c.retries = r.retries;
  c.held = r.held;
  c.bytes_in = r.bytes_in;
  c.bytes_out = r.bytes_out;
  c.latency = r.latency;
  return c;
}

SeriesCounts instance_counts(const WorkerStatsCopy::Instance& inst) {
  SeriesCounts c;
  c.requests = inst.responses;
  // The try errors under the access log's names for them.
  const auto error = [&](UpstreamError from, ErrorKind to) {
    c.errors[static_cast<std::size_t>(to)] = inst.errors[static_cast<std::size_t>(from)];
  };
  error(UpstreamError::connect_failure, ErrorKind::connect_failure);
  error(UpstreamError::reset, ErrorKind::upstream_reset);
  error(UpstreamError::timeout, ErrorKind::timeout);
  error(UpstreamError::protocol, ErrorKind::bad_upstream_response);
  c.bytes_in = inst.bytes_in;
  c.bytes_out = inst.bytes_out;
  c.latency = inst.latency;
  return c;
}

SeriesCounts unrouted_counts(const WorkerStats& stats) {
  SeriesCounts c;
  c.requests = stats.unrouted_requests;
  for (std::size_t i = 0; i < kErrorKinds; ++i) c.errors[i] = stats.unrouted_errors[i];
  return c;
}

std::vector<SeriesDeltaCounts> DeltaTracker::update(const std::vector<std::optional<WorkerStatsCopy>>& copies) {
  std::map<SeriesKey, SeriesCounts> sums;
  const auto take = [&](std::unordered_map<std::uint64_t, SeriesCounts>& before,
                        std::unordered_map<std::uint64_t, SeriesCounts>& now, std::uint64_t serial,
                        SeriesCounts counts, SeriesKey&& key) {
    auto found = before.find(serial);
    const SeriesCounts delta = found == before.end() ? counts : counts.minus(found->second);
    now.emplace(serial, std::move(counts));
    if (!delta.zero()) sums[std::move(key)].add(delta);
  };
  for (std::size_t w = 0; w < copies.size() && w < previous_.size(); ++w) {
    if (!copies[w]) continue;
    const WorkerStatsCopy& copy = *copies[w];
    auto& before = previous_[w];
    std::unordered_map<std::uint64_t, SeriesCounts> now;
    now.reserve(copy.routes.size() + copy.instances.size() + 1);
    take(before, now, 0, unrouted_counts(copy.stats), SeriesKey{});
    for (const auto& r : copy.routes) take(before, now, r.serial, route_counts(r), SeriesKey{r.tenant, r.name, r.service, ""});
    for (const auto& i : copy.instances)
      take(before, now, i.serial, instance_counts(i), SeriesKey{i.tenant, "", i.service, i.id});
    before = std::move(now);  // objects gone from the table are forgotten
  }
  std::vector<SeriesDeltaCounts> out;
  out.reserve(sums.size());
  for (auto& [key, counts] : sums) out.push_back({key, counts});
  return out;
}

}  // namespace tg::proxy::telemetry
