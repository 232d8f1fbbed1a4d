// OTLP/HTTP JSON logs to events: the recorded payload of the JavaScript
// exporter (tests/fixtures/otlp/), and the encoding's traps by hand.
#include "ingest/otlp_logs.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

namespace tg::control::ingest {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TG_FIXTURES_DIR) + "/" + name);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

OtlpLogs parsed(std::string_view body) {
  auto result = parse_otlp_logs(body);
  if (auto* error = std::get_if<FieldError>(&result)) FAIL(error->field + ": " + error->message);
  return std::get<OtlpLogs>(result);
}

}  // namespace

TEST_CASE("otlp logs: the exporter's payload gives an exception event and a warning log event", "[ingest][otlp]") {
  const OtlpLogs logs = parsed(fixture("otlp/logs_exporter.json"));
  REQUIRE(logs.events.size() == 2);
  CHECK(logs.below_level == 0);
  CHECK(logs.rejected == 0);
  const EventReport& exception = logs.events[0];
  CHECK(exception.service == "web");
  CHECK(exception.instance == "web-1");
  CHECK(exception.kind == "PaymentDeclined");
  CHECK(exception.level == "error");
  CHECK(exception.message == "card declined for order 12345");
  CHECK(exception.detail_json.find("\"exception.stacktrace\"") != std::string::npos);
  CHECK(exception.detail_json.find("\"order.id\":12345") != std::string::npos);
  CHECK(exception.detail_json.find("\"body\":\"payment failed for order 12345\"") != std::string::npos);
  CHECK(exception.detail_json.find("exception.type") == std::string::npos);
  REQUIRE(exception.time_unix_ms.has_value());
  CHECK(*exception.time_unix_ms == 1796315983241);
  const EventReport& warning = logs.events[1];
  CHECK(warning.kind == "log");
  CHECK(warning.level == "warning");
  CHECK(warning.message == "inventory low for sku 778");
  CHECK(warning.detail_json.find("\"stock\":3") != std::string::npos);
}

TEST_CASE("otlp logs: severities, string int64s, records below WARN, missing service", "[ingest][otlp]") {
  const OtlpLogs logs = parsed(R"({"resourceLogs":[
    {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
     "scopeLogs":[{"logRecords":[
       {"timeUnixNano":"1796315983241000000","severityNumber":9,"body":{"stringValue":"info: dropped"}},
       {"severityNumber":21,"body":{"stringValue":"fatal"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"},
       {"severityNumber":17,"body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"42"}}]}}},
       {"attributes":[{"key":"exception.type","value":{"stringValue":"Boom"}}],"body":{"stringValue":"boom"}}]}]},
    {"resource":{"attributes":[]},"scopeLogs":[{"logRecords":[{"severityNumber":17,"body":{"stringValue":"x"}}]}]}]})");
  CHECK(logs.below_level == 1);
  CHECK(logs.rejected == 1);  // no service.name
  REQUIRE(logs.events.size() == 3);
  CHECK(logs.events[0].level == "critical");
  CHECK(logs.events[0].detail_json.find("\"trace_id\":\"5b8efff798038103d269b633813fc60c\"") != std::string::npos);
  CHECK(logs.events[1].level == "error");
  CHECK(logs.events[1].message == R"({"a":42})");
  CHECK(logs.events[2].kind == "Boom");
  CHECK(logs.events[2].level == "error");  // an exception without a severity
  CHECK(logs.events[2].message == "boom");
}

TEST_CASE("otlp logs: malformed requests name the field", "[ingest][otlp]") {
  auto field_of = [](std::string_view body) {
    auto result = parse_otlp_logs(body);
    REQUIRE(std::holds_alternative<FieldError>(result));
    return std::get<FieldError>(result).field;
  };
  CHECK(field_of("nope") == "body");
  CHECK(field_of(R"({"resourceLogs":{}})") == "resourceLogs");
  CHECK(field_of(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"WARN"}]}]}]})") ==
        "resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber");
  CHECK(field_of(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]})") ==
        "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano");
  CHECK(parsed("{}").events.empty());
}

TEST_CASE("level_of_severity: the OTLP severity ranges", "[ingest][otlp]") {
  CHECK(level_of_severity(1) == "debug");
  CHECK(level_of_severity(9) == "info");
  CHECK(level_of_severity(13) == "warning");
  CHECK(level_of_severity(16) == "warning");
  CHECK(level_of_severity(17) == "error");
  CHECK(level_of_severity(21) == "critical");
  CHECK(level_of_severity(24) == "critical");
}

}  // namespace tg::control::ingest
