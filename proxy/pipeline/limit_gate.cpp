#include "pipeline/limit_gate.hpp"

#include "balancing/hash_key.hpp"
#include "hashing/stable_hash.hpp"
#include "runtime/worker.hpp"
#include "table/snapshot.hpp"

#include <algorithm>

namespace tg::proxy {

namespace {

using limits::LimitKind;

std::uint64_t retry_after_s(std::uint64_t wait_ns) {
  return std::max<std::uint64_t>(1, (wait_ns + 999'999'999) / 1'000'000'000);
}

Step refuse(Exchange& ex, limits::RouteCounters& counters, LimitKind kind, const limits::Policy& policy,
            std::uint64_t wait_ns) {
  ++counters.limited[static_cast<std::size_t>(kind)];
  ex.limits.end();  // a slot taken before goes back at once
  ex.limits.refusal = {kind, policy, retry_after_s(wait_ns)};
  ex.fate = Fate::rate_limited;
  return Step::respond(429, ErrorKind::rate_limited);
}

void note_shadow(Exchange& ex, limits::RouteCounters& counters, LimitKind kind) {
  ++counters.shadow[static_cast<std::size_t>(kind)];
  if (ex.limits.shadow_refused) return;
  ex.limits.shadow_refused = true;
  ex.limits.shadow_kind = kind;
}

// The key of a keyed limit: the client address (the rule of ip_hash, with
// --trusted-proxies), or the header's value; a request without the header
// (or with it empty) counts under one shared key.
std::uint64_t key_hash(PhaseInput& in, const limits::KeyedLimit& limit) {
  const RequestContext& c = in.ctx;
  const char* base = c.client.data.get() + in.ex.head_offset;
  if (limit.by == config::RouteRateLimit::By::client_ip) {
    const balancing::IpAddress client =
        balancing::client_address(in.peer, c.request, base, in.worker.settings().trusted_proxies);
    return hashing::stable_hash(client.view(), limit.seed);
  }
  const auto value = balancing::header_value(c.request, base, limit.header);
  return hashing::stable_hash(value ? *value : std::string_view{}, limit.seed ^ 0x616273656e74ull);  // "absent" apart
}

}  // namespace

bool LimitGate::serves(const Snapshot& table) { return table.limits != nullptr; }

Step LimitGate::admit(PhaseInput& in) {
  Exchange& ex = in.ex;
  const std::shared_ptr<const limits::TableLimits>& table = ex.table->snapshot->limits;
  if (!table || ex.limits.decided) return Step::proceed();
  const std::int32_t slot = table->slot(ex.route);
  if (slot == limits::TableLimits::kUnlimited) return Step::proceed();
  limits::Generation& generation = limits_.view(table);
  const limits::RouteLimitDef& def = table->limited()[static_cast<std::size_t>(slot)];
  limits::RouteCounters& counters = *generation.counters[static_cast<std::size_t>(slot)];
  const limits::TenantLimitDef* tenant =
      def.tenant_limits >= 0 ? &table->tenants()[static_cast<std::size_t>(def.tenant_limits)] : nullptr;
  const std::uint64_t now = ex.start_ns;

  // The tenant's requests in flight.
  if (tenant && tenant->in_flight) {
    limits::ConcurrencyCell& cell = *tenant->in_flight;
    if (tenant->shadow) {
      if (cell.acquire_over(tenant->max_concurrent)) note_shadow(ex, counters, LimitKind::tenant_concurrency);
    } else if (!cell.try_acquire(tenant->max_concurrent)) {
      return refuse(ex, counters, LimitKind::tenant_concurrency, {}, 0);
    }
    ex.limits.hold(cell, generation);
  }

  // The route's bucket.
  if (const auto& fixed = def.fixed) {
    const limits::GcraDecision decision = fixed->bucket->take(now, fixed->shape);
    if (!decision.allowed) {
      if (!fixed->shadow) return refuse(ex, counters, LimitKind::route_rate, fixed->policy, decision.wait_ns);
      note_shadow(ex, counters, LimitKind::route_rate);
    }
  } else if (const auto& keyed = def.keyed) {
    std::uint64_t& tat = limits_.keyed().tat(key_hash(in, *keyed));
    std::uint64_t next = tat;
    const limits::GcraDecision decision =
        limits::gcra_decide(tat, now, generation.keyed_shapes[static_cast<std::size_t>(slot)], next);
    if (decision.allowed) {
      tat = next;
    } else if (!keyed->shadow) {
      return refuse(ex, counters, LimitKind::route_rate, keyed->policy, decision.wait_ns);
    } else {
      note_shadow(ex, counters, LimitKind::route_rate);
    }
  }

  // The tenant's bucket.
  if (tenant && tenant->rate) {
    const limits::FixedLimit& rate = *tenant->rate;
    const limits::GcraDecision decision = rate.bucket->take(now, rate.shape);
    if (!decision.allowed) {
      if (!rate.shadow) return refuse(ex, counters, LimitKind::tenant_rate, rate.policy, decision.wait_ns);
      note_shadow(ex, counters, LimitKind::tenant_rate);
    }
  }
  ex.limits.decided = true;
  return Step::proceed();
}

}  // namespace tg::proxy
