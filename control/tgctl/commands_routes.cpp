// tgctl routes list|get|create|update|patch|delete
#include "tgctl/cli.hpp"
#include "tgctl/command_flags.hpp"
#include "tgctl/flag_values.hpp"
#include "tgctl/json_input.hpp"

#include <algorithm>

namespace tg::tgctl {

namespace {

namespace v1 = tenantgate::v1;

struct RouteFlags {
  std::string name;
  TextFlag service, host, path_prefix, path_exact, method, header, strip_prefix, json;
  std::vector<std::string> clear;  // patch only: mask paths to reset
  bool take_ownership = false;
};

void add_route_flags(CLI::App& verb, RouteFlags& flags) {
  verb.add_option("NAME", flags.name, "route name (or \"name\" in --json)");
  add_text_flag(verb, flags.service, "--service", "service the route sends to");
  add_text_flag(verb, flags.host, "--host", "match: host, exact or *.suffix (any when absent)");
  add_text_flag(verb, flags.path_prefix, "--path-prefix", "match: path prefix (/ when absent)");
  add_text_flag(verb, flags.path_exact, "--path-exact", "match: exact path");
  add_text_flag(verb, flags.method, "--method", "match: request method (any when absent)");
  add_text_flag(verb, flags.header, "--header", "match: header NAME=VALUE (exact value)");
  add_text_flag(verb, flags.strip_prefix, "--strip-prefix", "rewrite: strip this path prefix");
  add_text_flag(verb, flags.json, "--json",
                "the route as protobuf JSON, or @FILE; flags given override its fields");
}

// Sets the fields of each flag given on `route`; returns their mask paths.
std::vector<std::string> apply_route_flags(const RouteFlags& f, v1::Route& route) {
  std::vector<std::string> paths;
  if (f.service.given()) {
    route.set_service(f.service.value);
    paths.push_back("service");
  }
  const bool match_given = f.host.given() || f.path_prefix.given() || f.path_exact.given() ||
                           f.method.given() || f.header.given();
  v1::RouteMatch scratch;
  v1::RouteMatch& match = match_given ? *route.mutable_match() : scratch;
  if (f.host.given()) {
    match.set_host(f.host.value);
    paths.push_back("match.host");
  }
  if (f.path_prefix.given()) {
    match.set_path_prefix(f.path_prefix.value);
    paths.push_back("match.path_prefix");
  }
  if (f.path_exact.given()) {
    match.set_path_exact(f.path_exact.value);
    paths.push_back("match.path_exact");
  }
  if (f.method.given()) {
    match.set_method(f.method.value);
    paths.push_back("match.method");
  }
  if (f.header.given()) {
    if (f.header.value.empty()) {
      match.clear_header();
    } else {
      auto [name, value] = parse_key_value(f.header.value, "--header");
      match.mutable_header()->set_name(name);
      match.mutable_header()->set_value(value);
    }
    paths.push_back("match.header");
  }
  if (f.strip_prefix.given()) {
    route.mutable_rewrite()->set_strip_prefix(f.strip_prefix.value);
    paths.push_back("rewrite.strip_prefix");
  }
  return paths;
}

// The mask paths of the fields a --json route sets: leaves under match and
// rewrite, so that a patch touches only what the document holds.
std::vector<std::string> json_mask_paths(const v1::Route& route) {
  std::vector<std::string> paths;
  if (!route.service().empty()) paths.push_back("service");
  if (route.has_match()) {
    const v1::RouteMatch& match = route.match();
    if (!match.host().empty()) paths.push_back("match.host");
    if (!match.path_prefix().empty()) paths.push_back("match.path_prefix");
    if (!match.path_exact().empty()) paths.push_back("match.path_exact");
    if (!match.method().empty()) paths.push_back("match.method");
    if (match.has_header()) paths.push_back("match.header");
  }
  if (route.has_rewrite() && !route.rewrite().strip_prefix().empty()) {
    paths.push_back("rewrite.strip_prefix");
  }
  return paths;
}

void add_path(std::vector<std::string>& paths, const std::string& path) {
  if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
}

v1::Route build_route(const RouteFlags& f, std::vector<std::string>* mask_paths = nullptr) {
  v1::Route route;
  if (f.json.given()) read_json_into(f.json.value, route, "--json");
  if (!f.name.empty()) route.set_name(f.name);
  if (route.name().empty()) throw UsageError("give the route NAME");
  std::vector<std::string> paths = f.json.given() ? json_mask_paths(route) : std::vector<std::string>{};
  for (const std::string& path : apply_route_flags(f, route)) add_path(paths, path);
  if (mask_paths != nullptr) *mask_paths = std::move(paths);
  return route;
}

}  // namespace

void add_route_commands(CLI::App& app, CommandTable& table) {
  CLI::App* noun =
      app.add_subcommand("routes", "routes: list, get, create, update, patch, delete");
  noun->require_subcommand(1);

  {
    auto service = std::make_shared<std::string>();
    auto tenant = std::make_shared<std::string>();
    CLI::App* list = noun->add_subcommand("list", "list routes, ordered by name");
    list->add_option("--service", *service, "only routes to this service");
    list->add_option("--tenant", *tenant, "only routes to this tenant's services");
    table.add(list, [list, service, tenant] {
      auto request = std::make_unique<v1::ListRoutesRequest>();
      request->set_service(*service);
      request->set_tenant(*tenant);
      return make_command(*list, rpcs::list_routes, std::move(request));
    });
  }

  {
    auto name = std::make_shared<std::string>();
    CLI::App* get = noun->add_subcommand("get", "show one route");
    get->add_option("NAME", *name, "route name")->required();
    table.add(get, [get, name] {
      auto request = std::make_unique<v1::GetRouteRequest>();
      request->set_name(*name);
      return make_command(*get, rpcs::get_route, std::move(request), subject_of("route", *name));
    });
  }

  {
    auto flags = std::make_shared<RouteFlags>();
    CLI::App* create = noun->add_subcommand("create", "create a route");
    add_route_flags(*create, *flags);
    table.add(create, [create, flags] {
      auto request = std::make_unique<v1::CreateRouteRequest>();
      *request->mutable_route() = build_route(*flags);
      std::string subject = subject_of("route", request->route().name());
      return make_command(*create, rpcs::create_route, std::move(request), std::move(subject));
    });
  }

  {
    auto flags = std::make_shared<RouteFlags>();
    CLI::App* update = noun->add_subcommand(
        "update", "replace a route with the one given (use patch to change some fields)");
    add_route_flags(*update, *flags);
    update->add_flag("--take-ownership", flags->take_ownership,
                     "edit it even when a config file owns it; the API owns it afterwards");
    table.add(update, [update, flags] {
      auto request = std::make_unique<v1::UpdateRouteRequest>();
      *request->mutable_route() = build_route(*flags);
      request->set_take_ownership(flags->take_ownership);
      std::string subject = subject_of("route", request->route().name());
      return make_command(*update, rpcs::update_route, std::move(request), std::move(subject));
    });
  }

  {
    auto flags = std::make_shared<RouteFlags>();
    CLI::App* patch = noun->add_subcommand(
        "patch",
        "change only the fields given (the field mask is built from the flags and --json "
        "fields; a flag given as \"\" clears its field)");
    add_route_flags(*patch, *flags);
    patch->add_option("--clear", flags->clear,
                      "reset this field (mask path: service, match.host, match.path_prefix, "
                      "match.path_exact, match.method, match.header, rewrite.strip_prefix); "
                      "repeatable");
    patch->add_flag("--take-ownership", flags->take_ownership,
                    "edit it even when a config file owns it; the API owns it afterwards");
    table.add(patch, [patch, flags] {
      auto request = std::make_unique<v1::PatchRouteRequest>();
      std::vector<std::string> paths;
      *request->mutable_route() = build_route(*flags, &paths);
      // A route has at most one of path_prefix / path_exact: setting one
      // alone clears the other, else the patch could never switch kinds.
      if (flags->path_exact.given() && !flags->path_prefix.given() &&
          !flags->path_exact.value.empty()) {
        request->mutable_route()->mutable_match()->clear_path_prefix();
        add_path(paths, "match.path_prefix");
      }
      if (flags->path_prefix.given() && !flags->path_exact.given() &&
          !flags->path_prefix.value.empty()) {
        request->mutable_route()->mutable_match()->clear_path_exact();
        add_path(paths, "match.path_exact");
      }
      for (const std::string& path : flags->clear) add_path(paths, path);
      if (paths.empty()) {
        throw UsageError("nothing to change: give a field flag, --json or --clear");
      }
      for (const std::string& path : paths) request->mutable_update_mask()->add_paths(path);
      request->set_take_ownership(flags->take_ownership);
      std::string subject = subject_of("route", request->route().name());
      return make_command(*patch, rpcs::patch_route, std::move(request), std::move(subject));
    });
  }

  {
    auto name = std::make_shared<std::string>();
    auto take_ownership = std::make_shared<bool>(false);
    auto cascade = std::make_shared<bool>(false);
    CLI::App* remove = noun->add_subcommand("delete", "delete a route");
    remove->add_option("NAME", *name, "route name")->required();
    remove->add_flag("--take-ownership", *take_ownership,
                     "delete it even when a config file owns it");
    remove->add_flag("--cascade", *cascade,
                     "also when alert rules name it: those rules are disabled and their alerts resolved");
    table.add(remove, [remove, cascade, name, take_ownership] {
      auto request = std::make_unique<v1::DeleteRouteRequest>();
      request->set_name(*name);
      request->set_take_ownership(*take_ownership);
      request->set_cascade(*cascade);
      return make_command(*remove, rpcs::delete_route, std::move(request),
                          subject_of("route", *name));
    });
  }
}

}  // namespace tg::tgctl
