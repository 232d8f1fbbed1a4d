// One message of the table stream, serialized once. The same update (a
// version's full table, a merged health update) goes to many proxies: every
// stream writes these same bytes (the gRPC side wraps them in a slice that
// holds the update alive; nothing is copied per stream).
#pragma once

#include "tenantgate/v1/discovery.pb.h"

#include <string>
#include <utility>

namespace tg::control {

class TableUpdate {
 public:
  explicit TableUpdate(::tenantgate::v1::StreamTableResponse message) : message_(std::move(message)) {
    message_.SerializeToString(&bytes_);
  }
  TableUpdate(const TableUpdate&) = delete;
  TableUpdate& operator=(const TableUpdate&) = delete;

  const ::tenantgate::v1::StreamTableResponse& message() const { return message_; }
  // The message on the wire.
  const std::string& bytes() const { return bytes_; }

 private:
  ::tenantgate::v1::StreamTableResponse message_;
  std::string bytes_;
};

}  // namespace tg::control
