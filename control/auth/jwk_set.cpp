#include "auth/jwk_set.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace tg::control::auth {
namespace {

namespace json = boost::json;

bool has_string(const json::object& key, std::string_view name) {
  const json::value* value = key.if_contains(name);
  return value && value->is_string() && !value->get_string().empty();
}

}  // namespace

JwkSetCheck check_jwk_set(std::string_view text) {
  JwkSetCheck check;
  if (text.size() > max_jwk_set_bytes) {
    check.problem = std::to_string(text.size()) + " bytes; a JWK Set may have at most " +
                    std::to_string(max_jwk_set_bytes);
    return check;
  }
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) {
    check.problem = "not JSON (" + ec.message() + ")";
    return check;
  }
  const json::object* object = root.if_object();
  const json::value* keys = object ? object->if_contains("keys") : nullptr;
  if (!keys || !keys->is_array()) {
    check.problem = "not a JWK Set: expected an object with a \"keys\" array";
    return check;
  }
  const json::array& list = keys->get_array();
  if (list.size() > max_jwk_set_keys) {
    check.problem = std::to_string(list.size()) + " keys; at most " + std::to_string(max_jwk_set_keys);
    return check;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = "keys[" + std::to_string(i) + "]";
    const json::object* key = list[i].if_object();
    if (!key) {
      check.problem = where + ": not an object";
      return check;
    }
    if (!has_string(*key, "kty")) {
      check.problem = where + ": needs \"kty\"";
      return check;
    }
    const json::string& kty = key->at("kty").get_string();
    if (kty == "RSA") {
      for (const char* member : {"n", "e"}) {
        if (!has_string(*key, member)) {
          check.problem = where + ": an RSA key needs \"" + member + "\"";
          return check;
        }
      }
      ++check.usable;
    } else if (kty == "EC") {
      for (const char* member : {"crv", "x", "y"}) {
        if (!has_string(*key, member)) {
          check.problem = where + ": an EC key needs \"" + member + "\"";
          return check;
        }
      }
      if (key->at("crv").get_string() == "P-256") ++check.usable;  // other curves: passed on, unused
    }
  }
  if (check.usable == 0) check.problem = "holds no RSA or EC (P-256) key";
  return check;
}

}  // namespace tg::control::auth
