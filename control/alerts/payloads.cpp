// What a notification says (dispatcher.hpp): the delivery id, the webhook and
// Alertmanager bodies, and the Standard Webhooks signature. Pure functions:
// the same job gives the same bytes, so a retry sends the same body.
#include "alerts/dispatcher.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>

namespace tg::control::alerts {

namespace json = boost::json;

namespace {

// What Go's zero time.Time marshals to: Alertmanager's endsAt of an alert
// still firing in its webhook payloads.
constexpr const char* zero_time = "0001-01-01T00:00:00Z";

// RFC 3339 in UTC with milliseconds ("2026-12-03T20:28:03.123Z").
std::string rfc3339(std::int64_t unix_ms) {
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[80];  // ample for any int fields (the compiler checks the worst case)
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return text;
}

// Sorted, so a body does not depend on the protobuf map's order and a retry
// sends the same bytes.
template <class Map>
json::object sorted_object(const Map& map, bool drop_empty) {
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  json::object object;
  for (const auto& [key, value] : sorted)
    if (!drop_empty || !value.empty()) object[key] = value;
  return object;
}

bool resolved(const DeliveryJob& job) { return job.state == v1::Alert::STATE_RESOLVED; }

std::int64_t starts_at(const v1::Alert& alert) {
  return alert.firing_since_unix_ms() != 0 ? alert.firing_since_unix_ms() : alert.active_since_unix_ms();
}

// A resolved job whose snapshot carries no end (it should) ends when the
// delivery was created: never "still firing" in a resolved notification.
std::int64_t ends_at(const DeliveryJob& job) {
  return job.alert.resolved_unix_ms() != 0 ? job.alert.resolved_unix_ms() : job.created_unix_ms;
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string generator_url(const DeliveryJob& job, const std::string& external_url) {
  return trim_slash(external_url) + "/v1/alerts/" + std::to_string(job.alert.id());
}

// Alertmanager's group key of a route-less group: "{}:{a=\"1\", b=\"2\"}".
std::string group_key(const json::object& labels) {
  std::string key = "{}:{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) key += ", ";
    first = false;
    key.append(name.data(), name.size());
    key += "=\"";
    for (char c : value.as_string()) {
      if (c == '"' || c == '\\') key += '\\';
      key += c;
    }
    key += '"';
  }
  return key + "}";
}

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// Standard base64 with padding; nullopt-like false when malformed.
bool base64_decode(const std::string& text, std::string& out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  std::string decoded(text.size() / 4 * 3, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (written < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t size = static_cast<std::size_t>(written);
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with("=")) {
    size -= 1;
  }
  decoded.resize(size);
  out = std::move(decoded);
  return true;
}

}  // namespace

std::string delivery_id(const std::string& notifier, const std::string& fingerprint, std::int64_t episode_start_unix_ms,
                        v1::Alert::State state, std::uint32_t repeat) {
  // NUL-separated: no two keys serialise alike (names carry no NUL).
  std::string key = notifier;
  key += '\0';
  key += fingerprint;
  key += '\0';
  key += std::to_string(episode_start_unix_ms);
  key += '\0';
  key += std::to_string(static_cast<int>(state));
  key += '\0';
  key += std::to_string(repeat);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return "msg_" + hex(digest, 16);
}

std::string webhook_body(const DeliveryJob& job, const std::string& external_url) {
  const std::string status = resolved(job) ? "resolved" : "firing";
  json::object labels = sorted_object(job.alert.labels(), false);
  json::object annotations = sorted_object(job.alert.annotations(), false);

  json::object alert;
  alert["status"] = status;
  alert["labels"] = labels;
  alert["annotations"] = annotations;
  alert["startsAt"] = rfc3339(starts_at(job.alert));
  alert["endsAt"] = resolved(job) ? rfc3339(ends_at(job)) : zero_time;
  alert["generatorURL"] = generator_url(job, external_url);
  alert["fingerprint"] = job.alert.fingerprint();

  // One alert per notification: the alert is its own group, so the group's
  // and the common labels are the alert's.
  json::object body;
  body["version"] = "4";
  body["groupKey"] = group_key(labels);
  body["truncatedAlerts"] = 0;
  body["status"] = status;
  body["receiver"] = job.notifier.name();
  body["groupLabels"] = labels;
  body["commonLabels"] = labels;
  body["commonAnnotations"] = annotations;
  body["externalURL"] = trim_slash(external_url);
  body["alerts"] = json::array{std::move(alert)};
  body["tenant"] = job.alert.tenant();
  body["ackURL"] = job.ack_url;
  return json::serialize(body);
}

std::string alertmanager_body(const DeliveryJob& job, const std::string& external_url) {
  json::object alert;
  // Alertmanager treats an empty label value as an absent label.
  alert["labels"] = sorted_object(job.alert.labels(), true);
  json::object annotations = sorted_object(job.alert.annotations(), false);
  // Alertmanager's own receivers have no other way to offer the link.
  if (!job.ack_url.empty()) annotations["ackURL"] = job.ack_url;
  alert["annotations"] = std::move(annotations);
  alert["startsAt"] = rfc3339(starts_at(job.alert));
  // While firing no endsAt: Alertmanager then holds the alert for its
  // resolve_timeout, and the notifier re-posts well within it.
  if (resolved(job)) alert["endsAt"] = rfc3339(ends_at(job));
  alert["generatorURL"] = generator_url(job, external_url);
  return json::serialize(json::array{std::move(alert)});
}

std::string webhook_signature(const std::string& secret, const std::string& id, std::int64_t timestamp_s,
                              const std::string& body) {
  // A "whsec_" secret that is not base64 is taken as bytes, like any other
  // text: signed either way, and the same key the receiver was given.
  std::string key = secret;
  if (secret.starts_with("whsec_") && !base64_decode(secret.substr(6), key)) key = secret;
  const std::string content = id + "." + std::to_string(timestamp_s) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
            content.size(), mac, &mac_size))
    throw std::runtime_error("HMAC-SHA256 failed");
  return "v1," + base64(mac, mac_size);
}

}  // namespace tg::control::alerts
