#include "http/path_normalise.hpp"

#include <cstring>

namespace tg::proxy::http {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Anything that could change the path: a percent sign, a dot segment, or an
// empty segment when they are merged.
bool needs_work(std::string_view p, bool merge_slashes) {
  if (std::memchr(p.data(), '%', p.size())) return true;
  for (std::size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i] != '/') continue;
    const char next = p[i + 1];
    if (next == '/' && merge_slashes) return true;
    if (next == '.') {
      // "/." followed by end, '/', or ".": a dot segment
      const std::size_t k = i + 2;
      if (k == p.size() || p[k] == '/') return true;
      if (p[k] == '.' && (k + 1 == p.size() || p[k + 1] == '/')) return true;
    }
  }
  return false;
}

}  // namespace

PathResult normalise_path(std::string_view path, bool merge_slashes, char* out, std::size_t& out_length) {
  if (!needs_work(path, merge_slashes)) return PathResult::unchanged;

  // 1. Percent-encoding, into `out`.
  std::size_t n = 0;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out[n++] = path[i];
      continue;
    }
    if (i + 2 >= path.size()) return PathResult::invalid;  // truncated
    const int hi = hex(path[i + 1]), lo = hex(path[i + 2]);
    if (hi < 0 || lo < 0) return PathResult::invalid;
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (unreserved(decoded)) {
      out[n++] = static_cast<char>(decoded);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out[n++] = '%';
      out[n++] = kHex[hi];
      out[n++] = kHex[lo];
    }
    i += 2;
  }

  // 2. Dot segments and empty segments, in place (output never overtakes input).
  std::size_t len = 1;  // out[0] is the leading '/'
  std::size_t i = 1;
  for (;;) {
    std::size_t j = i;
    while (j < n && out[j] != '/') ++j;
    const bool last = j >= n;
    const std::size_t seg_len = j - i;
    const bool dot = seg_len == 1 && out[i] == '.';
    const bool dotdot = seg_len == 2 && out[i] == '.' && out[i + 1] == '.';
    if (dot) {
      // nothing: the output already ends with '/'
    } else if (dotdot) {
      if (len > 1) {
        --len;  // the '/' ending the previous segment
        while (len > 0 && out[len - 1] != '/') --len;
      }
    } else if (seg_len == 0 && merge_slashes && !last) {
      // "//": dropped
    } else {
      std::memmove(out + len, out + i, seg_len);
      len += seg_len;
      if (!last) out[len++] = '/';
    }
    if (last) break;
    i = j + 1;
  }
  out_length = len;
  return std::string_view(out, len) == path ? PathResult::unchanged : PathResult::changed;
}

bool has_encoded_slash(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') return true;
    if (c != '%' || path.size() - i < 3) continue;
    const char hi = path[i + 1], lo = static_cast<char>(path[i + 2] | 0x20);
    if ((hi == '2' && lo == 'f') || (hi == '5' && lo == 'c')) return true;
  }
  return false;
}

}  // namespace tg::proxy::http
