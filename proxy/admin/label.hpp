// A Prometheus label value, escaped per the text format (backslash, double
// quote and newline): common/text/prometheus_label.hpp, under the name the
// admin page's code uses.
#pragma once

#include "text/prometheus_label.hpp"

#include <string>
#include <string_view>

namespace tg::proxy::admin {

inline std::string label(std::string_view v) { return text::prometheus_label(v); }

}  // namespace tg::proxy::admin
