// The size limits of registry objects (validate.hpp, size_limits): beyond
// each, INVALID_ARGUMENT naming the field, and never the whole value echoed.
#include "config/loader.hpp"
#include "fake_clock.hpp"
#include "registry/registry.hpp"
#include "registry/validate.hpp"

#include <catch2/catch.hpp>

namespace tg::control {
namespace {

namespace v1 = ::tenantgate::v1;

std::string refusal(const Status& status) {
  CHECK(status.code == Code::invalid_argument);
  CHECK(status.message.size() < 300);  // names the field, does not echo the value
  return status.message;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

TEST_CASE("size limits: label values, label names and label counts", "[validate][limits]") {
  v1::Tenant tenant;
  tenant.set_id("acme");
  (*tenant.mutable_labels())["team"] = std::string(size_limits::label_value, 'x');
  CHECK(normalise_tenant(tenant).ok());
  (*tenant.mutable_labels())["team"] = std::string(20 * 1024 * 1024, 'x');  // 20 MB
  CHECK(starts_with(refusal(normalise_tenant(tenant)), "tenant.labels[team]: 20971520 bytes; at most 1024"));
  tenant.mutable_labels()->clear();
  (*tenant.mutable_labels())[std::string(100'000, 'k')] = "v";
  CHECK(starts_with(refusal(normalise_tenant(tenant)), "tenant.labels: label name \""));
  tenant.mutable_labels()->clear();
  for (std::size_t i = 0; i <= size_limits::labels; ++i) (*tenant.mutable_labels())["k" + std::to_string(i)] = "v";
  CHECK(refusal(normalise_tenant(tenant)) == "tenant.labels: 65 labels; at most 64");

  v1::Instance instance;
  instance.set_service("api");
  instance.set_address("127.0.0.1:80");
  (*instance.mutable_labels())["zone"] = std::string(size_limits::label_value + 1, 'z');
  CHECK(starts_with(refusal(normalise_instance(instance)), "instance.labels[zone]: 1025 bytes"));
}

TEST_CASE("size limits: names, addresses, hosts, paths, methods and headers", "[validate][limits]") {
  v1::Service service;
  service.set_name(std::string(size_limits::name + 1, 's'));
  CHECK(starts_with(refusal(normalise_service(service)), "service.name: 129 bytes; at most 128"));
  service.set_name("api");
  service.mutable_health_check()->set_path("/" + std::string(size_limits::path, 'p'));
  CHECK(starts_with(refusal(normalise_service(service)), "service.health_check.path: 2049 bytes"));
  service.clear_health_check();
  service.mutable_hash_key()->set_kind(v1::HashKey::KIND_HEADER);
  service.mutable_hash_key()->set_name(std::string(size_limits::header_name + 1, 'h'));
  CHECK(starts_with(refusal(normalise_service(service)), "service.hash_key.name: 257 bytes"));

  v1::Instance instance;
  instance.set_service("api");
  instance.set_address(std::string(size_limits::address + 1, '1'));
  CHECK(starts_with(refusal(normalise_instance(instance)), "instance.address: 301 bytes"));

  auto route = [] {
    v1::Route r;
    r.set_name("r");
    r.set_service("api");
    return r;
  };
  v1::Route r = route();
  r.mutable_match()->set_host(std::string(size_limits::host + 1, 'a'));
  CHECK(starts_with(refusal(normalise_route(r)), "route.match.host: 256 bytes"));
  r = route();
  r.mutable_match()->set_path_prefix("/" + std::string(size_limits::path, 'p'));
  CHECK(starts_with(refusal(normalise_route(r)), "route.match.path_prefix: 2049 bytes"));
  r = route();
  r.mutable_match()->set_method(std::string(size_limits::method + 1, 'G'));
  CHECK(starts_with(refusal(normalise_route(r)), "route.match.method: 33 bytes"));
  r = route();
  r.mutable_match()->mutable_header()->set_name("x-tenant");
  r.mutable_match()->mutable_header()->set_value(std::string(size_limits::header_value + 1, 'v'));
  CHECK(starts_with(refusal(normalise_route(r)), "route.match.header.value: 4097 bytes"));
  r = route();
  r.mutable_rewrite()->set_strip_prefix("/" + std::string(size_limits::path, 'p'));
  CHECK(starts_with(refusal(normalise_route(r)), "route.rewrite.strip_prefix: 2049 bytes"));
}

TEST_CASE("size limits: Apply checks its file name and its size before parsing", "[validate][limits]") {
  v1::ApplyRequest request;
  request.set_yaml("tenants:\n  - id: acme\n");
  request.set_file_name(std::string(size_limits::file_name + 1, 'f'));
  config::LoadResult parsed;
  CHECK(starts_with(refusal(Registry::parse_apply(request, &parsed)), "file_name: 1025 bytes"));
  request.set_file_name("acme.yaml");
  request.set_yaml(std::string(size_limits::apply_yaml + 1, '#'));
  CHECK(starts_with(refusal(Registry::parse_apply(request, &parsed)), "yaml: 4194305 bytes"));
}

TEST_CASE("size limits: a CreateTenant with a huge label is refused and changes nothing", "[validate][limits]") {
  test::FakeClock clock;
  Registry registry(clock);
  v1::CreateTenantRequest request;
  request.mutable_tenant()->set_id("acme");
  (*request.mutable_tenant()->mutable_labels())["blob"] = std::string(20 * 1024 * 1024, 'b');  // 20 MB
  v1::Tenant out;
  CommitBatch batch;
  CHECK(starts_with(refusal(registry.create_tenant(request, WriteContext{"t", "CreateTenant"}, &out, &batch)),
                    "tenant.labels[blob]: "));
  CHECK(batch.empty());
  CHECK(registry.tenants().empty());
}

TEST_CASE("size limits: one table lists every limit", "[validate][limits]") {
  for (const SizeLimit& limit : all_size_limits) {
    CHECK_FALSE(limit.name.empty());
    CHECK(limit.max > 0);
  }
  CHECK(Registry::max_apply_bytes == size_limits::apply_yaml);
}

}  // namespace
}  // namespace tg::control
