#include "keys/key_service.hpp"

#include "auth/jwk_set.hpp"
#include "auth/key_files.hpp"
#include "text/prometheus_label.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace tg::control::keys {
namespace {

namespace asio = boost::asio;

// The jwt settings without the table-only material.
v1::Jwt source_of(const v1::Jwt& jwt) {
  v1::Jwt source = jwt;
  source.clear_jwks_json();
  source.clear_hs256_secret();
  return source;
}

bool same_source(const v1::Jwt& a, const v1::Jwt& b) {
  return a.jwks_file() == b.jwks_file() && a.jwks_url() == b.jwks_url() &&
         a.hs256_secret_file() == b.hs256_secret_file();
}

// The value of `directive` ("max-age") in a Cache-Control header, if present
// with a number.
std::optional<std::int64_t> directive_seconds(std::string_view header, std::string_view directive) {
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t end = header.find(',', at);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(at, end - at);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    const std::size_t equals = item.find('=');
    std::string name(item.substr(0, equals));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == directive && equals != std::string_view::npos) {
      std::string_view value = item.substr(equals + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      std::int64_t seconds = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && ptr == value.data() + value.size() && seconds >= 0) return seconds;
      if (ec == std::errc::result_out_of_range) return INT64_MAX;
    }
    at = end + 1;
  }
  return std::nullopt;
}

bool has_directive(std::string_view header, std::string_view directive) {
  std::string lower(header);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t at = 0;
  while ((at = lower.find(directive, at)) != std::string::npos) {
    const bool start = at == 0 || lower[at - 1] == ',' || lower[at - 1] == ' ';
    const std::size_t after = at + directive.size();
    const bool end = after == lower.size() || lower[after] == ',' || lower[after] == ' ' || lower[after] == '=';
    if (start && end) return true;
    at = after;
  }
  return false;
}

}  // namespace

Status check_key_files(const v1::Jwt& jwt, const std::string& field) {
  auth::KeyMaterial material = auth::read_key_files(jwt);
  if (material.problem.empty()) return {};
  return Status::invalid(field, material.problem);
}

std::chrono::seconds cache_lifetime(std::string_view cache_control, std::chrono::seconds fallback,
                                    std::chrono::seconds min, std::chrono::seconds max) {
  std::chrono::seconds lifetime = fallback;
  if (has_directive(cache_control, "no-store") || has_directive(cache_control, "no-cache")) {
    lifetime = std::chrono::seconds(0);
  } else if (auto shared = directive_seconds(cache_control, "s-maxage")) {
    lifetime = std::chrono::seconds(std::min<std::int64_t>(*shared, max.count()));
  } else if (auto age = directive_seconds(cache_control, "max-age")) {
    lifetime = std::chrono::seconds(std::min<std::int64_t>(*age, max.count()));
  }
  return std::clamp(lifetime, min, max);
}

KeyService::KeyService(asio::io_context& owner, const Clock& clock, Fetch fetch, KeyServiceOptions options)
    : owner_(owner), clock_(clock), fetch_(std::move(fetch)), options_(options), timer_(owner) {}

KeyService::~KeyService() {
  *alive_ = false;
  timer_.cancel();
}

const TenantKeys* KeyService::keys(const std::string& tenant) const {
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? nullptr : &it->second;
}

// ---- following the registry --------------------------------------------------------

void KeyService::load(const Registry& registry) {
  for (const auto& [id, tenant] : registry.tenants()) track(tenant);
}

void KeyService::on_commit(const CommitBatch& batch) {
  for (const Mutation& mutation : batch.mutations) {
    if (mutation.kind != ObjectKind::tenant) continue;
    if (!mutation.body) {
      tenants_.erase(mutation.name);
      continue;
    }
    v1::Tenant tenant;
    if (!tenant.ParseFromString(*mutation.body)) continue;  // the table stream logs it
    track(tenant);
  }
}

bool KeyService::track(const v1::Tenant& tenant) {
  if (!tenant.has_jwt()) {
    tenants_.erase(tenant.id());
    return false;
  }
  const v1::Jwt source = source_of(tenant.jwt());
  auto [it, created] = tenants_.try_emplace(tenant.id());
  TenantKeys& keys = it->second;
  const bool moved = created || !same_source(keys.source, source);
  keys.source = source;
  if (!source.jwks_url().empty()) {
    if (!moved) return false;
    // Another URL: another issuer's keys, perhaps. Nothing until fetched.
    const bool had = !keys.jwks_json.empty();
    keys.jwks_json.clear();
    keys.hs256_secret.clear();
    keys.keys = 0;
    keys.loaded_unix_ms = 0;
    keys.problem = "not fetched yet";
    keys.fetching = false;
    keys.last_fetch_start.reset();
    keys.fetch_serial = 0;
    keys.next_fetch = clock_.steady();
    if (std::string problem = auth::parse_jwks_url(source.jwks_url(), keys.url); !problem.empty()) {
      keys.problem = "jwks_url: " + problem;
      spdlog::error("tg-control: tenant {}: {}; its tokens fail", tenant.id(), keys.problem);
      keys.next_fetch = Clock::SteadyTime::max();
    } else if (running_) {
      start_fetch(tenant.id(), keys);
    }
    return had;
  }
  return read_files(tenant.id(), keys);
}

