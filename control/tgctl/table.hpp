// A plain-text table: a header row and aligned columns, two spaces apart,
// nothing after the last column (so lines carry no trailing blanks).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tg::tgctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // A row with fewer cells than headers is padded with ""; more is a bug.
  void add_row(std::vector<std::string> cells);
  std::size_t rows() const { return rows_.size(); }

  // The header row is written even when there are no rows.
  void write(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Columns are measured in UTF-8 code points, not bytes.
std::size_t display_width(const std::string& text);

}  // namespace tg::tgctl
