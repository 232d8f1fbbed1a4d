// Path normalisation before route matching (docs/http-conformance.md, Normalised).
//
// The path the proxy matches is the path it forwards, so a route cannot be
// reached, or bypassed, by spelling its path differently:
//   - percent-encoded unreserved characters are decoded (%61 → a), other
//     percent-encodings are kept with upper-case hex digits (%2f → %2F);
//   - dot segments are removed (RFC 3986 §5.2.4); ".." above the root stays at
//     the root;
//   - with merge_slashes, empty segments ("//") are dropped.
#pragma once

#include <cstddef>
#include <string_view>

namespace tg::proxy::http {

enum class PathResult { unchanged, changed, invalid };

// `path` starts with '/'. `out` has room for path.size() bytes. On `changed`
// the normalised path is out[0, out_length); on `unchanged` nothing is
// written (the common case costs one scan); `invalid` means a malformed
// percent-encoding (400).
PathResult normalise_path(std::string_view path, bool merge_slashes, char* out, std::size_t& out_length);

// For routes with reject_encoded_slashes: true. A path holding "%2F" or
// "%5C" (either case) or a backslash, which some upstreams read as a path
// separator and the proxy does not: "/public%2F..%2Fadmin" would be one
// segment here and two directories there. One scan; `path` is the path as
// matched (before or after normalise_path, which keeps these as they are).
bool has_encoded_slash(std::string_view path);

}  // namespace tg::proxy::http
