#include "support/json_bodies.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace tg::itest {

namespace json = boost::json;

namespace {

json::object parse_object(const HttpResponse& response, const char* what) {
  json::error_code ec;
  json::value value = json::parse(response.body, ec);
  if (ec || !value.is_object()) {
    throw std::runtime_error(std::string("expected a JSON object (") + what + ") in the response:\n" +
                             response.describe());
  }
  return std::move(value.as_object());
}

std::string string_field(const json::object& object, const char* name, const HttpResponse& response) {
  const json::value* field = object.if_contains(name);
  if (field == nullptr || !field->is_string()) {
    throw std::runtime_error(std::string("JSON field \"") + name + "\" missing or not a string in:\n" +
                             response.describe());
  }
  return std::string(field->as_string());
}

}  // namespace

EchoedRequest parse_echo(const HttpResponse& response) {
  const json::object object = parse_object(response, "echo backend");
  EchoedRequest echo;
  echo.backend = string_field(object, "backend", response);
  echo.method = string_field(object, "method", response);
  echo.target = string_field(object, "target", response);
  echo.version = string_field(object, "version", response);
  for (const json::value& header : object.at("headers").as_array()) {
    const json::array& pair = header.as_array();
    echo.headers.add(std::string(pair.at(0).as_string()), std::string(pair.at(1).as_string()));
  }
  echo.body_length = json::value_to<std::uint64_t>(object.at("body_length"));
  echo.body_fnv1a = string_field(object, "body_fnv1a", response);
  if (const json::value* body = object.if_contains("body")) echo.body = std::string(body->as_string());
  echo.connection_id = json::value_to<std::uint64_t>(object.at("connection_id"));
  echo.request_on_connection = json::value_to<std::uint64_t>(object.at("request_on_connection"));
  return echo;
}

ErrorBody parse_error(const HttpResponse& response) {
  const json::object object = parse_object(response, "proxy error body");
  return ErrorBody{string_field(object, "error", response), string_field(object, "request_id", response)};
}

}  // namespace tg::itest
