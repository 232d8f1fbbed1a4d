#include "http/head_writer.hpp"

#include <array>
#include <cstring>

namespace tg::proxy::http {

namespace {

class Writer {
 public:
  Writer(char* out, std::size_t capacity) : p_(out), begin_(out), end_(out + capacity) {}
  void put(std::string_view s) {
    if (s.empty()) return;  // an empty view may carry a null pointer: no memcpy
    if (static_cast<std::size_t>(end_ - p_) < s.size()) {
      ok_ = false;
      return;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  std::size_t finish() const { return ok_ ? static_cast<std::size_t>(p_ - begin_) : 0; }

 private:
  char* p_;
  char* begin_;
  char* end_;
  bool ok_ = true;
};

// Header names listed in Connection (other than close/keep-alive/upgrade).
// Only headers the proxy does not manage (HeaderKind::other) can be removed
// this way: framing (Content-Length, Transfer-Encoding), Host and the
// X-Forwarded-* / X-Request-Id headers are the proxy's to decide.
class ConnectionListed {
 public:
  ConnectionListed(const char* base, const MessageHead& head) : base_(base), head_(head) {
    if (!head.connection_lists_others) return;
    for_each_listed([&](std::string_view token) {
      if (count_ < names_.size()) names_[count_++] = token;
      else overflow_ = true;
    });
  }
  bool any() const { return count_ > 0; }
  bool contains(std::string_view name) const {
    for (std::size_t i = 0; i < count_; ++i)
      if (same_name(names_[i], name)) return true;
    if (!overflow_) return false;
    bool found = false;  // rare: more names than fit, look them all up again
    for_each_listed([&](std::string_view token) { found = found || same_name(token, name); });
    return found;
  }

 private:
  template <typename Fn>
  void for_each_listed(Fn&& fn) const {
    for (std::uint16_t i = 0; i < head_.header_count; ++i) {
      if (head_.headers[i].kind != HeaderKind::connection) continue;
      for_each_token(head_.headers[i].value.view(base_), [&](std::string_view token) {
        if (iequals(token, "close") || iequals(token, "keep-alive") || iequals(token, "upgrade")) return;
        fn(token);
      });
    }
  }
  static bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
      char x = a[k], y = b[k];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
      if (x != y) return false;
    }
    return true;
  }

