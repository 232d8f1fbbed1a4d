// Table output, one layout per noun. Columns hold what an operator scans
// for; every field is in -o yaml / -o json.
#include "tgctl/apply_diff.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/render.hpp"
#include "tgctl/render_metrics.hpp"
#include "tgctl/table.hpp"
#include "tgctl/yaml_output.hpp"

#include "table/table_version.hpp"
#include "tenantgate/v1/admin.pb.h"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

// "api", "file:conf/a.yaml:12", "apply:site.yaml"; "-" when unknown.
std::string source_text(const v1::Meta& meta) {
  const v1::Source& source = meta.source();
  switch (source.kind()) {
    case v1::Source::KIND_API:
      return "api";
    case v1::Source::KIND_CONFIG_FILE:
      return "file:" + source.file() + (source.line() > 0 ? ":" + std::to_string(source.line()) : "");
    case v1::Source::KIND_APPLY:
      return "apply:" + source.file();
    default:
      return "-";
  }
}

std::string labels_text(const google::protobuf::Map<std::string, std::string>& labels) {
  const std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  std::string text;
  for (const auto& [key, value] : sorted) {
    if (!text.empty()) text += ",";
    text += key + "=" + value;
  }
  return or_dash(text);
}

void tenant_tables(const google::protobuf::RepeatedPtrField<v1::Tenant>& tenants, std::ostream& out) {
  Table table({"ID", "LABELS", "SOURCE", "REVISION"});
  for (const v1::Tenant& t : tenants) {
    table.add_row({t.id(), labels_text(t.labels()), source_text(t.meta()),
                   std::to_string(t.meta().revision())});
  }
  table.write(out);
}

std::string hash_key_text(const v1::Service& s) {
  if (!s.has_hash_key()) return "-";
  switch (s.hash_key().kind()) {
    case v1::HashKey::KIND_HEADER: return "header:" + s.hash_key().name();
    case v1::HashKey::KIND_COOKIE: return "cookie:" + s.hash_key().name();
    default: return "client_ip";
  }
}

std::string health_check_text(const v1::Service& s) {
  if (!s.has_health_check()) return "-";
  const v1::HealthCheck& h = s.health_check();
  std::string text = h.type() == v1::HealthCheck::TYPE_TCP ? "tcp" : "http " + (h.path().empty() ? std::string("/healthz") : h.path());
  if (h.interval_ms() > 0) text += " every " + format_duration_ms(h.interval_ms());
  return text;
}

void service_tables(const google::protobuf::RepeatedPtrField<v1::Service>& services,
                    std::ostream& out) {
  Table table({"NAME", "TENANT", "LB", "HASH KEY", "HEALTH CHECK", "SOURCE"});
  for (const v1::Service& s : services) {
    table.add_row({s.name(), or_dash(s.tenant()),
                   s.lb_policy() == v1::LB_POLICY_UNSPECIFIED
                       ? "round_robin"
                       : enum_short_name(*v1::LbPolicy_descriptor(), "LB_POLICY_", s.lb_policy()),
                   hash_key_text(s), health_check_text(s), source_text(s.meta())});
  }
  table.write(out);
}

void instance_tables(const google::protobuf::RepeatedPtrField<v1::Instance>& instances,
                     std::ostream& out) {
  Table table({"ID", "SERVICE", "ADDRESS", "WEIGHT", "STATE", "HEALTH", "REASON", "SINCE", "TTL",
               "LAST HEARTBEAT", "SOURCE"});
  for (const v1::Instance& i : instances) {
    table.add_row({i.id(), i.service(), i.address(), std::to_string(i.weight()),
                   enum_short_name(*v1::AdminState_descriptor(), "ADMIN_STATE_", i.admin_state()),
                   enum_short_name(*v1::Health_descriptor(), "HEALTH_", i.health()),
                   or_dash(i.health_reason()), format_time_unix_ms(i.health_changed_unix_ms()),
                   i.heartbeat_ttl_ms() == 0 ? "-" : format_duration_ms(i.heartbeat_ttl_ms()),
                   format_time_unix_ms(i.last_heartbeat_unix_ms()), source_text(i.meta())});
  }
  table.write(out);
}

