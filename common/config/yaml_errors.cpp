// Located errors, YAML syntax errors and duplicate-key detection.
#include "config/yaml_errors.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace tg::config {
namespace {

// Bounds for walking a document whose aliases may repeat (or even contain)
// nodes; real configuration files are far below both.
constexpr int max_depth = 64;
constexpr std::size_t max_visits = 1'000'000;

class DuplicateKeyWalker {
 public:
  explicit DuplicateKeyWalker(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  // False when a bound was hit (already reported).
  bool walk(const YAML::Node& node, const std::string& path, int depth) {
    if (++visits_ > max_visits) {
      report_limit(node, "the document expands (through aliases) into more than 1000000 nodes");
      return false;
    }
    if (depth > max_depth) {
      report_limit(node, "the document nests more than 64 levels deep");
      return false;
    }
    if (node.IsSequence()) {
      std::size_t index = 0;
      for (const auto& item : node) {
        if (!walk(item, path + '[' + std::to_string(index++) + ']', depth + 1)) return false;
      }
    } else if (node.IsMap()) {
      return walk_mapping(node, path, depth);
    }
    return true;
  }

 private:
  bool walk_mapping(const YAML::Node& node, const std::string& path, int depth) {
    const std::string where = path.empty() ? std::string{} : path + ": ";
    std::map<std::string, SourceLocation> first_seen;
    for (const auto& pair : node) {
      const YAML::Node& key = pair.first;
      const SourceLocation at = diagnostics_.locate(key.Mark());
      if (!key.IsScalar()) {
        diagnostics_.error(at, where + "mapping keys must be plain strings");
        continue;
      }
      const auto [it, inserted] = first_seen.emplace(key.Scalar(), at);
      if (!inserted) {
        diagnostics_.error(at, where + "duplicate key \"" + key.Scalar() + "\" (first at line " +
                                   std::to_string(it->second.line) + ", column " +
                                   std::to_string(it->second.column) + ")");
      }
      const std::string child = path.empty() ? key.Scalar() : path + '.' + key.Scalar();
      if (!walk(pair.second, child, depth + 1)) return false;
    }
    return true;
  }

  void report_limit(const YAML::Node& node, const std::string& what) {
    if (!limit_reported_) diagnostics_.error(diagnostics_.locate(node.Mark()), what);
    limit_reported_ = true;
  }

  Diagnostics& diagnostics_;
  std::size_t visits_ = 0;
  bool limit_reported_ = false;
};

}  // namespace

Diagnostics::Diagnostics(std::string file) : file_(std::move(file)) {}

SourceLocation Diagnostics::locate(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return SourceLocation{file_, 0, 0};
  return SourceLocation{file_, mark.line + 1, mark.column + 1};
}

void Diagnostics::error(SourceLocation location, std::string message) {
  errors_.push_back(ConfigError{std::move(location), std::move(message)});
}

std::vector<ConfigError> Diagnostics::take_sorted() {
  std::vector<ConfigError> sorted = std::move(errors_);
  errors_.clear();
  std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.location.line, a.location.column) < std::tie(b.location.line, b.location.column);
  });
  std::vector<ConfigError> unique;
  for (auto& error : sorted) {
    const bool repeat = std::any_of(unique.begin(), unique.end(), [&](const ConfigError& seen) {
      return seen.location.line == error.location.line &&
             seen.location.column == error.location.column && seen.message == error.message;
    });
    if (!repeat) unique.push_back(std::move(error));
  }
  return unique;
}

namespace {

// A document marker ("---" or "...") at the start of a line, followed by
// white space or the end of the line.
bool is_marker(std::string_view line, std::string_view marker) {
  if (line.substr(0, 3) != marker) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

bool is_content(std::string_view line) {
  const auto first = line.find_first_not_of(" \t\r");
  return first != std::string_view::npos && line[first] != '#' && line[first] != '%';
}

// The 1-based line where a second document's content starts, or 0. Markers
// delimit documents wherever they stand (YAML 1.2 §9.1), so a line scan finds
// them exactly; empty documents around the real one are harmless.
int second_document_line(std::string_view text) {
  bool content = false;   // the first document has content
  bool boundary = false;  // a marker closed it
  int number = 0;
  for (std::size_t begin = 0; begin <= text.size();) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(begin, end - begin);
    ++number;
    const bool start = is_marker(line, "---");
    if (start || is_marker(line, "...")) {
      if (content) boundary = true;
      if (start && is_content(line.substr(3))) {  // "--- value"
        if (boundary) return number;
        content = true;
      }
    } else if (is_content(line)) {
      if (boundary) return number;
      content = true;
    }
    begin = end + 1;
  }
  return 0;
}

}  // namespace

std::optional<YAML::Node> parse_document(Diagnostics& diagnostics, std::string_view text) {
  // YAML::LoadAll loops forever on some malformed input (yaml-cpp 0.7: a file
  // holding just "," never ends), so only the first document is parsed and a
  // second one is found by its marker.
  if (const int line = second_document_line(text)) {
    YAML::Mark mark;  // its (pos, line, column) constructor is private
    mark.line = line - 1;
    mark.column = 0;
    diagnostics.error(diagnostics.locate(mark),
                      "a second YAML document (after \"---\") is not supported; "
                      "put the whole configuration in one document");
    return std::nullopt;
  }
  try {
    YAML::Node root = YAML::Load(std::string(text));
    // yaml-cpp 0.7 reads a document that is only a flow separator (",") as
    // an empty one; it is not YAML, and an empty configuration is not what
    // its author meant.
    const YAML::Mark at = root.Mark();
    if (root.IsNull() && !at.is_null() && at.pos >= 0 && static_cast<std::size_t>(at.pos) < text.size() &&
        text[static_cast<std::size_t>(at.pos)] == ',') {
      diagnostics.error(diagnostics.locate(at), "YAML syntax error: unexpected ','");
      return std::nullopt;
    }
    return root;
  } catch (const YAML::Exception& e) {
    diagnostics.error(diagnostics.locate(e.mark), "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

bool check_duplicate_keys(Diagnostics& diagnostics, const YAML::Node& root) {
  DuplicateKeyWalker walker(diagnostics);
  return walker.walk(root, std::string{}, 0);
}

}  // namespace tg::config
