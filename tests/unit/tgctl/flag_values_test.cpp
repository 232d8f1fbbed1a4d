// control/tgctl/flag_values.*, exit_code.*, token.*, apply_diff.*
#include "grpc/status_name.hpp"
#include "parse_helpers.hpp"

#include "tenantgate/v1/registry.pb.h"
#include "tgctl/apply_diff.hpp"
#include "tgctl/exit_code.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/token.hpp"

using namespace tg::tgctl;
using namespace tg::tgctl::test;
namespace v1 = tenantgate::v1;

TEST_CASE("exit codes: 0 ok, 1 refused, 3 unreachable or too late", "[tgctl][exit]") {
  CHECK(exit_code_for(grpc::StatusCode::OK) == ExitCode::ok);
  for (const auto code : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
                          grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::FAILED_PRECONDITION,
                          grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED,
                          grpc::StatusCode::INTERNAL, grpc::StatusCode::UNIMPLEMENTED}) {
    CHECK(exit_code_for(code) == ExitCode::refused);
  }
  CHECK(exit_code_for(grpc::StatusCode::UNAVAILABLE) == ExitCode::unreachable);
  CHECK(exit_code_for(grpc::StatusCode::DEADLINE_EXCEEDED) == ExitCode::unreachable);
  CHECK(static_cast<int>(ExitCode::usage) == 2);
  CHECK(tg::grpc_status_name(grpc::StatusCode::FAILED_PRECONDITION) == "FAILED_PRECONDITION");
  CHECK(tg::grpc_status_name(grpc::StatusCode::UNAUTHENTICATED) == "UNAUTHENTICATED");
}