std::string path_text(const v1::RouteMatch& m) {
  if (!m.path_exact().empty()) return "=" + m.path_exact();
  return m.path_prefix().empty() ? "/" : m.path_prefix() + "*";
}

void route_tables(const google::protobuf::RepeatedPtrField<v1::Route>& routes, std::ostream& out) {
  Table table({"NAME", "HOST", "PATH", "METHOD", "HEADER", "SERVICE", "REWRITE", "SOURCE"});
  for (const v1::Route& r : routes) {
    const v1::RouteMatch& m = r.match();
    table.add_row({r.name(), m.host().empty() ? "*" : m.host(), path_text(m), or_dash(m.method()),
                   m.has_header() ? m.header().name() + "=" + m.header().value() : "-",
                   r.service(),
                   r.rewrite().strip_prefix().empty() ? "-" : "strip " + r.rewrite().strip_prefix(),
                   source_text(r.meta())});
  }
  table.write(out);
}

const char* credential_kind_text(v1::Credential::Kind kind) {
  switch (kind) {
    case v1::Credential::KIND_API_KEY: return "api_key";
    case v1::Credential::KIND_INGEST: return "ingest";
    default: return "?";
  }
}

// The secret on a line of its own (easy to cut out), then the warning.
void created_credential(const Command& command, const v1::CreateCredentialResponse& response, std::ostream& out) {
  out << "Created " << credential_kind_text(response.credential().kind()) << " " << command.subject << " (revision "
      << response.revision() << "). Its secret:\n"
      << response.secret() << "\n"
      << "Store it now: it will not be shown again (tg-control keeps only its SHA-256).\n";
}

void credential_table(const v1::ListCredentialsResponse& response, std::ostream& out) {
  Table table({"NAME", "KIND", "CREATED"});
  for (const v1::Credential& c : response.credentials())
    table.add_row({c.name(), credential_kind_text(c.kind()), format_time_unix_ms(c.created_unix_ms())});
  table.write(out);
}

template <class T>
google::protobuf::RepeatedPtrField<T> one(const google::protobuf::Message& message) {
  google::protobuf::RepeatedPtrField<T> list;
  *list.Add() = static_cast<const T&>(message);
  return list;
}

const char* action_text(v1::Change::Action action) {
  switch (action) {
    case v1::Change::ACTION_CREATE: return "create";
    case v1::Change::ACTION_UPDATE: return "update";
    case v1::Change::ACTION_DELETE: return "delete";
    case v1::Change::ACTION_UNCHANGED: return "unchanged";
    default: return "?";
  }
}

void apply_table(const Command& command, const v1::ApplyResponse& response, std::ostream& out) {
  Table table({"ACTION", "KIND", "NAME", "CHANGES"});
  std::map<v1::Change::Action, int> counts;
  for (const v1::Change& c : response.changes()) {
    ++counts[c.action()];
    std::string changes =
        c.action() == v1::Change::ACTION_UPDATE ? short_diff(c.before_json(), c.after_json()) : "";
    table.add_row({action_text(c.action()), c.kind(), c.name(), std::move(changes)});
  }
  table.write(out);
  out << counts[v1::Change::ACTION_CREATE] << " to create, " << counts[v1::Change::ACTION_UPDATE]
      << " to update, " << counts[v1::Change::ACTION_DELETE] << " to delete, "
      << counts[v1::Change::ACTION_UNCHANGED] << " unchanged.\n";
  const auto* request = dynamic_cast<const v1::ApplyRequest*>(command.request.get());
  if (!response.committed() || (request != nullptr && request->dry_run())) {
    out << "Dry run: nothing was committed.\n";
  } else {
    out << "Committed (revision " << response.revision() << ").\n";
  }
}

void audit_table(const v1::ListAuditResponse& response, std::ostream& out) {
  Table table({"ID", "TIME", "ACTOR", "METHOD", "KIND", "NAME", "CHANGES"});
  for (const v1::AuditEntry& e : response.entries()) {
    std::string changes = e.before_json().empty()  ? "created"
                          : e.after_json().empty() ? "deleted"
                                                   : short_diff(e.before_json(), e.after_json(), 2);
    table.add_row({std::to_string(e.id()), format_time_unix_ms(e.time_unix_ms()), e.actor(),
                   e.method(), e.kind(), e.name(), std::move(changes)});
  }
  table.write(out);
}

