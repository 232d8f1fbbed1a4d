// tgctl top [--tenant T] [--service S] [--by tenant|route|service|instance] [--window 5m]
//           [--sort errors|rate|p99|name] [--limit N]
// tgctl metrics series METRIC (--route R | --service S | --tenant T | --instance I)
//           [--since 1h] [--until T] [--step 1m]
// Both read the telemetry the proxies report (docs/tgctl.md, "top" and "metrics").
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

struct TopFlags {
  std::string tenant, service, by, sort;
  TextFlag window, limit;
};

struct SeriesFlags {
  std::string metric, route, service, tenant, instance;
  TextFlag since, until, step;
};

}  // namespace

void add_metrics_commands(CLI::App& app, CommandTable& table) {
  const CommandTable* table_ptr = &table;

  auto top_flags = std::make_shared<TopFlags>();
  CLI::App* top = app.add_subcommand(
      "top", "busiest and most failing routes, services, tenants or instances over the last minutes");
  top->add_option("--tenant", top_flags->tenant, "only this tenant's series");
  top->add_option("--service", top_flags->service, "only this service's series");
  top->add_option("--by", top_flags->by, "row key: tenant, route (default), service or instance")
      ->check(CLI::IsMember({"tenant", "route", "service", "instance"}));
  add_text_flag(*top, top_flags->window, "--window", "over the last (10s to 1h; server default 5m)");
  top->add_option("--sort", top_flags->sort, "errors (default), rate, p99 (descending) or name")
      ->check(CLI::IsMember({"errors", "rate", "p99", "name"}));
  add_text_flag(*top, top_flags->limit, "--limit", "at most this many rows (server default 50, max 1000)");
  table.add(top, [top, top_flags] {
    auto request = std::make_unique<v1::TopRequest>();
    request->set_tenant(top_flags->tenant);
    request->set_service(top_flags->service);
    request->set_by(top_flags->by);
    request->set_sort(top_flags->sort);
    if (top_flags->window.given()) request->set_window_ms(parse_duration_ms(top_flags->window.value, "--window"));
    if (top_flags->limit.given()) request->set_limit(parse_uint32(top_flags->limit.value, "--limit"));
    return make_command(*top, rpcs::top, std::move(request));
  });

  CLI::App* noun = app.add_subcommand("metrics", "metrics: the proxies' request figures over time");
  noun->require_subcommand(1);
  auto series_flags = std::make_shared<SeriesFlags>();
  CLI::App* series = noun->add_subcommand("series", "one metric of a scope over time, one point per step");
  series
      ->add_option("metric", series_flags->metric,
                   "request_rate, error_rate, requests, errors, gateway_errors, auth_failures, rate_limited, "
                   "retries, p50_latency, p95_latency, p99_latency (ms), bytes_in, bytes_out; cpu, memory_bytes, "
                   "restarts, load (container status)")
      ->required();
  series->add_option("--route", series_flags->route, "scope: this route");
  series->add_option("--service", series_flags->service, "scope: this service");
  series->add_option("--tenant", series_flags->tenant, "scope: this tenant");
  series->add_option("--instance", series_flags->instance, "scope: this instance (its tries)");
  add_text_flag(*series, series_flags->since, "--since",
                "from this time: 2026-11-22T06:00:00Z, Unix ms, or 1h (ago); default 1h ago");
  add_text_flag(*series, series_flags->until, "--until", "until this time (same forms); default now");
  add_text_flag(*series, series_flags->step, "--step", "one point per step: 10s or more, a multiple of 10s (default 1m)");
  table.add(series, [series, series_flags, table_ptr] {
    const std::int64_t now = table_ptr->environment().now_unix_ms;
    const SeriesFlags& f = *series_flags;
    if (f.route.empty() && f.service.empty() && f.tenant.empty() && f.instance.empty())
      throw UsageError("metrics series: a scope is required: --route, --service, --tenant or --instance");
    auto request = std::make_unique<v1::SeriesRequest>();
    request->set_metric(f.metric);
    request->set_route(f.route);
    request->set_service(f.service);
    request->set_tenant(f.tenant);
    request->set_instance(f.instance);
    if (f.since.given()) request->set_since_unix_ms(parse_time_unix_ms(f.since.value, now, "--since"));
    if (f.until.given()) request->set_until_unix_ms(parse_time_unix_ms(f.until.value, now, "--until"));
    if (f.step.given()) request->set_step_ms(parse_duration_ms(f.step.value, "--step"));
    return make_command(*series, rpcs::series, std::move(request));
  });
}

}  // namespace tg::tgctl
