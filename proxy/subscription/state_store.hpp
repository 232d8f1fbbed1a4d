// The last applied pushed table, kept in --state-dir so that a restarted
// proxy serves it at once, before (or without) reaching tg-control.
//
// One file, <dir>/table.state, replaced atomically (write <file>.tmp, fsync,
// rename, fsync the directory): a crash leaves the old file or the new one.
// Layout, integers little-endian:
//   "TGTABLE2"  generation:u64  counter:u64  digest:u64  id_length:u64  length:u64  xxh64:u64
//               registry_id[id_length]  table[length]
// xxh64 covers every field after the magic but itself, the registry id and
// the table bytes. "TGTABLE1" files (generation, counter, length, xxh64,
// table: written before registry identities) are still read, as a table of no
// registry. A file that is short, long, or fails the checksum is refused (the
// caller warns, counts and ignores it).
#pragma once

#include "table/snapshot.hpp"

#include <string>
#include <string_view>

namespace tg::proxy::subscription {

struct SavedTable {
  TableVersion version;
  std::string registry_id;  // empty: unknown (a TGTABLE1 file)
  std::uint64_t digest = 0;  // as tg-control sent it
  std::string table;  // a serialized tenantgate.v1.Table, instance states folded in
};

enum class LoadStatus { absent, loaded, corrupt };

std::string state_file_path(const std::string& dir);

std::string encode_state(const SavedTable& saved);
// false with `error` when `bytes` is not a whole, intact state file.
bool decode_state(std::string_view bytes, SavedTable& out, std::string& error);

// Creates `dir` if missing. false with `error` (the step and errno text).
bool save_state(const std::string& dir, const SavedTable& saved, std::string& error);
// `absent` when there is no file; `corrupt` with `error` when it cannot be used.
LoadStatus load_state(const std::string& dir, SavedTable& out, std::string& error);

}  // namespace tg::proxy::subscription
