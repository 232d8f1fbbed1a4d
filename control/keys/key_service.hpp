// The JWT key material of every tenant with `jwt` (docs/control-plane.md,
// "JWT keys"): read from its jwks_file or hs256_secret_file, or fetched from
// its jwks_url, and handed to the table stream, which puts it into the
// tenant's table entry (Jwt.jwks_json / Jwt.hs256_secret). Never stored in
// SQLite, never in an Admin answer.
//
// Owner loop only (like the Registry): no locks. Fetches run on the
// JwksFetcher's thread; their results are posted back to the owner loop.
//
// Files are read at startup (load), for a tenant at each committed change
// of it (on_commit: any change, even one that left the jwt settings alone),
// and for all tenants on SIGHUP (reload_files). A file that cannot be read or
// holds no usable key leaves the tenant without keys (its tokens fail): logged
// and counted, never a stale set kept. A jwks_url is fetched at start, then
// again when its Cache-Control max-age passes (default_max_age without one,
// clamped to [min_max_age, max_max_age]), after a failure every
// retry_interval, and when a proxy reports an unknown key id (key_request) —
// at most once per key_request_interval per tenant. A failed fetch keeps the
// last good set. A set that changed tells on_changed, so that the tenant's
// table entry is rebuilt (a new table version with only that entry: a delta).
#pragma once

#include "auth/jwks_fetcher.hpp"
#include "auth/jwks_url.hpp"
#include "clock.hpp"
#include "registry/registry.hpp"
#include "store/store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tg::control::keys {

namespace v1 = ::tenantgate::v1;

struct KeyServiceOptions {
  std::chrono::seconds default_max_age{300};
  std::chrono::seconds min_max_age{30};
  std::chrono::seconds max_max_age{24 * 3600};
  std::chrono::milliseconds retry_interval{30'000};        // after a failed fetch
  std::chrono::milliseconds key_request_interval{30'000};  // KeyRequest-driven fetches per tenant
  std::chrono::milliseconds tick{1000};           // how often due fetches are looked for (start())
};

// How long a fetched set is good for: Cache-Control max-age (s-maxage and
// no-store / no-cache count as 0), or `fallback` without one; clamped to [min, max].
std::chrono::seconds cache_lifetime(std::string_view cache_control, std::chrono::seconds fallback,
                                    std::chrono::seconds min, std::chrono::seconds max);

// The check of Registry::set_key_check: INVALID_ARGUMENT "FIELD: jwks_file
// PATH: cannot be read (...)" when the key file of `jwt` cannot be read or
// holds no usable key; OK for a jwks_url (fetched later, not at create time).
Status check_key_files(const v1::Jwt& jwt, const std::string& field);

// A tenant's key source and what it yields now.
struct TenantKeys {
  v1::Jwt source;            // the tenant's jwt settings (no key material)
  std::string jwks_json;     // the set in force ("" = none)
  std::string hs256_secret;  // the secret in force ("" = none)
  std::size_t keys = 0;
  std::int64_t loaded_unix_ms = 0;  // when the material in force was read, or last fetched and confirmed
  std::string problem;              // the last problem; "" after a good read or fetch
  // jwks_url only.
  auth::JwksUrl url;
  bool fetching = false;
  Clock::SteadyTime next_fetch{};
  std::optional<Clock::SteadyTime> last_fetch_start;
  std::uint64_t fetch_serial = 0;  // tells a result of an older fetch (settings changed since)
};

class KeyService {
 public:
  // Starts a GET of `url`; `done` runs once, on any thread.
  using Fetch = std::function<void(const auth::JwksUrl& url, std::function<void(auth::FetchResult)> done)>;
  using Changed = std::function<void(const std::string& tenant)>;

  KeyService(boost::asio::io_context& owner, const Clock& clock, Fetch fetch, KeyServiceOptions options = {});
  ~KeyService();
  KeyService(const KeyService&) = delete;
  KeyService& operator=(const KeyService&) = delete;

  void set_on_changed(Changed changed) { changed_ = std::move(changed); }

  // Reads the key files of every tenant of `registry` and marks every
  // jwks_url due now (the product calls start() next).
  void load(const Registry& registry);
  // Arms the timer that starts due fetches every options.tick; stop() cancels it.
  void start();
  void stop();
  // The Core observer; must run before the table stream's, so that the
  // tenants the batch changed are encoded with their new material.
  void on_commit(const CommitBatch& batch);
  // SIGHUP: reads every key file again; on_changed for each tenant whose
  // material changed.
  void reload_files();
  // A proxy's KeyRequest: fetches the tenant's jwks_url now, unless a fetch
  // started within key_request_interval or is under way. Other tenants (no
  // jwks_url, unknown) are ignored. `kid` is for the log only.
  void key_request(const std::string& tenant, std::string_view kid);
  // Starts the fetches that are due.
  void tick();
  // Fills the table-only fields of `tenant`'s jwt (nothing without jwt).
  void fill(v1::Tenant& tenant) const;

  // Prometheus text (appended to tg-control's /metrics):
  //   tg_control_jwks_fetches_total{result}        changed | unchanged | failed
  //   tg_control_jwks_key_requests_total{result}   fetched | limited | ignored
  //   tg_control_jwt_key_load_failures_total        key files unreadable or without a usable key
  //   tg_control_jwt_keys{tenant}                   usable keys in force (0: its tokens fail)
  //   tg_control_jwt_keys_age_seconds{tenant}       since the material in force was read or confirmed
  std::string render_metrics() const;

  const TenantKeys* keys(const std::string& tenant) const;
  std::uint64_t fetches_changed() const { return fetches_changed_; }
  std::uint64_t fetches_unchanged() const { return fetches_unchanged_; }
  std::uint64_t fetches_failed() const { return fetches_failed_; }
  std::uint64_t load_failures() const { return load_failures_; }
  std::uint64_t key_requests_limited() const { return key_requests_limited_; }

 private:
  // A tenant as committed (or loaded): its key state follows its settings.
  // Returns true when its material changed.
  bool track(const v1::Tenant& tenant);
  bool read_files(const std::string& id, TenantKeys& keys);
  void start_fetch(const std::string& id, TenantKeys& keys);
  void finish_fetch(const std::string& id, std::uint64_t serial, auth::FetchResult result);
  void arm();

  boost::asio::io_context& owner_;
  const Clock& clock_;
  Fetch fetch_;
  KeyServiceOptions options_;
  Changed changed_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // fetch results posted after destruction are dropped
  std::map<std::string, TenantKeys> tenants_;  // tenants with jwt
  std::uint64_t next_serial_ = 1;
  std::uint64_t fetches_changed_ = 0, fetches_unchanged_ = 0, fetches_failed_ = 0;
  std::uint64_t key_requests_fetched_ = 0, key_requests_limited_ = 0, key_requests_ignored_ = 0;
  std::uint64_t load_failures_ = 0;
};

}  // namespace tg::control::keys
