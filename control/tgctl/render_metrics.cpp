// Table output of tgctl top and tgctl metrics series.
#include "tgctl/flag_values.hpp"
#include "tgctl/render_metrics.hpp"
#include "tgctl/table.hpp"

#include <cmath>
#include <cstdio>

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

std::string number(double value, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// A series value: whole numbers (counts, bytes) in full, others to 6 digits.
std::string series_value(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) return number(value, "%.0f");
  return number(value, "%.6g");
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

}  // namespace

void top_table(const v1::TopRequest* request, const v1::TopResponse& response, std::ostream& out) {
  const std::string by = request == nullptr || request->by().empty() ? "route" : request->by();
  std::vector<std::string> headers = {"TENANT"};
  if (by == "route") headers.insert(headers.end(), {"ROUTE", "SERVICE"});
  if (by == "service") headers.push_back("SERVICE");
  if (by == "instance") headers.insert(headers.end(), {"SERVICE", "INSTANCE"});
  const std::size_t names = headers.size();
  headers.insert(headers.end(), {"REQUESTS", "RATE/S", "ERRORS", "ERROR %", "P50 MS", "P95 MS", "P99 MS"});
  Table table(headers);
  for (const v1::TopRow& row : response.rows()) {
    std::vector<std::string> cells = {or_dash(row.tenant())};
    if (by == "route") cells.insert(cells.end(), {or_dash(row.route()), or_dash(row.service())});
    if (by == "service") cells.push_back(or_dash(row.service()));
    if (by == "instance") cells.insert(cells.end(), {or_dash(row.service()), or_dash(row.instance())});
    cells.resize(names);
    cells.insert(cells.end(), {std::to_string(row.requests()), number(row.rate(), "%.2f"), std::to_string(row.errors()),
                               number(row.error_rate() * 100, "%.2f"), number(row.p50_ms(), "%.2f"),
                               number(row.p95_ms(), "%.2f"), number(row.p99_ms(), "%.2f")});
    table.add_row(std::move(cells));
  }
  table.write(out);
  out << response.rows_size() << " row(s) over the last " << format_duration_ms(response.window_ms()) << ", "
      << response.proxies_reporting() << " prox" << (response.proxies_reporting() == 1 ? "y" : "ies") << " reporting";
  if (response.rows_not_listed() > 0) out << "; " << response.rows_not_listed() << " more not listed (--limit)";
  out << ".\n";
}

void series_table(const v1::SeriesResponse& response, std::ostream& out) {
  Table table({"TIME", response.metric().empty() ? std::string("VALUE") : response.metric()});
  for (const v1::SeriesPoint& point : response.points())
    table.add_row({format_time_unix_ms(point.time_unix_ms()), point.empty() ? "-" : series_value(point.value())});
  table.write(out);
}

}  // namespace tg::tgctl