// Reads the tenant's key file; true when the material in force changed.
bool KeyService::read_files(const std::string& id, TenantKeys& keys) {
  auth::KeyMaterial material = auth::read_key_files(keys.source);
  const bool changed = material.jwks_json != keys.jwks_json || material.hs256_secret != keys.hs256_secret;
  keys.next_fetch = Clock::SteadyTime::max();
  if (!material.problem.empty()) {
    ++load_failures_;
    if (material.problem != keys.problem)
      spdlog::error("tg-control: tenant {}: {}; its tokens fail until the file is fixed (then SIGHUP or any change "
                    "of the tenant reads it again)",
                    id, material.problem);
    keys.problem = std::move(material.problem);
    keys.jwks_json.clear();
    keys.hs256_secret.clear();
    keys.keys = 0;
    keys.loaded_unix_ms = 0;
    return changed;
  }
  if (!keys.problem.empty() && keys.loaded_unix_ms == 0 && keys.keys == 0 && changed)
    spdlog::info("tg-control: tenant {}: jwt keys read ({} usable)", id, material.keys);
  keys.problem.clear();
  keys.jwks_json = std::move(material.jwks_json);
  keys.hs256_secret = std::move(material.hs256_secret);
  keys.keys = material.keys;
  keys.loaded_unix_ms = clock_.unix_ms();
  return changed;
}

void KeyService::reload_files() {
  std::size_t files = 0, changed = 0;
  for (auto& [id, keys] : tenants_) {
    if (!keys.source.jwks_url().empty()) continue;
    ++files;
    if (read_files(id, keys)) {
      ++changed;
      if (changed_) changed_(id);
    }
  }
  spdlog::info("tg-control: jwt key files read again: {} tenant(s), {} changed", files, changed);
}

void KeyService::fill(v1::Tenant& tenant) const {
  if (!tenant.has_jwt()) return;
  v1::Jwt& jwt = *tenant.mutable_jwt();
  jwt.clear_jwks_json();
  jwt.clear_hs256_secret();
  auto it = tenants_.find(tenant.id());
  if (it == tenants_.end()) return;
  if (!it->second.jwks_json.empty()) jwt.set_jwks_json(it->second.jwks_json);
  if (!it->second.hs256_secret.empty()) jwt.set_hs256_secret(it->second.hs256_secret);
}

// ---- fetching --------------------------------------------------------------------

void KeyService::start() {
  if (running_) return;
  running_ = true;
  tick();
  arm();
}

void KeyService::stop() {
  running_ = false;
  timer_.cancel();
}

void KeyService::arm() {
  if (!running_) return;
  timer_.expires_after(options_.tick);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
    auto held = alive.lock();
    if (ec || !held || !*held || !running_) return;
    tick();
    arm();
  });
}

void KeyService::tick() {
  const Clock::SteadyTime now = clock_.steady();
  for (auto& [id, keys] : tenants_)
    if (!keys.source.jwks_url().empty() && !keys.fetching && keys.next_fetch <= now) start_fetch(id, keys);
}

void KeyService::key_request(const std::string& tenant, std::string_view kid) {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end() || it->second.source.jwks_url().empty() ||
      it->second.next_fetch == Clock::SteadyTime::max()) {
    ++key_requests_ignored_;
    return;
  }
  TenantKeys& keys = it->second;
  const Clock::SteadyTime now = clock_.steady();
  if (keys.fetching || (keys.last_fetch_start && now - *keys.last_fetch_start < options_.key_request_interval)) {
    ++key_requests_limited_;
    return;
  }
  ++key_requests_fetched_;
  spdlog::info("tg-control: tenant {}: a proxy saw key id \"{}\" its keys do not hold; fetching {}", tenant,
               kid.substr(0, 128), keys.source.jwks_url());
  start_fetch(tenant, keys);
}

void KeyService::start_fetch(const std::string& id, TenantKeys& keys) {
  keys.fetching = true;
  keys.last_fetch_start = clock_.steady();
  keys.fetch_serial = next_serial_++;
  fetch_(keys.url, [this, &owner = owner_, alive = std::weak_ptr<bool>(alive_), id, serial = keys.fetch_serial](
                       auth::FetchResult result) {
    asio::post(owner, [this, alive, id, serial, result = std::move(result)]() mutable {
      auto held = alive.lock();
      if (held && *held) finish_fetch(id, serial, std::move(result));
    });
  });
}