TEST_CASE("flag values: key=value, durations, sizes", "[tgctl][flags]") {
  CHECK(parse_key_value("a=b=c", "--label") == std::pair<std::string, std::string>{"a", "b=c"});
  CHECK(parse_key_value("a=", "--label") == std::pair<std::string, std::string>{"a", ""});
  CHECK_THROWS_AS(parse_key_value("a", "--label"), UsageError);
  CHECK(parse_duration_ms("250ms", "--t") == 250);
  CHECK(parse_duration_ms("1.5s", "--t") == 1500);
  CHECK(parse_duration_ms("2h", "--t") == 7'200'000);
  CHECK_THROWS_WITH(parse_duration_ms("5", "--ttl"), Catch::Contains("--ttl: bad duration \"5\""));
  CHECK(parse_size_bytes("64KiB", "--max-body") == 65536);
  CHECK_THROWS_AS(parse_size_bytes("64kb", "--max-body"), UsageError);
  CHECK(format_duration_ms(0) == "0");
  CHECK(format_duration_ms(250) == "250ms");
  CHECK(format_duration_ms(10'000) == "10s");
  CHECK(format_duration_ms(5'400'000) == "90m");
  CHECK(format_duration_ms(7'200'000) == "2h");
}

TEST_CASE("flag values: enums by short or full name", "[tgctl][flags]") {
  const auto& lb = *v1::LbPolicy_descriptor();
  CHECK(parse_enum(lb, "LB_POLICY_", "peak_ewma", "--lb") == v1::LB_POLICY_PEAK_EWMA);
  CHECK(parse_enum(lb, "LB_POLICY_", "LB_POLICY_WEIGHTED", "--lb") == v1::LB_POLICY_WEIGHTED);
  CHECK_THROWS_WITH(parse_enum(lb, "LB_POLICY_", "unspecified", "--lb"),
                    Catch::Contains("round_robin, weighted, least_request"));
  CHECK_THROWS_AS(parse_enum(lb, "LB_POLICY_", "", "--lb"), UsageError);
  CHECK(parse_enum(*v1::RetryOn_descriptor(), "RETRY_ON_", "503", "--retry-on") == v1::RETRY_ON_503);
  CHECK(enum_short_name(lb, "LB_POLICY_", v1::LB_POLICY_STICKY_LINK) == "sticky_link");
  CHECK(enum_short_name(lb, "LB_POLICY_", 0) == "-");
}

TEST_CASE("flag values: times", "[tgctl][flags]") {
  const std::int64_t now = 1'763'791'200'000;
  CHECK(parse_time_unix_ms("2025-11-22T06:00:00Z", now, "--since") == now);
  CHECK(parse_time_unix_ms("2025-11-22T06:00:00.25Z", now, "--since") == now + 250);
  CHECK(parse_time_unix_ms("1763791200123", now, "--since") == 1'763'791'200'123);
  CHECK(parse_time_unix_ms("1h", now, "--since") == now - 3'600'000);
  CHECK_THROWS_AS(parse_time_unix_ms("2025-11-22T06:00:00+01:00", now, "--since"), UsageError);
  CHECK_THROWS_AS(parse_time_unix_ms("2025-13-22T06:00:00Z", now, "--since"), UsageError);
  CHECK_THROWS_AS(parse_time_unix_ms("-5", now, "--since"), UsageError);
  CHECK(format_time_unix_ms(now + 7) == "2025-11-22T06:00:00.007Z");
  CHECK(format_time_unix_ms(0) == "-");
}

TEST_CASE("token file: first token line, NAME TOKEN and NAME TOKEN ROLE forms, errors", "[tgctl][token]") {
  CHECK(read_token_file(TempFile("s3cret\n").path()) == "s3cret");
  CHECK(read_token_file(TempFile("# ops token\n\n  ops   s3cret  \n").path()) == "s3cret");
  CHECK_THROWS_WITH(read_token_file(TempFile("\n# none\n").path()), Catch::Contains("holds no token"));
  CHECK(read_token_file(TempFile("ro s3cret-ro viewer\n").path()) == "s3cret-ro");
  CHECK_THROWS_AS(read_token_file(TempFile("a b c d\n").path()), UsageError);
  CHECK_THROWS_WITH(read_token_file("/nonexistent/token"), Catch::Contains("cannot read"));
}

TEST_CASE("json diff: changed leaves, meta left out", "[tgctl][diff]") {
  const std::string before =
      R"({"name": "r", "service": "a", "match": {"host": "x.test", "path_prefix": "/"}, "meta": {"revision": "3"}})";
  const std::string after =
      R"({"name": "r", "service": "b", "match": {"path_prefix": "/", "method": "GET"}, "meta": {"revision": "4"}})";
  CHECK(json_diff(before, after) == std::vector<std::string>{"match.host: x.test -> (none)",
                                                             "match.method: (none) -> GET",
                                                             "service: a -> b"});
  CHECK(json_diff(before, before).empty());
  CHECK(json_diff("", R"({"id": "t"})") == std::vector<std::string>{"id: (none) -> t"});
  CHECK(short_diff(before, after, 2) == "match.host: x.test -> (none); match.method: (none) -> GET (+1 more)");
  // an object that only moved in its file shows the move
  CHECK(short_diff(R"({"id": "t", "meta": {"source": {"line": 3}, "revision": "2"}})",
                   R"({"id": "t", "meta": {"source": {"line": 2}, "revision": "4"}})") ==
        "meta.source.line: 3 -> 2");
  CHECK(json_diff(R"({"on": [1, 2]})", R"({"on": [1, 3]})") ==
        std::vector<std::string>{"on: [1,2] -> [1,3]"});
}

TEST_CASE("json diff: lists of named objects element by element (credentials)", "[tgctl][diff]") {
  const std::string before =
      R"({"id": "acme", "credentials": [{"name": "ci", "kind": "KIND_API_KEY", "sha256": "n4bQgYhM"},
                                        {"name": "old", "kind": "KIND_INGEST", "sha256": "AAAAAAAA"}]})";
  const std::string after =
      R"({"id": "acme", "credentials": [{"name": "ci", "kind": "KIND_API_KEY", "sha256": "YDA64iuZ"},
                                        {"name": "pods", "kind": "KIND_INGEST", "sha256": "BBBBBBBB"}]})";
  CHECK(json_diff(before, after) == std::vector<std::string>{"credentials[ci].sha256: n4bQgYhM -> YDA64iuZ",
                                                             "credentials[old]: present -> (none)",
                                                             "credentials[pods]: (none) -> added"});
  CHECK(json_diff(R"({"id": "acme"})", R"({"id": "acme", "credentials": [{"name": "ci"}]})") ==
        std::vector<std::string>{"credentials[ci]: (none) -> added"});
  // Objects without names (health check ranges) stay one leaf.
  CHECK(json_diff(R"({"expect": [{"min": 200}]})", R"({"expect": [{"min": 201}]})") ==
        std::vector<std::string>{R"(expect: [{"min":200}] -> [{"min":201}])"});
}
