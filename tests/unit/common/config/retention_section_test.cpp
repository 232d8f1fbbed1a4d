// `retention:` (control plane only): read by the control reader with
// FILE:LINE:COLUMN errors, ignored by the proxy reader; rollups and
// alert_history warn that nothing enforces them yet.
#include "load_helpers.hpp"

namespace tg::config {
namespace {

using namespace std::chrono_literals;
using test::errors_of;
using test::load_ok;

TEST_CASE("retention: the control reader reads every key, what is left out stays unset", "[config][retention]") {
  const Config all = load_ok("retention: { rollups: 30d, events: 14d, alert_history: 90d, audit: 180d }\n",
                             Reader::control);
  REQUIRE(all.retention.has_value());
  CHECK(all.retention->rollups == std::chrono::hours(24 * 30));
  CHECK(all.retention->events == std::chrono::hours(24 * 14));
  CHECK(all.retention->alert_history == std::chrono::hours(24 * 90));
  CHECK(all.retention->audit == std::chrono::hours(24 * 180));
  CHECK(all.retention->location.line == 1);
  CHECK(all.retention->location.column == 12);

  const Config some = load_ok("retention:\n  events: 0\n  audit: 1h\n", Reader::control);
  REQUIRE(some.retention.has_value());
  CHECK(some.retention->events == 0ms);  // kept forever
  CHECK(some.retention->audit == 1h);
  CHECK_FALSE(some.retention->rollups.has_value());
  CHECK_FALSE(some.retention->alert_history.has_value());

  CHECK_FALSE(load_ok("tenants: []\n", Reader::control).retention.has_value());
  // An empty section is an empty mapping: present, nothing set.
  const Config empty = load_ok("retention:\n", Reader::control);
  REQUIRE(empty.retention.has_value());
  CHECK_FALSE(empty.retention->events.has_value());
}

TEST_CASE("retention: bad values and unknown keys are FILE:LINE:COLUMN errors", "[config][retention]") {
  CHECK(errors_of("retention: { events: 30m }\n", Reader::control) ==
        std::vector<std::string>{"t.yaml:1:22: retention.events: at least 1h (or 0 to keep forever), got 30m"});
  CHECK(errors_of("retention:\n  audit: soon\n", Reader::control) ==
        std::vector<std::string>{"t.yaml:2:10: retention.audit: bad duration \"soon\": expected a number followed "
                                 "by a unit: ms, s, m, h or d (e.g. 250ms, 1.5s, 2m)"});
  CHECK(errors_of("retention: { rollups: 400d }\n", Reader::control) ==
        std::vector<std::string>{"t.yaml:1:23: retention.rollups: bad duration \"400d\": too large (at most 365d)"});
  CHECK(errors_of("retention: { event: 14d }\n", Reader::control) ==
        std::vector<std::string>{"t.yaml:1:14: retention: unknown key \"event\" (did you mean \"events\"?); "
                                 "allowed keys: rollups, events, alert_history, audit"});
  CHECK(errors_of("retention: 14d\n", Reader::control).size() == 1);
  CHECK(errors_of("retention: { events: 1d, events: 2d }\n", Reader::control).size() == 1);  // duplicate key
}

TEST_CASE("retention: the proxy reader accepts and ignores the section", "[config][retention]") {
  const Config proxy = load_ok("retention: { events: 30m, bogus: 1 }\n", Reader::proxy);
  CHECK_FALSE(proxy.retention.has_value());
}

TEST_CASE("retention: alert_history is accepted but not enforced yet", "[config][retention][unenforced]") {
  const LoadResult result =
      load_string("retention: { rollups: 30d, events: 14d, alert_history: 90d, audit: 180d }\n", "t.yaml",
                  Reader::control);
  REQUIRE(result.ok());
  std::vector<std::string> lines;
  for (const auto& warning : result.warnings) lines.push_back(warning.to_string());
  CHECK(lines == std::vector<std::string>{
                     "t.yaml:1:41: warning: retention.alert_history is accepted but not enforced yet (no alert "
                     "engine yet: the value is kept for it)"});
}

}  // namespace
}  // namespace tg::config
