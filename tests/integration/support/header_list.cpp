#include "support/header_list.hpp"

#include <algorithm>
#include <cctype>

namespace tg::itest {

namespace {
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::optional<std::string> HeaderList::get(std::string_view name) const {
  for (const Entry& entry : entries_) {
    if (iequals(entry.first, name)) return entry.second;
  }
  return std::nullopt;
}

std::vector<std::string> HeaderList::get_all(std::string_view name) const {
  std::vector<std::string> values;
  for (const Entry& entry : entries_) {
    if (iequals(entry.first, name)) values.push_back(entry.second);
  }
  return values;
}

std::size_t HeaderList::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      entries_.begin(), entries_.end(), [&](const Entry& entry) { return iequals(entry.first, name); }));
}

std::string HeaderList::describe() const {
  std::string text;
  for (const Entry& entry : entries_) {
    text += entry.first;
    text += ": ";
    text += entry.second;
    text += '\n';
  }
  return text;
}

}  // namespace tg::itest
