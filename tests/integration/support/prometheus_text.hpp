// A tiny reader of the Prometheus text exposition format (what /metrics
// serves): enough to look up the value of a series by name and labels.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::itest {

using Labels = std::map<std::string, std::string>;

struct MetricSample {
  std::string name;
  Labels labels;
  double value = 0;
};

class PrometheusText {
 public:
  // Throws std::runtime_error naming the line on malformed input.
  static PrometheusText parse(std::string_view text);

  // Sum of every series named `name` whose labels include all of `labels`
  // (the others may be anything); 0 when none matches.
  double sum(std::string_view name, const Labels& labels = {}) const;
  // How many series match as for sum().
  std::size_t count(std::string_view name, const Labels& labels = {}) const;
  // The value of the series with exactly these labels, if present.
  std::optional<double> value(std::string_view name, const Labels& labels = {}) const;
  bool has(std::string_view name) const { return count(name) > 0; }

  const std::vector<MetricSample>& samples() const { return samples_; }
  // The samples named `name`, one per line, for failure messages.
  std::string describe(std::string_view name) const;

 private:
  std::vector<MetricSample> samples_;
};

}  // namespace tg::itest
