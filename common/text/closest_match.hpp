// "Did you mean ...?": the one typo-distance and closest-candidate rule used
// by the YAML loader (unknown keys, choices, references) and by tgctl (unknown
// flags and commands), so both suggest the same way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::text {

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of two adjacent characters each count 1 ("hots" -> "host" is 1, where
// plain Levenshtein counts 2). Case-sensitive, byte-wise.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a likely typo:
// distance at most 1 for words under 6 characters, else at most 2. Ties keep
// the earlier candidate.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace tg::text
