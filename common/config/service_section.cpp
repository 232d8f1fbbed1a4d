// One item of `services`: identity, load-balancing policy, hash key and
// instances. The tuning blocks are read by service_policies.cpp.
//
// hash_key is accepted with every policy (the example in docs/configuration.md sets one with
// least_request); only the policies for which uses_hash_key() is true read it.
//
// Instances are read after the rest of the service, so that an instance
// without an explicit id gets "<service>/<address>" whatever the key order.
#include "config/sections.hpp"

#include "config/rules.hpp"
#include "config/value_parsers.hpp"

namespace tg::config {
namespace {

std::vector<std::string> policy_names() {
  std::vector<std::string> names;
  for (LbPolicy policy : all_lb_policies) names.emplace_back(to_string(policy));
  return names;
}

void read_lb(Diagnostics& diagnostics, const Value& value, LbPolicy& out) {
  read_mapping(diagnostics, value, {
      {"policy", [&](const Value& policy) {
         auto text = read_string(diagnostics, policy);
         if (!text) return;
         if (auto known = lb_policy_from_string(*text)) {
           out = *known;
           return;
         }
         report(diagnostics, policy, unknown_choice("policy", *text, policy_names()));
       }},
  });
}

// An HTTP token for the header, kept case-sensitive for the cookie.
std::optional<std::string> read_token(Diagnostics& diagnostics, const Value& value, std::string_view what) {
  auto text = read_string(diagnostics, value);
  if (!text) return std::nullopt;
  if (auto problem = check_token(*text, what)) {
    report(diagnostics, value, *problem);
    return std::nullopt;
  }
  return text;
}

void read_hash_key(Diagnostics& diagnostics, const Value& value, HashKey& out) {
  int chosen = 0;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"header",
       [&](const Value& header) {
         ++chosen;
         if (auto name = read_token(diagnostics, header, "header name")) {
           out = HashKey{HashKey::Kind::header, to_lower_ascii(*name)};
         }
       }},
      {"cookie",
       [&](const Value& cookie) {
         ++chosen;
         if (auto name = read_token(diagnostics, cookie, "cookie name")) {
           out = HashKey{HashKey::Kind::cookie, *name};
         }
       }},
      {"client_ip",
       [&](const Value& client_ip) {
         ++chosen;
         if (read_true_flag(diagnostics, client_ip)) out = HashKey{HashKey::Kind::client_ip, {}};
       }},
  });
  if (!is_mapping) return;
  if (chosen == 0) report(diagnostics, value, "set exactly one of header, cookie or client_ip");
  if (chosen > 1) report(diagnostics, value, "set only one of header, cookie or client_ip");
}

void read_instance(Diagnostics& diagnostics, const Value& value, Service& service, ParsedConfig& parsed) {
  Instance instance;
  instance.location = value.location;
  std::optional<Value> id_value;
  std::optional<Value> address_value;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"id",
       [&](const Value& id) {
         if (auto name = read_name(diagnostics, id)) {
           instance.id = *name;
           id_value = id;
         }
       }},
      {"address",
       [&](const Value& address) {
         auto text = read_string(diagnostics, address);
         if (!text) return;
         if (auto problem = check_address(*text)) {
           report(diagnostics, address, "bad address \"" + *text + "\": " + *problem);
           return;
         }
         try_parse_address(*text, instance.host, instance.port);
         instance.address = *text;
         address_value = address;
       },
       Presence::required},
      {"weight",
       [&](const Value& weight) {
         if (auto number = read_integer(diagnostics, weight, range::weight)) {
           instance.weight = static_cast<std::uint32_t>(*number);
         }
       }},
      {"labels",
       [&](const Value& labels) {
         if (auto map = read_labels(diagnostics, labels)) instance.labels = std::move(*map);
       }},
  });
  if (!is_mapping) return;
  if (id_value) {
    parsed.instance_ids.push_back(NameUse{instance.id, id_value->location, id_value->path, false});
  } else if (address_value && !service.name.empty()) {
    instance.id = service.name + '/' + instance.address;
    parsed.instance_ids.push_back(NameUse{instance.id, address_value->location, value.path, true});
  }
  service.instances.push_back(std::move(instance));
}

}  // namespace

void read_service(Diagnostics& diagnostics, const Value& value, ParsedConfig& parsed) {
  Service service;
  service.location = value.location;
  std::optional<Value> instances_value;
  const bool is_mapping = read_mapping(diagnostics, value, {
      {"name",
       [&](const Value& name) {
         if (auto text = read_name(diagnostics, name)) {
           service.name = *text;
           parsed.service_names.push_back(NameUse{*text, name.location, name.path});
         }
       },
       Presence::required},
      {"tenant",
       [&](const Value& tenant) {
         if (auto text = read_name(diagnostics, tenant)) {
           service.tenant = *text;
           service.tenant_site = ReferenceSite{tenant.location, tenant.path};
           parsed.tenant_refs.push_back(NameUse{*text, tenant.location, tenant.path});
         }
       }},
      {"lb", [&](const Value& lb) { read_lb(diagnostics, lb, service.lb); }},
      {"hash_key", [&](const Value& hash_key) { read_hash_key(diagnostics, hash_key, service.hash_key); }},
      {"health_check",
       [&](const Value& health_check) {
         read_health_check(diagnostics, health_check, service.health_check.emplace());
       }},
      {"outlier", [&](const Value& outlier) { read_outlier(diagnostics, outlier, service.outlier.emplace()); }},
      {"retry", [&](const Value& retry) { read_retry(diagnostics, retry, service.retry); }},
      {"timeouts", [&](const Value& timeouts) { read_timeouts(diagnostics, timeouts, service.timeouts); }},
      {"limits", [&](const Value& limits) { read_limits(diagnostics, limits, service.limits); }},
      {"instances", [&](const Value& instances) { instances_value = instances; }},
  });
  if (!is_mapping) return;
  if (instances_value) {
    read_sequence(diagnostics, *instances_value,
                  [&](const Value& item) { read_instance(diagnostics, item, service, parsed); });
  }
  parsed.config.services.push_back(std::move(service));
}

}  // namespace tg::config
