// The field masks of the Patch calls (admin.proto, "Field masks of the Patch
// calls"): one rule for tenants, services and instances.
#pragma once

#include "status.hpp"

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>

#include <string>
#include <vector>

namespace tg::control {

// Copies each masked field of `from` into `to` (`to` is the stored object,
// `from` the request's). `maskable` lists the top-level fields a path may
// start with; a path may go on into a message field ("timeouts.connect_ms").
// A field named "labels" (a string map) also takes "labels.KEY" paths: those
// keys are returned in `label_keys` for the caller to set or erase, since a
// map entry is no field. Every path is checked before anything changes: an
// empty mask or a path that is unknown, not maskable, or goes through a
// non-message field is INVALID_ARGUMENT naming "update_mask" and the path.
Status apply_field_mask(const google::protobuf::FieldMask& mask, const google::protobuf::Message& from,
                        google::protobuf::Message& to, const std::vector<std::string>& maskable,
                        std::vector<std::string>* label_keys = nullptr);

// Sets or erases (when `from` lacks it) each of `keys` in `to`.
template <class Map>
void apply_label_keys(const std::vector<std::string>& keys, const Map& from, Map& to) {
  for (const std::string& key : keys) {
    if (auto it = from.find(key); it != from.end()) {
      to[key] = it->second;
    } else {
      to.erase(key);
    }
  }
}

}  // namespace tg::control
