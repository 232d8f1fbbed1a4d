// An ordered HTTP header list with case-insensitive lookup; duplicates kept.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tg::itest {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view text);

class HeaderList {
 public:
  using Entry = std::pair<std::string, std::string>;

  HeaderList() = default;
  HeaderList(std::initializer_list<Entry> entries) : entries_(entries) {}

  void add(std::string name, std::string value) {
    entries_.emplace_back(std::move(name), std::move(value));
  }
  // First value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  // First value of `name`, or "".
  std::string value(std::string_view name) const { return get(name).value_or(""); }
  std::vector<std::string> get_all(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  bool has(std::string_view name) const { return count(name) > 0; }

  const std::vector<Entry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }
  // "Name: value" lines, for failure messages.
  std::string describe() const;

 private:
  std::vector<Entry> entries_;
};

}  // namespace tg::itest
