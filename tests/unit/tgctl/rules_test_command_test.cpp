// tgctl rules test: the whole command through run(), offline (no server is
// started: a call to one would fail with exit 3), its timeline and exit codes.
#include "tgctl/run.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tg::tgctl {
namespace {

struct Files {
  std::filesystem::path dir;
  Files() {
    char pattern[] = "/tmp/tgctl-rules-test-XXXXXX";
    dir = ::mkdtemp(pattern);
  }
  ~Files() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

struct Result {
  int code = 0;
  std::string out, err;
};

Result run_tgctl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Environment environment;
  environment.server = "127.0.0.1:1";  // nothing listens: the command must not call it
  const int code = run(args, environment, out, err);
  return {code, out.str(), err.str()};
}

const char* kRules =
    "alert_rules:\n"
    "  - name: acme-errors\n"
    "    scope: { tenant: acme }\n"
    "    condition: { metric: error_rate, op: \">\", threshold: 0.1 }\n"
    "    window: 30s\n"
    "    for: 20s\n"
    "    keep_firing_for: 30s\n"
    "    group_by: [service]\n";

const char* kSeries =
    "interval: 10s\n"
    "series:\n"
    "  - { tenant: acme, service: sim, route: web, requests: 100x18, errors: 0x3 50x6 0x9 }\n"
    "  - { tenant: globex, service: g, route: www, requests: 100x18, errors: 100x18 }\n";

TEST_CASE("tgctl rules test prints the alert timeline and exits 0", "[tgctl][rules]") {
  Files files;
  const Result r = run_tgctl({"rules", "test", files.write("rules.yaml", kRules), "--series",
                              files.write("series.yaml", kSeries)});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out ==
        "+40s  acme-errors  {service=\"sim\"}  inactive -> pending  value=0.166667\n"
        "+1m  acme-errors  {service=\"sim\"}  pending -> firing  value=0.5\n"
        "+2m30s  acme-errors  {service=\"sim\"}  firing -> resolved  value=0\n");
  // A slower evaluation sees the same changes later.
  const Result slow = run_tgctl({"rules", "test", files.write("rules.yaml", kRules), "--series",
                                 files.write("series.yaml", kSeries), "--eval-interval", "20s"});
  CHECK(slow.code == 0);
  CHECK(slow.out ==
        "+40s  acme-errors  {service=\"sim\"}  inactive -> pending  value=0.166667\n"
        "+1m  acme-errors  {service=\"sim\"}  pending -> firing  value=0.5\n"
        "+2m40s  acme-errors  {service=\"sim\"}  firing -> resolved  value=0\n");
}

TEST_CASE("tgctl rules test: bad files give FILE:LINE:COLUMN and exit 2", "[tgctl][rules]") {
  Files files;
  const std::string series = files.write("series.yaml", kSeries);
  const std::string bad_rules = files.write("bad.yaml", "alert_rules:\n  - name: x\n    condition: { metric: nope }\n");
  Result r = run_tgctl({"rules", "test", bad_rules, "--series", series});
  CHECK(r.code == 2);
  CHECK(r.err.rfind(bad_rules + ":3:26: alert_rules[0].condition.metric: unknown metric \"nope\"", 0) == 0);
  CHECK(r.out.empty());

  const std::string rules = files.write("rules.yaml", kRules);
  const std::string bad_series = files.write("bad-series.yaml", "series:\n  - { route: web, requests: lots }\n");
  r = run_tgctl({"rules", "test", rules, "--series", bad_series});
  CHECK(r.code == 2);
  CHECK(r.err == bad_series + ":2:29: series[0].requests: bad value \"lots\": expected a number >= 0, VxN or _\n");

  r = run_tgctl({"rules", "test", rules});
  CHECK(r.code == 2);
  CHECK(r.err.find("--series is required") != std::string::npos);
  r = run_tgctl({"rules", "test", rules, "--series", series, "--eval-interval", "0s"});
  CHECK(r.code == 2);
  r = run_tgctl({"rules", "test", files.write("empty.yaml", "alert_rules: []\n"), "--series", series});
  CHECK(r.code == 0);
  CHECK(r.out == "no alert changed state\n");
}

}  // namespace
}  // namespace tg::tgctl