void event_table(const v1::ListEventsResponse& response, std::ostream& out) {
  Table table({"ID", "LAST SEEN", "COUNT", "LEVEL", "KIND", "SERVICE", "INSTANCE", "MESSAGE"});
  for (const v1::Event& e : response.events()) {
    table.add_row({std::to_string(e.id()), format_time_unix_ms(e.last_seen_unix_ms()), std::to_string(e.count()),
                   e.level(), e.kind(), or_dash(e.service()), or_dash(e.instance()), e.message()});
  }
  table.write(out);
}

std::string version_text(const v1::TableVersion& v) {
  const TableVersion version = table::from_proto(v);
  return version.empty() ? "-" : tg::to_string(version);
}

// Boot ids are random per process; the first 8 characters tell them apart.
std::string boot_text(const std::string& boot) { return or_dash(boot.substr(0, 8)); }

// A registry id as a column shows: the first 8 characters, "(this)" for
// tg-control's own.
std::string registry_text(const std::string& id, const std::string& own) {
  if (id.empty()) return "-";
  return id.substr(0, 8) + (id == own ? " (this)" : "");
}

// The last update a proxy answered: "delta 1.2 KB 3 ms".
std::string last_update_text(const v1::ProxyStatus& p) {
  const char* kind = p.last_update_kind() == v1::UPDATE_KIND_FULL     ? "full"
                     : p.last_update_kind() == v1::UPDATE_KIND_DELTA  ? "delta"
                     : p.last_update_kind() == v1::UPDATE_KIND_HEALTH ? "health"
                                                                      : nullptr;
  if (!kind) return "-";
  const double bytes = static_cast<double>(p.last_update_bytes());
  char text[64];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%s %.0f B %lld ms", kind, bytes, static_cast<long long>(p.last_update_apply_ms()));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(text, sizeof text, "%s %.1f KiB %lld ms", kind, bytes / 1024,
                  static_cast<long long>(p.last_update_apply_ms()));
  } else {
    std::snprintf(text, sizeof text, "%s %.1f MiB %lld ms", kind, bytes / (1024 * 1024),
                  static_cast<long long>(p.last_update_apply_ms()));
  }
  return text;
}

void proxy_table(const v1::ListProxiesResponse& response, std::ostream& out) {
  Table table({"NODE", "BOOT", "ADDRESS", "STATE", "SINCE", "REGISTRY", "APPLIED", "LAG", "LAST UPDATE", "LAST NACK"});
  std::vector<std::string> fenced;
  for (const v1::ProxyStatus& p : response.proxies()) {
    const std::int64_t since = p.connected() ? p.connected_since_unix_ms() : p.last_seen_unix_ms();
    std::string nack = "-";
    if (p.has_last_nack()) nack = version_text(p.last_nack().version()) + ": " + p.last_nack().reason();
    std::string state = p.connected() ? "connected" : "disconnected";
    if (!p.fenced().empty()) {
      state += ", fenced";
      fenced.push_back(p.node_id() + ": " + p.fenced());
    }
    table.add_row({p.node_id(), boot_text(p.boot_id()), or_dash(p.address()), std::move(state),
                   since == 0 ? "-" : format_time_unix_ms(since), registry_text(p.registry_id(), response.registry_id()),
                   version_text(p.applied()), std::to_string(p.lag()), last_update_text(p), std::move(nack)});
  }
  table.write(out);
  out << "Newest table version: " << version_text(response.newest()) << " of registry " << response.registry_id()
      << ".\n";
  if (response.disconnected_not_listed() != 0)
    out << response.disconnected_not_listed() << " disconnected prox"
        << (response.disconnected_not_listed() == 1 ? "y" : "ies") << " not listed (--all lists them).\n";
  for (const std::string& line : fenced) out << "Fenced " << line << "\n";
}

