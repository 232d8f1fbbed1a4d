// A full database (here: --sqlite-max-page-count at the file's size) makes
// tg-control read-only instead of stopping it (docs/operations.md, "Store
// integrity and disk full").
#include "control/support/control_process.hpp"
#include "control/support/tgctl_run.hpp"
#include "support/http_client.hpp"
#include "support/prometheus_text.hpp"

#include <catch2/catch.hpp>

using namespace tg::itest;

TEST_CASE("a full database: writes answer UNAVAILABLE, reads and /healthz go on, tg-control stays up",
          "[control][store][read-only]") {
  ControlProcess control({.extra_args = {"--sqlite-max-page-count", "1"}});  // no page beyond the file's size
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"services", "create", "web"},
        std::vector<std::string>{"instances", "register", "web", "127.0.0.1:9001", "--id", "w1", "--ttl", "60s"},
        std::vector<std::string>{"instances", "heartbeat", "w1"}}) {  // healthy now: later beats store nothing
    const TgctlResult result = tgctl(control, args);
    INFO(result.describe());
    REQUIRE(result.exit_code == 0);
  }
  TgctlResult refused;
  int created = 0;
  for (int i = 0; i < 500; ++i) {
    TgctlResult result = tgctl(control, {"tenants", "create", "t" + std::to_string(i), "--label",
                                         "note=" + std::string(200, 'x')});
    if (result.exit_code != 0) {
      refused = result;
      break;
    }
    ++created;
  }
  INFO(refused.describe());
  INFO(control.describe());
  REQUIRE(refused.exit_code > 0);
  CHECK(refused.err.find("is read-only: the database is full (") != std::string::npos);  // not "cannot reach"
  CHECK(refused.err.find("cannot reach") == std::string::npos);
  CHECK(refused.err.find("writes are refused until space returns") != std::string::npos);
  CHECK(control.running());

  // Later writes are refused too; reads show exactly what was stored.
  const TgctlResult again = tgctl(control, {"tenants", "create", "later"});
  CHECK(again.exit_code > 0);
  CHECK(again.err.find("the database is full") != std::string::npos);
  const TgctlResult list = tgctl(control, {"tenants", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("t" + std::to_string(created - 1)) != std::string::npos);
  CHECK(tgctl(control, {"tenants", "get", "t" + std::to_string(created)}).exit_code > 0);  // the refused one is gone
  CHECK(list.out.find("later") == std::string::npos);

  const TgctlResult beat = tgctl(control, {"instances", "heartbeat", "w1"});  // a plain heartbeat still answers
  INFO(beat.describe());
  CHECK(beat.exit_code == 0);

  CHECK(http_get(control.http_port(), "/healthz", {{"Connection", "close"}}).status == 200);
  const HttpResponse metrics = http_get(control.http_port(), "/metrics", {{"Connection", "close"}});
  REQUIRE(metrics.status == 200);
  const PrometheusText text = PrometheusText::parse(metrics.body);
  CHECK(text.sum("tg_control_store_read_only", {}) == 1);
  CHECK(text.sum("tg_control_store_full_total", {}) >= 1);
  CHECK(control.log().find("read-only mode: the database is full") != std::string::npos);
  CHECK(control.running());

  // After a restart without the cap, writes are accepted and nothing was lost.
  REQUIRE(control.stop().success());
  control.options().extra_args.clear();
  control.start();
  const TgctlResult after = tgctl(control, {"tenants", "create", "after"});
  INFO(after.describe());
  CHECK(after.exit_code == 0);
  CHECK(tgctl(control, {"tenants", "get", "t" + std::to_string(created - 1)}).exit_code == 0);
}
