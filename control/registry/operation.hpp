// Helpers shared by the registry's operation files (internal).
#pragma once

#include "registry/transaction.hpp"

#include "text/quoted.hpp"

namespace tg::control::detail {

using tg::quoted;

inline void set_api_source(v1::Meta* meta) {
  meta->clear_source();
  meta->mutable_source()->set_kind(v1::Source::KIND_API);
}

// Checks the transaction, commits it into `batch`. The caller reads the
// committed object from the registry afterwards.
inline Status finish(Transaction& tx, CommitBatch* batch) {
  if (Status status = tx.check(); !status.ok()) return status;
  *batch = tx.commit();
  return {};
}

}  // namespace tg::control::detail
