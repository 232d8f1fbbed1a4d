// tgctl `-o json` output read back into the proto message it prints.
#pragma once

#include "control/support/tgctl_run.hpp"

#include <google/protobuf/util/json_util.h>

#include <stdexcept>

namespace tg::itest {

// Throws (with the whole run described) unless the run exited 0 and printed
// JSON of type T.
template <class T>
T json_as(const TgctlResult& result) {
  if (result.exit_code != 0) throw std::runtime_error("tgctl failed:\n" + result.describe());
  T message;
  const auto status = google::protobuf::util::JsonStringToMessage(result.out, &message);
  if (!status.ok()) {
    throw std::runtime_error("tgctl output is not a " + message.GetDescriptor()->name() + ": " +
                             std::string(status.message()) + "\n" + result.describe());
  }
  return message;
}

}  // namespace tg::itest