  const char* base_;
  const MessageHead& head_;
  std::array<std::string_view, 16> names_;
  std::size_t count_ = 0;
  bool overflow_ = false;
};

bool hop_by_hop(HeaderKind kind) {
  switch (kind) {
    case HeaderKind::connection:
    case HeaderKind::keep_alive:
    case HeaderKind::proxy_connection:
    case HeaderKind::te:
    case HeaderKind::upgrade:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::size_t write_upstream_request(char* out, std::size_t capacity, const UpstreamRequest& in) {
  const RequestHead& req = *in.head;
  const char* base = in.base;
  Writer w(out, capacity);
  w.put(req.method.view(base));
  w.put(" ");
  // A rewrite may leave "" or "x" of "/apix": the upstream always gets a path.
  if (in.path != "*" && (in.path.empty() || in.path[0] != '/')) w.put("/");
  w.put(in.path);
  if (!req.query.empty() || (req.target.length && base[req.target.offset + req.target.length - 1] == '?')) {
    w.put("?");
    w.put(req.query.view(base));
  }
  w.put(" HTTP/1.1\r\n");

  const ConnectionListed listed(base, req);
  bool host_written = false;
  bool xff_written = false;
  for (std::uint16_t i = 0; i < req.header_count; ++i) {
    const HeaderField& f = req.headers[i];
    switch (f.kind) {
      case HeaderKind::x_forwarded_for:
        // All X-Forwarded-For values go into one line, the peer appended.
        if (!xff_written) {
          xff_written = true;
          w.put("X-Forwarded-For: ");
          bool first = true;
          for (std::uint16_t k = i; k < req.header_count; ++k) {
            if (req.headers[k].kind != HeaderKind::x_forwarded_for || req.headers[k].value.empty()) continue;
            if (!first) w.put(", ");
            w.put(req.headers[k].value.view(base));
            first = false;
          }
          if (!first) w.put(", ");
          w.put(in.client_ip);
          w.put("\r\n");
        }
        continue;
      case HeaderKind::x_forwarded_proto:
        continue;  // set by the proxy below
      case HeaderKind::x_request_id:
        if (!in.request_id_from_client || static_cast<int>(i) != req.x_request_id) continue;
        break;
      case HeaderKind::expect:
        if (in.drop_expect) continue;
        break;
      case HeaderKind::upgrade:
        if (!in.upgrade) continue;
        break;
      case HeaderKind::authorization:
      case HeaderKind::x_api_key:
        if (in.strip_credentials) continue;
        break;
      case HeaderKind::x_tenant_id:
        if (!in.tenant_id.empty()) continue;
        break;
      case HeaderKind::host:
        // With an absolute-form target the authority wins (RFC 9112 §3.2.2):
        // the client's Host line is replaced by it below.
        if (req.absolute_form) continue;
        host_written = true;
        break;
      default:
        if (hop_by_hop(f.kind)) continue;
        break;
    }
    if (f.kind == HeaderKind::other && listed.any() && listed.contains(f.name.view(base))) continue;
    w.put(f.line.view(base));
  }
  if (!host_written) {
    // An HTTP/1.0 request may have no Host; the upstream speaks HTTP/1.1 and
    // needs one: the instance's address, as NGINX does.
    w.put("Host: ");
    w.put(req.host.empty() ? in.fallback_host : req.host.view(base));
    w.put("\r\n");
  }
  if (!xff_written) {
    w.put("X-Forwarded-For: ");
    w.put(in.client_ip);
    w.put("\r\n");
  }
  w.put("X-Forwarded-Proto: http\r\n");
  if (!in.tenant_id.empty()) {
    w.put("X-Tenant-ID: ");
    w.put(in.tenant_id);
    w.put("\r\n");
  }
  if (in.upgrade) w.put("Connection: Upgrade\r\n");
  if (!in.request_id_from_client) {
    w.put("X-Request-Id: ");
    w.put(in.request_id);
    w.put("\r\n");
  }
  w.put("\r\n");
  return w.finish();
}

std::size_t write_downstream_response(char* out, std::size_t capacity, const DownstreamResponse& in) {
  const ResponseHead& resp = *in.head;
  const char* base = in.base;
  Writer w(out, capacity);
  // Status line: our version, the upstream's code and reason.
  const char* line_end = static_cast<const char*>(std::memchr(base, '\r', resp.head_length));
  w.put("HTTP/1.1");
  w.put(std::string_view(base + 8, static_cast<std::size_t>(line_end - base - 8)));
  w.put("\r\n");

  const ConnectionListed listed(base, resp);
  for (std::uint16_t i = 0; i < resp.header_count; ++i) {
    const HeaderField& f = resp.headers[i];
    // The client gets the id the proxy logged and forwarded, never another.
    if (f.kind == HeaderKind::upgrade && in.upgrade) {
      w.put(f.line.view(base));
      continue;
    }
    if (hop_by_hop(f.kind) || f.kind == HeaderKind::x_request_id) continue;
    if (in.dechunked && f.kind == HeaderKind::transfer_encoding) continue;
    if (f.kind == HeaderKind::other && listed.any() && listed.contains(f.name.view(base))) continue;
    w.put(f.line.view(base));
  }
  w.put("X-Request-Id: ");
  w.put(in.request_id);
  w.put("\r\n");
  if (in.upgrade) {
    w.put("Connection: Upgrade\r\n");
  } else if (!in.interim) {
    if (!in.keep_alive) w.put("Connection: close\r\n");
    else if (in.client_http10) w.put("Connection: keep-alive\r\n");
  }
  w.put("\r\n");
  return w.finish();
}

}  // namespace tg::proxy::http
