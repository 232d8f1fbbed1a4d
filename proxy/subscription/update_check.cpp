#include "subscription/update_check.hpp"

#include "table/table_digest.hpp"
#include "table/table_version.hpp"
#include "text/node_id.hpp"

#include <algorithm>

namespace tg::proxy::subscription {
namespace {

namespace v1 = tenantgate::v1;

bool older_or_equal(const TableVersion& a, const TableVersion& b) { return a <= b; }

UpdateCheck refuse(Refusal refusal, std::string reason) { return {refusal, std::move(reason)}; }

}  // namespace

const char* refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::none: return "none";
    case Refusal::malformed: return "malformed";
    case Refusal::foreign_registry: return "foreign_registry";
    case Refusal::not_newer: return "not_newer";
    case Refusal::base_mismatch: return "base_mismatch";
    case Refusal::digest_mismatch: return "digest_mismatch";
    case Refusal::invalid: return "invalid";
  }
  return "?";
}

UpdateCheck check_update(const ServedTable& served, const v1::StreamTableResponse& update) {
  const TableVersion version = table::from_proto(update.version());
  const bool full = update.update_case() == v1::StreamTableResponse::kConfig;
  const bool health = update.update_case() == v1::StreamTableResponse::kHealth;
  const bool delta = update.update_case() == v1::StreamTableResponse::kDelta;
  if (update.registry_id().empty())
    return refuse(Refusal::malformed, "update " + tg::to_string(version) + " names no registry (tg-control too old?)");
  if (!tg::valid_node_id(update.registry_id()))  // registry ids use the node-id alphabet
    return refuse(Refusal::malformed, "update " + tg::to_string(version) + ": bad registry id");
  if ((full && update.kind() != v1::UPDATE_KIND_FULL) || (health && update.kind() != v1::UPDATE_KIND_HEALTH) ||
      (delta && update.kind() != v1::UPDATE_KIND_DELTA))
    return refuse(Refusal::malformed, "update " + tg::to_string(version) + ": its kind does not match its payload");

  const bool same_registry = update.registry_id() == served.registry_id;
  const bool adopted = std::find(update.adopted_registry_ids().begin(), update.adopted_registry_ids().end(),
                                 served.registry_id) != update.adopted_registry_ids().end();
  if (!served.registry_id.empty() && !same_registry && !adopted)
    return refuse(Refusal::foreign_registry,
                  "table " + tg::to_string(version) + " is of registry " + update.registry_id() +
                      ", but this proxy serves registry " + served.registry_id + " (version " + tg::to_string(served.version) +
                      "): is tg-control running on another database? Keeping the current table; if the change is "
                      "intended, run `tgctl registry adopt " + served.registry_id + "` against that tg-control");
  if (same_registry && !served.version.empty() && older_or_equal(version, served.version))
    return refuse(Refusal::not_newer,
                  "version " + tg::to_string(version) + " is not newer than the version served (" + tg::to_string(served.version) +
                      ") of the same registry: tg-control's database is older than the fleet (restored from a "
                      "backup?). Keeping the current table; start tg-control with --accept-restore if the restore "
                      "is intended");
  if (health || delta) {
    const TableVersion base = table::from_proto(update.base_version());
    if (!same_registry || served.version.empty() || !(base == served.version))
      return refuse(Refusal::base_mismatch, std::string(health ? "health" : "delta") + " update " +
                                                tg::to_string(version) + " applies on " + tg::to_string(base) +
                                                ", but this proxy serves " +
                                                (served.version.empty() ? std::string("no pushed table")
                                                                        : tg::to_string(served.version)));
  }
  if (full) {
    const auto digest = table::table_digest(update.config());
    if (!digest || *digest != update.digest())
      return refuse(Refusal::digest_mismatch, "table " + tg::to_string(version) + ": its bytes do not match its digest " +
                                                  table::digest_text(update.digest()) + " (damaged in transit?)");
  }
  return {};
}

}  // namespace tg::proxy::subscription