void registry_table(const v1::RegistryInfo& info, std::ostream& out) {
  out << "Registry:        " << info.registry_id() << "\n"
      << "Generation:      " << info.generation() << " (newest table version " << version_text(info.newest())
      << ")\n"
      << "Adopted:         ";
  if (info.adopted_registry_ids().empty()) out << "-";
  for (int i = 0; i < info.adopted_registry_ids_size(); ++i)
    out << (i ? ", " : "") << info.adopted_registry_ids(i);
  out << "\n"
      << "Accept restore:  " << (info.accept_restore() ? "yes" : "no") << "\n";
  if (!info.database_older_than_fleet().empty())
    out << "Database older than the fleet: " << info.database_older_than_fleet() << "\n";
}

}  // namespace

void render_table(const Command& command, const google::protobuf::Message& response,
                  std::ostream& out) {
  if (render_alerting_table(command, response, out)) return;
  const std::string& type = response.GetDescriptor()->full_name();
  if (type == "tenantgate.v1.ListTenantsResponse") {
    tenant_tables(static_cast<const v1::ListTenantsResponse&>(response).tenants(), out);
  } else if (type == "tenantgate.v1.Tenant") {
    tenant_tables(one<v1::Tenant>(response), out);
  } else if (type == "tenantgate.v1.CreateCredentialResponse") {
    created_credential(command, static_cast<const v1::CreateCredentialResponse&>(response), out);
  } else if (type == "tenantgate.v1.ListCredentialsResponse") {
    credential_table(static_cast<const v1::ListCredentialsResponse&>(response), out);
  } else if (type == "tenantgate.v1.ListServicesResponse") {
    service_tables(static_cast<const v1::ListServicesResponse&>(response).services(), out);
  } else if (type == "tenantgate.v1.Service") {
    service_tables(one<v1::Service>(response), out);
  } else if (type == "tenantgate.v1.DiscoverInstancesResponse") {
    instance_tables(static_cast<const v1::DiscoverInstancesResponse&>(response).instances(), out);
  } else if (type == "tenantgate.v1.ListInstancesResponse") {
    instance_tables(static_cast<const v1::ListInstancesResponse&>(response).instances(), out);
  } else if (type == "tenantgate.v1.Instance") {
    instance_tables(one<v1::Instance>(response), out);
  } else if (type == "tenantgate.v1.ListRoutesResponse") {
    route_tables(static_cast<const v1::ListRoutesResponse&>(response).routes(), out);
  } else if (type == "tenantgate.v1.Route") {
    route_tables(one<v1::Route>(response), out);
  } else if (type == "tenantgate.v1.DeleteResponse") {
    out << "Deleted " << command.subject << " (revision "
        << static_cast<const v1::DeleteResponse&>(response).revision() << ").\n";
  } else if (type == "tenantgate.v1.HeartbeatResponse") {
    const auto& beat = static_cast<const v1::HeartbeatResponse&>(response);
    out << "Heartbeat of " << command.subject << ": health "
        << enum_short_name(*v1::Health_descriptor(), "HEALTH_", beat.health()) << ", TTL "
        << (beat.heartbeat_ttl_ms() == 0 ? "none" : format_duration_ms(beat.heartbeat_ttl_ms()))
        << ".\n";
  } else if (type == "tenantgate.v1.ApplyResponse") {
    apply_table(command, static_cast<const v1::ApplyResponse&>(response), out);
  } else if (type == "tenantgate.v1.ListAuditResponse") {
    audit_table(static_cast<const v1::ListAuditResponse&>(response), out);
  } else if (type == "tenantgate.v1.ListEventsResponse") {
    event_table(static_cast<const v1::ListEventsResponse&>(response), out);
  } else if (type == "tenantgate.v1.ListProxiesResponse") {
    proxy_table(static_cast<const v1::ListProxiesResponse&>(response), out);
  } else if (type == "tenantgate.v1.TopResponse") {
    top_table(dynamic_cast<const v1::TopRequest*>(command.request.get()),
              static_cast<const v1::TopResponse&>(response), out);
  } else if (type == "tenantgate.v1.SeriesResponse") {
    series_table(static_cast<const v1::SeriesResponse&>(response), out);
  } else if (type == "tenantgate.v1.RegistryInfo") {
    registry_table(static_cast<const v1::RegistryInfo&>(response), out);
  } else {
    out << to_yaml(response);
  }
}

}  // namespace tg::tgctl
