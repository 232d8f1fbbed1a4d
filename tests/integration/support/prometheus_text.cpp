#include "support/prometheus_text.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace tg::itest {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
}

[[noreturn]] void bad_line(std::string_view line, std::string_view why) {
  throw std::runtime_error("bad /metrics line (" + std::string(why) + "): '" + std::string(line) + "'");
}

double parse_value(std::string_view text, std::string_view line) {
  if (text == "+Inf" || text == "Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return std::nan("");
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) bad_line(line, "value");
  return value;
}

// Parses `{a="x",b="y"}` starting at text[pos] == '{'; leaves pos after '}'.
Labels parse_labels(std::string_view line, std::size_t& pos) {
  Labels labels;
  ++pos;  // '{'
  for (;;) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) ++pos;
    if (pos >= line.size()) bad_line(line, "unterminated labels");
    if (line[pos] == '}') {
      ++pos;
      return labels;
    }
    const std::size_t name_start = pos;
    while (pos < line.size() && is_name_char(line[pos])) ++pos;
    const std::string name(line.substr(name_start, pos - name_start));
    if (name.empty() || pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
      bad_line(line, "label");
    }
    pos += 2;
    std::string value;
    for (;;) {
      if (pos >= line.size()) bad_line(line, "unterminated label value");
      const char c = line[pos++];
      if (c == '"') break;
      if (c == '\\' && pos < line.size()) {
        const char escaped = line[pos++];
        value += escaped == 'n' ? '\n' : escaped;
      } else {
        value += c;
      }
    }
    labels[name] = value;
  }
}

bool includes(const Labels& have, const Labels& want) {
  for (const auto& [name, value] : want) {
    const auto found = have.find(name);
    // An absent label reads as "" in Prometheus.
    const std::string& actual = found == have.end() ? std::string() : found->second;
    if (actual != value) return false;
  }
  return true;
}

}  // namespace

PrometheusText PrometheusText::parse(std::string_view text) {
  PrometheusText result;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;

    MetricSample sample;
    std::size_t pos = 0;
    while (pos < line.size() && is_name_char(line[pos])) ++pos;
    sample.name = std::string(line.substr(0, pos));
    if (sample.name.empty()) bad_line(line, "name");
    if (pos < line.size() && line[pos] == '{') sample.labels = parse_labels(line, pos);
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::string_view value = line.substr(pos);
    value = value.substr(0, value.find(' '));  // an optional timestamp follows
    sample.value = parse_value(value, line);
    result.samples_.push_back(std::move(sample));
  }
  return result;
}

double PrometheusText::sum(std::string_view name, const Labels& labels) const {
  double total = 0;
  for (const MetricSample& sample : samples_) {
    if (sample.name == name && includes(sample.labels, labels)) total += sample.value;
  }
  return total;
}

std::size_t PrometheusText::count(std::string_view name, const Labels& labels) const {
  std::size_t matches = 0;
  for (const MetricSample& sample : samples_) {
    if (sample.name == name && includes(sample.labels, labels)) ++matches;
  }
  return matches;
}

std::optional<double> PrometheusText::value(std::string_view name, const Labels& labels) const {
  for (const MetricSample& sample : samples_) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return std::nullopt;
}

std::string PrometheusText::describe(std::string_view name) const {
  std::string text;
  for (const MetricSample& sample : samples_) {
    if (sample.name.rfind(name, 0) != 0) continue;
    text += sample.name;
    if (!sample.labels.empty()) {
      text += '{';
      bool first = true;
      for (const auto& [label, value] : sample.labels) {
        if (!first) text += ',';
        first = false;
        text += label + "=\"" + value + '"';
      }
      text += '}';
    }
    text += ' ' + std::to_string(sample.value) + '\n';
  }
  return text.empty() ? "(no series starting with " + std::string(name) + ")\n" : text;
}

}  // namespace tg::itest
