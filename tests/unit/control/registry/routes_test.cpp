// PatchRoute field masks.
#include "registry_fixture.hpp"

namespace tg::control {
namespace {

using test::RegistryFixture;

v1::PatchRouteRequest patch(const std::vector<std::string>& paths) {
  v1::PatchRouteRequest request;
  request.mutable_route()->set_name("r");
  for (const auto& path : paths) request.mutable_update_mask()->add_paths(path);
  return request;
}

TEST_CASE("routes: patch changes only the masked fields", "[routes][patch]") {
  RegistryFixture f;
  REQUIRE(f.service("a").ok());
  REQUIRE(f.service("b").ok());
  REQUIRE(f.route("r", "a", "one.example.com").ok());

  auto request = patch({"match.host"});
  request.mutable_route()->mutable_match()->set_host("TWO.example.com");
  request.mutable_route()->set_service("b");  // not in the mask: ignored
  v1::Route out;
  REQUIRE(f.write(&Registry::patch_route, request, &out).ok());
  CHECK(out.match().host() == "two.example.com");
  CHECK(out.service() == "a");
  CHECK(out.match().path_prefix() == "/");

  request = patch({"service", "match.path_exact"});
  request.mutable_route()->set_service("b");
  request.mutable_route()->mutable_match()->set_path_exact("/exact");
  REQUIRE(f.write(&Registry::patch_route, request, &out).ok());
  CHECK(out.service() == "b");
  CHECK(out.match().path_exact() == "/exact");
  CHECK(out.match().path_prefix().empty());  // switched form
  CHECK(out.match().host() == "two.example.com");

  request = patch({"match.header", "rewrite.strip_prefix"});
  request.mutable_route()->mutable_match()->mutable_header()->set_name("X-Team");
  request.mutable_route()->mutable_match()->mutable_header()->set_value("blue");
  request.mutable_route()->mutable_rewrite()->set_strip_prefix("/api");
  REQUIRE(f.write(&Registry::patch_route, request, &out).ok());
  CHECK(out.match().header().name() == "x-team");
  CHECK(out.rewrite().strip_prefix() == "/api");

  request = patch({"match.header", "rewrite"});  // absent in the request: cleared
  REQUIRE(f.write(&Registry::patch_route, request, &out).ok());
  CHECK_FALSE(out.match().has_header());
  CHECK_FALSE(out.has_rewrite());

  request = patch({"match"});
  REQUIRE(f.write(&Registry::patch_route, request, &out).ok());
  CHECK(out.match().host().empty());
  CHECK(out.match().path_prefix() == "/");
}

TEST_CASE("routes: patch errors", "[routes][patch]") {
  RegistryFixture f;
  REQUIRE(f.service("a").ok());
  REQUIRE(f.route("r", "a").ok());
  CHECK(f.write(&Registry::patch_route, patch({})).code == Code::invalid_argument);
  const Status unknown = f.write(&Registry::patch_route, patch({"match.hots"}));
  CHECK(unknown.code == Code::invalid_argument);
  CHECK(unknown.message.rfind("update_mask: unknown path \"match.hots\"", 0) == 0);
  auto bad_host = patch({"match.host"});
  bad_host.mutable_route()->mutable_match()->set_host("bad host");
  CHECK(f.write(&Registry::patch_route, bad_host).message.rfind("route.match.host: ", 0) == 0);
  auto missing_service = patch({"service"});
  missing_service.mutable_route()->set_service("zzz");
  CHECK(f.write(&Registry::patch_route, missing_service).code == Code::not_found);
  auto other = patch({"service"});
  other.mutable_route()->set_name("nope");
  CHECK(f.write(&Registry::patch_route, other).code == Code::not_found);
  CHECK(f.registry.routes().at("r").meta().revision() == 2);  // untouched by the failures
}

}  // namespace
}  // namespace tg::control
