// The envelope rules a proxy applies to each pushed update
// (proxy/subscription/update_check.cpp): its registry or an adopted one, never a
// version of its registry that is not newer, health only on the version it
// serves, a full table whose bytes match its digest.
#include "subscription/update_check.hpp"

#include "table/table_digest.hpp"

#include <catch2/catch.hpp>

using tg::TableVersion;
using tg::proxy::subscription::check_update;
using tg::proxy::subscription::Refusal;
using tg::proxy::subscription::ServedTable;
namespace v1 = tenantgate::v1;

namespace {

constexpr const char* kOwn = "aaaa0000aaaa0000aaaa0000aaaa0000";
constexpr const char* kOther = "bbbb1111bbbb1111bbbb1111bbbb1111";

v1::StreamTableResponse full(const char* registry, TableVersion version) {
  v1::Table table;
  table.add_tenants()->set_id("acme");
  table.add_services()->set_name("api");
  v1::StreamTableResponse update;
  update.mutable_version()->set_generation(version.generation);
  update.mutable_version()->set_counter(version.counter);
  update.set_config(table.SerializeAsString());
  update.set_kind(v1::UPDATE_KIND_FULL);
  update.set_registry_id(registry);
  update.set_digest(*tg::table::table_digest(update.config()));
  return update;
}

v1::StreamTableResponse health(const char* registry, TableVersion version, TableVersion base) {
  v1::StreamTableResponse update;
  update.mutable_version()->set_generation(version.generation);
  update.mutable_version()->set_counter(version.counter);
  update.mutable_base_version()->set_generation(base.generation);
  update.mutable_base_version()->set_counter(base.counter);
  update.mutable_health()->add_instances()->set_id("api-1");
  update.set_kind(v1::UPDATE_KIND_HEALTH);
  update.set_registry_id(registry);
  return update;
}

const ServedTable serving{kOwn, {2, 2}, 42};

}  // namespace

TEST_CASE("update check: a proxy with no pushed table takes any registry's full table", "[proxy][control][registry]") {
  CHECK(check_update(ServedTable{}, full(kOwn, {1, 1})).refusal == Refusal::none);
  CHECK(check_update(ServedTable{}, full(kOther, {1, 1})).refusal == Refusal::none);
}

TEST_CASE("update check: a table of another registry is refused unless adopted", "[proxy][control][registry]") {
  // tg-control started on an empty database: registry kOther, version 1.1.
  const auto refused = check_update(serving, full(kOther, {1, 1}));
  CHECK(refused.refusal == Refusal::foreign_registry);
  CHECK_THAT(refused.reason, Catch::Contains(std::string("tgctl registry adopt ") + kOwn));
  CHECK_THAT(refused.reason, Catch::Contains(kOther));
  auto adopted = full(kOther, {1, 2});
  adopted.add_adopted_registry_ids("unrelated");
  CHECK(check_update(serving, adopted).refusal == Refusal::foreign_registry);
  adopted.add_adopted_registry_ids(kOwn);
  CHECK(check_update(serving, adopted).refusal == Refusal::none);
}

TEST_CASE("update check: a version of the served registry must be newer", "[proxy][control][registry]") {
  CHECK(check_update(serving, full(kOwn, {2, 3})).refusal == Refusal::none);
  CHECK(check_update(serving, full(kOwn, {3, 1})).refusal == Refusal::none);
  const auto older = check_update(serving, full(kOwn, {2, 1}));
  CHECK(older.refusal == Refusal::not_newer);
  CHECK_THAT(older.reason, Catch::Contains("--accept-restore"));
  CHECK(check_update(serving, full(kOwn, {1, 9})).refusal == Refusal::not_newer);
  CHECK(check_update(serving, full(kOwn, {2, 2})).refusal == Refusal::not_newer);
}

TEST_CASE("update check: a health update applies only on the version served", "[proxy][control][registry]") {
  CHECK(check_update(serving, health(kOwn, {2, 3}, {2, 2})).refusal == Refusal::none);
  CHECK(check_update(serving, health(kOwn, {2, 4}, {2, 3})).refusal == Refusal::base_mismatch);
  CHECK(check_update(ServedTable{}, health(kOwn, {2, 3}, {2, 2})).refusal == Refusal::base_mismatch);
  auto adopted = health(kOther, {5, 2}, {2, 2});
  adopted.add_adopted_registry_ids(kOwn);
  CHECK(check_update(serving, adopted).refusal == Refusal::base_mismatch);  // a health update needs the registry
}

TEST_CASE("update check: damaged or malformed updates are refused", "[proxy][control][registry]") {
  auto damaged = full(kOwn, {2, 3});
  damaged.set_digest(damaged.digest() + 1);
  CHECK(check_update(serving, damaged).refusal == Refusal::digest_mismatch);
  auto truncated = full(kOwn, {2, 3});
  truncated.set_config(truncated.config().substr(0, truncated.config().size() - 1));
  CHECK(check_update(serving, truncated).refusal == Refusal::digest_mismatch);
  auto anonymous = full(kOwn, {2, 3});
  anonymous.clear_registry_id();
  CHECK(check_update(serving, anonymous).refusal == Refusal::malformed);
  auto quoted = full("bad\"id", {2, 3});
  CHECK(check_update(ServedTable{}, quoted).refusal == Refusal::malformed);
  auto mislabelled = full(kOwn, {2, 3});
  mislabelled.set_kind(v1::UPDATE_KIND_HEALTH);
  CHECK(check_update(serving, mislabelled).refusal == Refusal::malformed);
}
