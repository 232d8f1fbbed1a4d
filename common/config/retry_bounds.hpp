// The range of a service's retry.attempts (every try counted, the first
// included): one definition for the YAML reader, the registry's validation and
// the proxy's reading of a pushed table. tg-proxy keeps the instances a
// request tried in an array of kMaxRetryAttempts entries.
#pragma once

namespace tg::config {

inline constexpr int kMinRetryAttempts = 1;
inline constexpr int kMaxRetryAttempts = 10;

}  // namespace tg::config
