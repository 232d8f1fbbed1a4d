// Settings accepted but not enforced yet: one warning per written key, at the
// key; defaults that are not written give none.
#include "load_helpers.hpp"

#include "config/references.hpp"

namespace tg::config {
namespace {

std::vector<std::string> warnings_of(std::string_view yaml, Reader reader = Reader::proxy) {
  std::vector<std::string> lines;
  for (const auto& warning : load_string(yaml, "t.yaml", reader).warnings) lines.push_back(warning.to_string());
  return lines;
}

TEST_CASE("unenforced: each written key is named once, at the key, with its item's name", "[config][unenforced]") {
  const char* yaml =
      "services:\n"
      "  - name: acme\n"
      "    health_check: { path: /healthz }\n"
      "    outlier: {}\n"
      "    retry: { attempts: 2, budget_percent: 10 }\n"
      "    limits: { max_pending_per_instance: 5 }\n"
      "  - name: beta\n"
      "    retry: { attempts: 3 }\n"
      "retention: { alert_history: 90d }\n";
  for (Reader reader : {Reader::proxy, Reader::control}) {
    const auto lines = warnings_of(yaml, reader);
    for (const auto& line : lines) UNSCOPED_INFO(line);
    // health_check (tg-control's active checks), outlier, retry.budget_percent and
    // limits.max_pending_per_instance (the pending queue) are enforced: no warning.
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("t.yaml:9:14: warning: retention.alert_history is accepted but not enforced yet", 0) == 0);
  }
}

TEST_CASE("unenforced: a file with none of the keys, or with errors, has no warnings", "[config][unenforced]") {
  CHECK(warnings_of("services:\n  - name: a\n    retry: { attempts: 2 }\n").empty());
  CHECK(warnings_of("services:\n  - name: a\n    health_check: {}\n    bogus: 1\n").empty());
  CHECK(warnings_of("").empty());
}

TEST_CASE("references: a route to a missing service is reported at its service key", "[config][references]") {
  const auto errors = test::errors_of(
      "services:\n  - name: acme-web\nroutes:\n  - name: r\n    service: acme-wbe\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] ==
        "t.yaml:5:14: routes[0].service: unknown service \"acme-wbe\" (did you mean \"acme-web\"?); it must be "
        "declared under services");
  // The control reader leaves references to the registry; unresolved_references checks a set of files.
  auto control = load_string("routes:\n  - name: r\n    service: web\n", "r.yaml", Reader::control);
  REQUIRE(control.ok());
  auto services = load_string("services:\n  - name: web\n", "s.yaml", Reader::control);
  REQUIRE(services.ok());
  CHECK(unresolved_references({&*control.config, &*services.config}).empty());
  const auto alone = unresolved_references({&*control.config});
  REQUIRE(alone.size() == 1);
  CHECK(alone[0].to_string() == "r.yaml:3:14: routes[0].service: unknown service \"web\"; no services are declared");
}

}  // namespace
}  // namespace tg::config
