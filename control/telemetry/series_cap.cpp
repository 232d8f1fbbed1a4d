#include "telemetry/series_cap.hpp"

namespace tg::control::telemetry {

SeriesKey SeriesCap::overflow_of(const SeriesKey& key) {
  if (key.instance_series()) return SeriesKey{key.tenant, "", kOverflowName, kOverflowName};
  return SeriesKey{key.tenant, kOverflowName, kOverflowName, ""};
}

bool SeriesCap::is_overflow(const SeriesKey& key) { return key == overflow_of(key); }

void SeriesCap::load(const std::vector<SeriesKey>& stored) {
  for (const SeriesKey& key : stored)
    if (!is_overflow(key) && known_.insert(key).second) ++per_tenant_[key.tenant];
}

SeriesKey SeriesCap::admit(const SeriesKey& key, bool* folded) {
  *folded = false;
  if (is_overflow(key) || known_.count(key) != 0) return key;
  std::size_t& count = per_tenant_[key.tenant];
  if (max_ != 0 && count >= max_) {
    *folded = true;
    return overflow_of(key);
  }
  known_.insert(key);
  ++count;
  return key;
}

std::size_t SeriesCap::series_of(const std::string& tenant) const {
  auto it = per_tenant_.find(tenant);
  return it == per_tenant_.end() ? 0 : it->second;
}

}  // namespace tg::control::telemetry
