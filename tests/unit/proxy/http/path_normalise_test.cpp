#include "http/path_normalise.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using tg::proxy::http::normalise_path;
using tg::proxy::http::PathResult;

namespace {

// The normalised path, "unchanged" when the input needs no work, or "invalid".
std::string norm(std::string_view in, bool merge = false) {
  std::vector<char> out(in.size() + 1);
  std::size_t length = 0;
  switch (normalise_path(in, merge, out.data(), length)) {
    case PathResult::unchanged: return "unchanged";
    case PathResult::invalid: return "invalid";
    case PathResult::changed: return std::string(out.data(), length);
  }
  return "?";
}

}  // namespace

TEST_CASE("plain paths need no work", "[proxy][http][path]") {
  CHECK(norm("/") == "unchanged");
  CHECK(norm("/a/b/c") == "unchanged");
  CHECK(norm("/a.b/c..d/.e/f.") == "unchanged");
  CHECK(norm("/a//b") == "unchanged");  // slashes are kept unless merging
}

TEST_CASE("dot segments are removed (RFC 3986 5.2.4)", "[proxy][http][path]") {
  CHECK(norm("/a/./b") == "/a/b");
  CHECK(norm("/a/b/../c") == "/a/c");
  CHECK(norm("/a/b/..") == "/a/");
  CHECK(norm("/a/b/.") == "/a/b/");
  CHECK(norm("/app/x/../../exact") == "/exact");
  CHECK(norm("/..") == "/");
  CHECK(norm("/../../a") == "/a");  // never above the root
  CHECK(norm("/./") == "/");
}

TEST_CASE("unreserved percent-encodings are decoded, others kept upper-case", "[proxy][http][path]") {
  CHECK(norm("/%61pp") == "/app");
  CHECK(norm("/a%2Db%5fc%7E") == "/a-b_c~");
  CHECK(norm("/a%2fb") == "/a%2Fb");  // an encoded slash is not a separator
  CHECK(norm("/a%20b") == "unchanged");  // already canonical
  CHECK(norm("/a/%2e%2E/b") == "/b");  // decoded dots form a dot segment
  CHECK(norm("/a%2e%2E/b") == "/a../b");  // "a.." is a name, not a dot segment
  CHECK(norm("/%00") == "unchanged");
}

TEST_CASE("malformed percent-encodings are invalid", "[proxy][http][path]") {
  CHECK(norm("/a%") == "invalid");
  CHECK(norm("/a%4") == "invalid");
  CHECK(norm("/a%zz") == "invalid");
  CHECK(norm("/a%4g/b") == "invalid");
}

TEST_CASE("merge_slashes drops empty segments", "[proxy][http][path]") {
  CHECK(norm("/a//b", true) == "/a/b");
  CHECK(norm("//a///b//", true) == "/a/b/");
  CHECK(norm("/a/b", true) == "unchanged");
}

TEST_CASE("has_encoded_slash finds %2F, %5C and backslashes", "[proxy][http][path]") {
  using tg::proxy::http::has_encoded_slash;
  for (const char* path : {"/a%2Fb", "/a%2fb", "/a%5Cb", "/a%5cb", "/a\\b", "\\", "/%2F", "/x/%2f", "/x%5C"}) {
    INFO(path);
    CHECK(has_encoded_slash(path));
  }
  for (const char* path : {"/", "/a/b", "/a%2", "/a%2", "/a%20b", "/a%25%32%46", "/a%F2", "/a%C5", "/%", "/a%2Gb",
                           "/a%252Fb"}) {
    INFO(path);
    CHECK_FALSE(has_encoded_slash(path));
  }
}
