// A Registry over a MemoryStore with a fake clock: every successful write's
// batch is committed to the store, as the owner loop would.
#pragma once

#include "fake_clock.hpp"
#include "registry/registry.hpp"
#include "store/memory_store.hpp"

#include <catch2/catch.hpp>

namespace tg::control::test {

namespace v1 = ::tenantgate::v1;

struct RegistryFixture {
  FakeClock clock;
  MemoryStore store;
  Registry registry{clock};
  WriteContext context{"tester", "Test"};

  template <class Request, class Response>
  Status write(Status (Registry::*op)(const Request&, const WriteContext&, Response*, CommitBatch*),
               const Request& request, Response* response = nullptr) {
    Response scratch;
    CommitBatch batch;
    Status status = (registry.*op)(request, context, response ? response : &scratch, &batch);
    if (status.ok()) {
      if (!batch.empty()) store.commit({batch});
    } else {
      CHECK(batch.empty());
    }
    return status;
  }

  Status tenant(const std::string& id) {
    v1::CreateTenantRequest request;
    request.mutable_tenant()->set_id(id);
    return write(&Registry::create_tenant, request);
  }
  Status service(const std::string& name, const std::string& tenant = {}) {
    v1::CreateServiceRequest request;
    request.mutable_service()->set_name(name);
    request.mutable_service()->set_tenant(tenant);
    return write(&Registry::create_service, request);
  }
  Status route(const std::string& name, const std::string& service, const std::string& host = {}) {
    v1::CreateRouteRequest request;
    request.mutable_route()->set_name(name);
    request.mutable_route()->set_service(service);
    request.mutable_route()->mutable_match()->set_host(host);
    return write(&Registry::create_route, request);
  }
  Status instance(const std::string& service, const std::string& address, std::uint64_t ttl_ms = 0,
                  v1::Instance* out = nullptr) {
    v1::RegisterInstanceRequest request;
    request.mutable_instance()->set_service(service);
    request.mutable_instance()->set_address(address);
    request.set_heartbeat_ttl_ms(ttl_ms);
    return write(&Registry::register_instance, request, out);
  }
  Status apply(const std::string& yaml, const std::string& file, v1::ApplyResponse* out = nullptr,
               bool prune = false, bool dry_run = false, bool take_ownership = false) {
    v1::ApplyRequest request;
    request.set_yaml(yaml);
    request.set_file_name(file);
    request.set_prune(prune);
    request.set_dry_run(dry_run);
    request.set_take_ownership(take_ownership);
    return write(&Registry::apply, request, out);
  }
};

}  // namespace tg::control::test
