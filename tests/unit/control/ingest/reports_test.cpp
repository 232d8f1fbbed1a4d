// The ingest bodies: one event or a batch, status, register, instance;
// every problem names its field, and a batch is refused whole.
#include "ingest/reports.hpp"

#include <catch2/catch.hpp>

namespace tg::control::ingest {
namespace {

template <class T>
FieldError error_of(const std::variant<T, FieldError>& result) {
  REQUIRE(std::holds_alternative<FieldError>(result));
  return std::get<FieldError>(result);
}

}  // namespace

TEST_CASE("parse_events: one event or a batch, with defaults", "[ingest][reports]") {
  auto one = parse_events(R"({"service":"web","kind":"OrderFailed","level":"error","message":"order 1 failed"})");
  REQUIRE(std::holds_alternative<std::vector<EventReport>>(one));
  const auto& single = std::get<std::vector<EventReport>>(one);
  REQUIRE(single.size() == 1);
  CHECK(single[0].service == "web");
  CHECK(single[0].detail_json == "{}");
  CHECK_FALSE(single[0].time_unix_ms.has_value());

  auto batch = parse_events(
      R"({"events":[{"service":"web","instance":"w1","kind":"K","level":"warning","message":"m","detail":{"a":[1,2]},)"
      R"("fingerprint":"fp","time":"2026-12-03T16:28:46.250Z"},{"service":"web","kind":"K","level":"info","message":"n","time":1764779326000}]})");
  REQUIRE(std::holds_alternative<std::vector<EventReport>>(batch));
  const auto& events = std::get<std::vector<EventReport>>(batch);
  REQUIRE(events.size() == 2);
  CHECK(events[0].instance == "w1");
  CHECK(events[0].detail_json == R"({"a":[1,2]})");
  CHECK(events[0].fingerprint == "fp");
  CHECK(events[0].time_unix_ms == 1796315326250);
  CHECK(events[1].time_unix_ms == 1764779326000);
}

TEST_CASE("parse_events: each problem names its field", "[ingest][reports]") {
  const std::string ok = R"({"service":"web","kind":"K","level":"info","message":"m"})";
  CHECK(error_of(parse_events("{not json")).field == "body");
  CHECK(error_of(parse_events("[]")).field == "body");
  CHECK(error_of(parse_events(R"({"kind":"K","level":"info","message":"m"})")).field == "service");
  CHECK(error_of(parse_events(R"({"service":"web","kind":"K","level":"loud","message":"m"})")).field == "level");
  CHECK(error_of(parse_events(R"({"service":"web","kind":"K","level":"info","message":"m","detail":"x"})")).field ==
        "detail");
  CHECK(error_of(parse_events(R"({"service":"web","kind":"K","level":"info","message":"m","colour":1})")).field ==
        "colour");
  CHECK(error_of(parse_events(R"({"service":"web","kind":"K","level":"info","message":"m","time":"yesterday"})"))
            .field == "time");
  CHECK(error_of(parse_events(R"({"service":"web","kind":"K","level":"info","message":"m","time":1764779326})"))
            .field == "time");  // seconds, not milliseconds
  const FieldError in_batch =
      error_of(parse_events("{\"events\":[" + ok + "," + ok + "," + ok + R"(,{"service":"web","kind":"K","level":"fatal","message":"m"}]})"));
  CHECK(in_batch.field == "events[3].level");
  CHECK(in_batch.message.find("debug, info, warning, error or critical") != std::string::npos);
  CHECK(error_of(parse_events(R"({"events":[]})")).field == "events");
  std::string many = "{\"events\":[";
  for (std::size_t i = 0; i <= max_events_per_request; ++i) many += (i ? "," : "") + ok;
  CHECK(error_of(parse_events(many + "]}")).field == "events");
}

TEST_CASE("parse_status, parse_register, parse_instance", "[ingest][reports]") {
  auto status = parse_status(R"({"instance":"w1","cpu":0.5,"memory_bytes":1048576,"restarts":2,"load":3.5})");
  REQUIRE(std::holds_alternative<StatusReport>(status));
  CHECK(std::get<StatusReport>(status).memory_bytes == 1048576);
  CHECK(std::get<StatusReport>(status).load == 3.5);
  CHECK(error_of(parse_status(R"({"instance":"w1","cpu":-1,"memory_bytes":1,"restarts":0,"load":0})")).field == "cpu");
  CHECK(error_of(parse_status(R"({"instance":"w1","cpu":1,"memory_bytes":1.5,"restarts":0,"load":0})")).field ==
        "memory_bytes");
  CHECK(error_of(parse_status(R"({"instance":"w1","cpu":1,"memory_bytes":1,"load":0})")).field == "restarts");

  auto registered = parse_register(R"({"service":"web","address":"10.0.0.7:8080","labels":{"zone":"a"}})");
  REQUIRE(std::holds_alternative<RegisterReport>(registered));
  CHECK(std::get<RegisterReport>(registered).ttl_ms == RegisterReport::default_ttl_ms);
  CHECK(std::get<RegisterReport>(registered).labels.size() == 1);
  CHECK(error_of(parse_register(R"({"service":"web","address":"a:1","labels":{"zone":1}})")).field == "labels.zone");
  CHECK(error_of(parse_register(R"({"service":"web","address":"a:1","weight":100000})")).field == "weight");

  REQUIRE(std::holds_alternative<InstanceReport>(parse_instance(R"({"instance":"w1"})")));
  CHECK(error_of(parse_instance(R"({"instance":""})")).field == "instance");
}

TEST_CASE("parse_rfc3339: zones and fractions", "[ingest][reports]") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2026-12-03T16:28:46Z") == 1796315326000);
  CHECK(parse_rfc3339("2026-12-03T17:28:46.5+01:00") == 1796315326500);
  CHECK(parse_rfc3339("2026-12-03T16:28:46.123456789Z") == 1796315326123);
  CHECK_FALSE(parse_rfc3339("2026-12-03 16:28").has_value());
  CHECK_FALSE(parse_rfc3339("2026-13-03T16:28:46Z").has_value());
  CHECK_FALSE(parse_rfc3339("2026-12-03T16:28:46").has_value());
}

}  // namespace tg::control::ingest
