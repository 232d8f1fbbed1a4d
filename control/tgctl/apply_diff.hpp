// Short diffs of the before/after JSON documents that Admin.Apply's changes
// and the audit log carry: which fields changed and how, one line per field.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tg::tgctl {

// "match.host: a.example -> b.example" for each leaf that differs between the
// two JSON objects, in path order. Objects are walked field by field; a list
// of objects with distinct "name"s (a tenant's credentials) element by
// element as "credentials[ci].kind", an element only one side has as one
// line ("credentials[ci]: (none) -> added"); other arrays and scalars are
// compared whole; "meta" (output-only bookkeeping) is left out. A
// side that is absent reads "(none)". Text that is not a JSON object counts as
// an empty object. With `include_meta`, "meta" is compared too.
std::vector<std::string> json_diff(std::string_view before_json, std::string_view after_json,
                                   bool include_meta = false);

// The first `max_items` of json_diff joined by "; ", then "(+N more)". When
// only "meta" differs (an object that moved in its file: source.line), that
// difference is shown, so an update never shows an empty diff.
std::string short_diff(std::string_view before_json, std::string_view after_json,
                       std::size_t max_items = 3);

}  // namespace tg::tgctl
