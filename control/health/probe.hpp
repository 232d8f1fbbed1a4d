// One active health probe and its outcome: what the owner loop hands to the
// prober thread and what comes back (docs/control-plane.md, "Health checks").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tg::control::health {

struct ProbeSpec {
  enum class Type { http, tcp };
  std::string instance;    // instance id
  std::uint64_t epoch = 0; // the target's epoch when sent; results of older epochs are dropped
  Type type = Type::http;
  std::string address;     // "host:port" or "[v6]:port"
  std::string path = "/healthz";
  std::string host_header; // the Host header (the instance's address unless the check names one)
  std::vector<std::pair<unsigned, unsigned>> expect{{200, 399}};  // inclusive status ranges that pass
  std::chrono::milliseconds timeout{1000};  // connect + response
};

struct ProbeResult {
  std::string instance;
  std::uint64_t epoch = 0;
  bool passed = false;
  // Why it failed ("http 503", "connect refused", "timeout", "connection
  // reset", "bad response", "resolve failed"), or "http 200" / "tcp connect"
  // when it passed.
  std::string reason;
  std::chrono::microseconds latency{0};
};

// Whether `status` lies in one of the ranges.
inline bool status_expected(unsigned status, const std::vector<std::pair<unsigned, unsigned>>& expect) {
  for (const auto& [min, max] : expect)
    if (status >= min && status <= max) return true;
  return false;
}

}  // namespace tg::control::health
