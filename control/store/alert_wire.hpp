// get_alert's assembly without parsing the stored bodies: in the protobuf
// wire format a serialized message followed by more encoded fields is the
// message with those fields merged in (repeated fields appended), so an
// episode's body plus its transitions (Alert field 18) and deliveries (field
// 19), each delivery with its attempts (Delivery field 8), is the whole
// v1::Alert. Both stores use it, so they answer byte for byte alike.
#pragma once

#include <cstdint>
#include <string>

namespace tg::control {

inline constexpr int alert_transitions_field = 18;  // v1::Alert.transitions
inline constexpr int alert_deliveries_field = 19;   // v1::Alert.deliveries
inline constexpr int delivery_attempts_field = 8;   // v1::Delivery.attempts

// Appends `value` to `out` as a length-delimited field number `field`.
inline void append_message_field(std::string& out, int field, const std::string& value) {
  auto varint = [&out](std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint((static_cast<std::uint64_t>(field) << 3) | 2);  // wire type 2: length-delimited
  varint(value.size());
  out += value;
}

}  // namespace tg::control
