// The per-service tuning blocks: health_check, outlier, retry, timeouts,
// limits. Ranges and defaults are documented in docs/configuration.md; the
// defaults themselves live in model.hpp.
//
// A zero duration is rejected wherever it would mean "never" or "immediately"
// (an interval, a timeout, an ejection time); the one exception is
// retry.per_try_timeout, where 0 means "no per-try limit".
#include "config/retry_bounds.hpp"
#include "config/sections.hpp"

#include "config/rules.hpp"
#include "config/value_parsers.hpp"

#include <cstdint>

namespace tg::config {
namespace {

// Reads an integer field into `out` when it is in range (config/rules.hpp).
template <typename T>
std::function<void(const Value&)> integer_into(Diagnostics& diagnostics, T& out, IntegerRange range) {
  return [&diagnostics, &out, range](const Value& value) {
    if (auto number = read_integer(diagnostics, value, range)) out = static_cast<T>(*number);
  };
}

std::function<void(const Value&)> duration_into(Diagnostics& diagnostics, Duration& out, ZeroDuration zero) {
  return [&diagnostics, &out, zero](const Value& value) {
    if (auto duration = read_duration(diagnostics, value, zero)) out = *duration;
  };
}

std::function<void(const Value&)> size_into(Diagnostics& diagnostics, std::uint64_t& out) {
  return [&diagnostics, &out](const Value& value) {
    if (auto size = read_size(diagnostics, value)) out = *size;
  };
}

void read_retry_on(Diagnostics& diagnostics, const Value& value, std::uint32_t& out) {
  std::uint32_t conditions = 0;
  const bool is_list = read_sequence(diagnostics, value, [&](const Value& item) {
    auto text = read_string(diagnostics, item);
    if (!text) return;
    const auto condition = retry_on_from_string(*text);
    if (!condition) {
      std::vector<std::string> names;
      for (RetryOn known : all_retry_conditions) names.emplace_back(to_string(known));
      report(diagnostics, item, unknown_choice("retry condition", *text, names));
      return;
    }
    if (conditions & *condition) {
      report(diagnostics, item, "retry condition \"" + *text + "\" is listed twice");
      return;
    }
    conditions |= *condition;
  });
  if (is_list) out = conditions;
}

}  // namespace

void read_health_check(Diagnostics& diagnostics, const Value& value, HealthCheck& out) {
  std::optional<Value> path_value;
  std::optional<Value> http_only;  // the first of expect / host
  read_mapping(diagnostics, value, {
      {"type",
       [&](const Value& type) {
         auto text = read_string(diagnostics, type);
         if (!text) return;
         if (*text == "http") {
           out.type = HealthCheck::Type::http;
         } else if (*text == "tcp") {
           out.type = HealthCheck::Type::tcp;
         } else {
           report(diagnostics, type, "must be http or tcp, got \"" + *text + '"');
         }
       }},
      {"path",
       [&](const Value& path) {
         auto text = read_string(diagnostics, path);
         if (!text) return;
         if (auto problem = check_path(*text, true)) {
           report(diagnostics, path, *problem);
           return;
         }
         out.path = *text;
         path_value = path;
       }},
      {"expect",
       [&](const Value& expect) {
         std::vector<StatusRange> ranges;
         std::size_t items = 0;
         auto read_item = [&](const Value& item) {
           ++items;
           auto text = read_string(diagnostics, item);
           if (!text) return;
           StatusRange range;
           if (auto problem = parse_status_range(*text, range)) {
             report(diagnostics, item, *problem);
             return;
           }
           ranges.push_back(range);
         };
         if (expect.node.IsScalar()) {
           read_item(expect);
         } else if (!read_sequence(diagnostics, expect, read_item)) {
           return;
         }
         if (items == 0) {
           report(diagnostics, expect, "must list at least one status or range (default 200-399)");
           return;
         }
         if (ranges.size() != items) return;  // each bad item is reported
         out.expect = std::move(ranges);
         http_only = http_only ? http_only : std::optional<Value>(expect);
       }},
      {"host",
       [&](const Value& host) {
         auto text = read_string(diagnostics, host);
         if (!text) return;
         if (auto problem = check_health_host(*text)) {
           report(diagnostics, host, *problem);
           return;
         }
         out.host = *text;
         http_only = http_only ? http_only : std::optional<Value>(host);
       }},
      {"interval", duration_into(diagnostics, out.interval, ZeroDuration::rejected)},
      {"timeout", duration_into(diagnostics, out.timeout, ZeroDuration::rejected)},
      {"healthy_threshold", integer_into(diagnostics, out.healthy_threshold, range::at_least_one)},
      {"unhealthy_threshold", integer_into(diagnostics, out.unhealthy_threshold, range::at_least_one)},
  });
  if (path_value && out.type == HealthCheck::Type::tcp) {
    report(diagnostics, *path_value, "path applies only to type http (this check is tcp)");
  }
  if (http_only && out.type == HealthCheck::Type::tcp) {
    report(diagnostics, *http_only, "expect and host apply only to type http (this check is tcp)");
  }
}

void read_outlier(Diagnostics& diagnostics, const Value& value, Outlier& out) {
  read_mapping(diagnostics, value, {
      {"consecutive_failures", integer_into(diagnostics, out.consecutive_failures, range::at_least_one)},
      {"count_5xx",
       [&](const Value& flag) {
         if (flag.node.IsScalar() && (flag.node.Scalar() == "true" || flag.node.Scalar() == "false")) {
           out.count_5xx = flag.node.Scalar() == "true";
         } else {
           report(diagnostics, flag, "expected true or false");
         }
       }},
      {"base_ejection", duration_into(diagnostics, out.base_ejection, ZeroDuration::rejected)},
      {"max_ejection", duration_into(diagnostics, out.max_ejection, ZeroDuration::rejected)},
      {"max_ejection_percent", integer_into(diagnostics, out.max_ejection_percent, range::percent)},
      {"half_open_probes", integer_into(diagnostics, out.half_open_probes, range::at_least_one)},
  });
}

void read_retry(Diagnostics& diagnostics, const Value& value, Retry& out) {
  read_mapping(diagnostics, value, {
      {"attempts", integer_into(diagnostics, out.attempts, range::retry_attempts)},
      {"on", [&](const Value& on) { read_retry_on(diagnostics, on, out.on); }},
      {"per_try_timeout", duration_into(diagnostics, out.per_try_timeout, ZeroDuration::allowed)},
      {"budget_percent", integer_into(diagnostics, out.budget_percent, range::percent)},
      {"min_retries_per_second", integer_into(diagnostics, out.min_retries_per_second, range::min_retries_per_second)},
      {"max_body",
       [&](const Value& moved) {
         report(diagnostics, moved,
                "retry.max_body was replaced by limits.buffer_body: bodies up to that size are received whole "
                "before an upstream is chosen, and only those are retried after bytes were sent");
       }},
  });
}

void read_timeouts(Diagnostics& diagnostics, const Value& value, Timeouts& out) {
  read_mapping(diagnostics, value, {
      {"connect", duration_into(diagnostics, out.connect, ZeroDuration::rejected)},
      {"response_headers", duration_into(diagnostics, out.response_headers, ZeroDuration::rejected)},
      {"idle", duration_into(diagnostics, out.idle, ZeroDuration::rejected)},
  });
}

void read_limits(Diagnostics& diagnostics, const Value& value, Limits& out) {
  read_mapping(diagnostics, value, {
      {"max_connections_per_instance",
       integer_into(diagnostics, out.max_connections_per_instance, range::max_connections_per_instance)},
      {"max_pending_per_instance",
       integer_into(diagnostics, out.max_pending_per_instance, range::max_pending_per_instance)},
      {"pending_timeout", duration_into(diagnostics, out.pending_timeout, ZeroDuration::rejected)},
      {"max_body", size_into(diagnostics, out.max_body)},
      {"buffer_body",
       [&](const Value& size) {
         size_into(diagnostics, out.buffer_body)(size);
         if (out.buffer_body > kMaxBufferBody) {
           report(diagnostics, size, "buffer_body " + std::to_string(out.buffer_body) + " is above the largest, 1MiB");
           out.buffer_body = kMaxBufferBody;
         }
       }},
  });
}

}  // namespace tg::config
