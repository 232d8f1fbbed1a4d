// The per-tenant series cap (tg-control --max-series-per-tenant): a tenant
// whose proxies report more distinct series than the cap gets the newcomers
// folded into its overflow series, so a tenant with unbounded route or
// instance names cannot grow the store and memory without bound. Series
// already admitted (in the store at start, or since) stay themselves.
//
// Two overflow series per tenant, so route and instance figures never mix:
//   route series    → (tenant, route "other", service "other", instance "")
//   instance series → (tenant, route "", service "other", instance "other")
// Owner loop only.
#pragma once

#include "store/rollups.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tg::control::telemetry {

inline constexpr const char* kOverflowName = "other";

class SeriesCap {
 public:
  explicit SeriesCap(std::size_t max_per_tenant) : max_(max_per_tenant) {}

  // The series stored so far (at start).
  void load(const std::vector<SeriesKey>& stored);
  // The series `key`'s deltas are stored under: `key` itself, or its
  // tenant's overflow series (then `*folded` is set).
  SeriesKey admit(const SeriesKey& key, bool* folded);

  static SeriesKey overflow_of(const SeriesKey& key);
  static bool is_overflow(const SeriesKey& key);
  std::size_t series_of(const std::string& tenant) const;

 private:
  std::size_t max_;
  std::set<SeriesKey> known_;
  std::map<std::string, std::size_t> per_tenant_;
};

}  // namespace tg::control::telemetry