void KeyService::finish_fetch(const std::string& id, std::uint64_t serial, auth::FetchResult result) {
  auto it = tenants_.find(id);
  if (it == tenants_.end() || it->second.fetch_serial != serial) return;  // gone, or its URL changed
  TenantKeys& keys = it->second;
  keys.fetching = false;
  const Clock::SteadyTime now = clock_.steady();
  std::string problem = result.error;
  auth::JwkSetCheck check;
  if (problem.empty()) {
    check = auth::check_jwk_set(result.body);
    problem = check.problem;
  }
  if (!problem.empty()) {
    ++fetches_failed_;
    keys.next_fetch = now + options_.retry_interval;
    spdlog::warn("tg-control: tenant {}: fetching {} failed: {}; {} (next try in {} ms)", id,
                 keys.source.jwks_url(), problem,
                 keys.jwks_json.empty() ? "no keys yet, its tokens fail" : "the last good keys stay in force",
                 options_.retry_interval.count());
    keys.problem = std::move(problem);
    return;
  }
  const auto lifetime =
      cache_lifetime(result.cache_control, options_.default_max_age, options_.min_max_age, options_.max_max_age);
  keys.next_fetch = now + lifetime;
  keys.problem.clear();
  keys.loaded_unix_ms = clock_.unix_ms();
  if (result.body == keys.jwks_json) {
    ++fetches_unchanged_;
    return;
  }
  ++fetches_changed_;
  spdlog::info("tg-control: tenant {}: new keys from {} ({} usable; next fetch in {} s)", id,
               keys.source.jwks_url(), check.usable, lifetime.count());
  keys.jwks_json = std::move(result.body);
  keys.keys = check.usable;
  if (changed_) changed_(id);
}

// ---- metrics ---------------------------------------------------------------------

std::string KeyService::render_metrics() const {
  std::string out;
  out += "# HELP tg_control_jwks_fetches_total jwks_url fetches by result: changed (a new key set), unchanged, "
         "failed (the last good set stays)\n# TYPE tg_control_jwks_fetches_total counter\n";
  out += "tg_control_jwks_fetches_total{result=\"changed\"} " + std::to_string(fetches_changed_) + "\n";
  out += "tg_control_jwks_fetches_total{result=\"unchanged\"} " + std::to_string(fetches_unchanged_) + "\n";
  out += "tg_control_jwks_fetches_total{result=\"failed\"} " + std::to_string(fetches_failed_) + "\n";
  out += "# HELP tg_control_jwks_key_requests_total KeyRequests of proxies (unknown key ids) by outcome\n"
         "# TYPE tg_control_jwks_key_requests_total counter\n";
  out += "tg_control_jwks_key_requests_total{result=\"fetched\"} " + std::to_string(key_requests_fetched_) + "\n";
  out += "tg_control_jwks_key_requests_total{result=\"limited\"} " + std::to_string(key_requests_limited_) + "\n";
  out += "tg_control_jwks_key_requests_total{result=\"ignored\"} " + std::to_string(key_requests_ignored_) + "\n";
  out += "# HELP tg_control_jwt_key_load_failures_total JWT key files that could not be read or held no usable "
         "key\n# TYPE tg_control_jwt_key_load_failures_total counter\n";
  out += "tg_control_jwt_key_load_failures_total " + std::to_string(load_failures_) + "\n";
  if (tenants_.empty()) return out;
  out += "# HELP tg_control_jwt_keys Usable JWT keys in force per tenant (0: its tokens fail)\n"
         "# TYPE tg_control_jwt_keys gauge\n";
  for (const auto& [id, keys] : tenants_)
    out += "tg_control_jwt_keys{tenant=\"" + text::prometheus_label(id) + "\"} " + std::to_string(keys.keys) + "\n";
  out += "# HELP tg_control_jwt_keys_age_seconds Seconds since the keys in force were read or last fetched\n"
         "# TYPE tg_control_jwt_keys_age_seconds gauge\n";
  const std::int64_t now = clock_.unix_ms();
  for (const auto& [id, keys] : tenants_) {
    if (keys.loaded_unix_ms == 0) continue;
    char value[32];
    std::snprintf(value, sizeof value, "%.3f", static_cast<double>(std::max<std::int64_t>(0, now - keys.loaded_unix_ms)) / 1e3);
    out += "tg_control_jwt_keys_age_seconds{tenant=\"" + text::prometheus_label(id) + "\"} " + value + "\n";
  }
  return out;
}

}  // namespace tg::control::keys
