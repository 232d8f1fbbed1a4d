// Admin operations on routes, including PatchRoute's field masks.
#include "registry/operation.hpp"
#include "registry/validate.hpp"

#include <google/protobuf/field_mask.pb.h>

namespace tg::control {

using detail::finish;
using detail::quoted;
using detail::set_api_source;

namespace {

// Copies the masked field of `from` into `to`. False for an unknown path.
// Setting one of path_prefix / path_exact clears the other, so a patch can
// switch a route between the two forms with one path.
bool apply_mask_path(const std::string& path, const v1::Route& from, v1::Route& to) {
  v1::RouteMatch& match = *to.mutable_match();
  if (path == "service") {
    to.set_service(from.service());
  } else if (path == "match") {
    *to.mutable_match() = from.match();
  } else if (path == "match.host") {
    match.set_host(from.match().host());
  } else if (path == "match.path_prefix") {
    match.set_path_prefix(from.match().path_prefix());
    if (!from.match().path_prefix().empty()) match.clear_path_exact();
  } else if (path == "match.path_exact") {
    match.set_path_exact(from.match().path_exact());
    if (!from.match().path_exact().empty()) match.clear_path_prefix();
  } else if (path == "match.method") {
    match.set_method(from.match().method());
  } else if (path == "match.header") {
    if (from.match().has_header()) {
      *match.mutable_header() = from.match().header();
    } else {
      match.clear_header();
    }
  } else if (path == "rewrite") {
    if (from.has_rewrite()) {
      *to.mutable_rewrite() = from.rewrite();
    } else {
      to.clear_rewrite();
    }
  } else if (path == "rewrite.strip_prefix") {
    to.mutable_rewrite()->set_strip_prefix(from.rewrite().strip_prefix());
  } else {
    return false;
  }
  return true;
}

}  // namespace

Status Registry::list_routes(const v1::ListRoutesRequest& request, v1::ListRoutesResponse* out) const {
  for (const auto& [name, route] : routes_) {
    if (!request.service().empty() && route.service() != request.service()) continue;
    if (!request.tenant().empty()) {
      auto service = services_.find(route.service());
      if (service == services_.end() || service->second.tenant() != request.tenant()) continue;
    }
    *out->add_routes() = route;
  }
  return {};
}

Status Registry::get_route(const v1::GetRouteRequest& request, v1::Route* out) const {
  if (request.name().empty()) return Status::invalid("name", "required");
  auto it = routes_.find(request.name());
  if (it == routes_.end()) return Status::not_found("route " + quoted(request.name()) + " not found");
  *out = it->second;
  return {};
}

Status Registry::create_route(const v1::CreateRouteRequest& request, const WriteContext& context, v1::Route* out,
                              CommitBatch* batch) {
  v1::Route route = request.route();
  route.clear_meta();
  if (Status status = normalise_route(route); !status.ok()) return status;
  if (routes_.contains(route.name())) return Status::exists("route " + quoted(route.name()) + " already exists");
  set_api_source(route.mutable_meta());
  Transaction tx(*this, context);
  const std::string name = route.name();
  tx.put(std::move(route));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = routes_.at(name);
  return {};
}

Status Registry::update_route(const v1::UpdateRouteRequest& request, const WriteContext& context, v1::Route* out,
                              CommitBatch* batch) {
  v1::Route route = request.route();
  route.clear_meta();
  if (Status status = normalise_route(route); !status.ok()) return status;
  auto it = routes_.find(route.name());
  if (it == routes_.end()) return Status::not_found("route " + quoted(route.name()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "route", route.name());
      !status.ok())
    return status;
  set_api_source(route.mutable_meta());
  Transaction tx(*this, context);
  const std::string name = route.name();
  tx.put(std::move(route));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = routes_.at(name);
  return {};
}

Status Registry::patch_route(const v1::PatchRouteRequest& request, const WriteContext& context, v1::Route* out,
                             CommitBatch* batch) {
  const std::string& name = request.route().name();
  if (name.empty()) return Status::invalid("route.name", "required");
  if (request.update_mask().paths_size() == 0)
    return Status::invalid("update_mask", "empty; list the fields to change, e.g. \"match.host\"");
  v1::Route scratch;  // validate every path before looking anything up
  for (const std::string& path : request.update_mask().paths()) {
    if (!apply_mask_path(path, request.route(), scratch))
      return Status::invalid("update_mask", "unknown path " + quoted(path) +
                                                "; known: service, match, match.host, match.path_prefix, "
                                                "match.path_exact, match.method, match.header, rewrite, "
                                                "rewrite.strip_prefix");
  }
  auto it = routes_.find(name);
  if (it == routes_.end()) return Status::not_found("route " + quoted(name) + " not found");
  v1::Route route = it->second;
  for (const std::string& path : request.update_mask().paths()) apply_mask_path(path, request.route(), route);
  route.clear_meta();
  if (Status status = normalise_route(route); !status.ok()) return status;
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "route", name); !status.ok())
    return status;
  set_api_source(route.mutable_meta());
  Transaction tx(*this, context);
  tx.put(std::move(route));
  if (Status status = finish(tx, batch); !status.ok()) return status;
  *out = routes_.at(name);
  return {};
}

Status Registry::delete_route(const v1::DeleteRouteRequest& request, const WriteContext& context,
                              v1::DeleteResponse* out, CommitBatch* batch) {
  if (request.name().empty()) return Status::invalid("name", "required");
  auto it = routes_.find(request.name());
  if (it == routes_.end()) return Status::not_found("route " + quoted(request.name()) + " not found");
  if (Status status = check_editable(it->second.meta(), request.take_ownership(), "route", request.name());
      !status.ok())
    return status;
  Transaction tx(*this, context);
  tx.erase_through_api(ObjectKind::route, request.name());
  if (Status status = finish(tx, batch); !status.ok()) return status;
  out->set_revision(revision_);
  return {};
}

}  // namespace tg::control
