// Reading and writing an LMDB data directory underneath LmdbJournal, through LMDB itself: what a
// test needs to damage a record the way a bad disk or a misdirected write would, while the
// environment stays readable. REQUIRES: the journal is not open in this process meanwhile.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string>

namespace worldline::testing {

// Reads the bytes LMDB holds under `key` in database `db` (through LMDB itself, read-only).
inline std::string stored_value(const std::string& dir, const char* db, const std::string& key) {
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 4);
  std::string out;
  if (mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0644) == 0) {
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    if (mdb_dbi_open(txn, db, 0, &dbi) == 0) {
      MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
      if (mdb_get(txn, dbi, &k, &v) == 0) out.assign(static_cast<char*>(v.mv_data), v.mv_size);
    }
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
  return out;
}

// Writes `value` under `key` in database `db` through LMDB (read-write), and deletes `remove` if
// it is not empty: a record moved under another key, as a misdirected write would leave it.
inline bool put_raw(const std::string& dir, const char* db, const std::string& key,
                    const std::string& value, const std::string& remove = {}) {
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 4);
  bool ok = false;
  if (mdb_env_open(env, dir.c_str(), 0, 0644) == 0) {
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    mdb_txn_begin(env, nullptr, 0, &txn);
    if (mdb_dbi_open(txn, db, MDB_CREATE, &dbi) == 0) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{value.size(), const_cast<char*>(value.data())};
      ok = mdb_put(txn, dbi, &k, &v, 0) == 0;
      if (ok && !remove.empty()) {
        MDB_val r{remove.size(), const_cast<char*>(remove.data())};
        ok = mdb_del(txn, dbi, &r, nullptr) == 0;
      }
    }
    ok = mdb_txn_commit(txn) == 0 && ok;
  }
  mdb_env_close(env);
  return ok;
}

inline std::string be(std::uint64_t v, int bytes) {
  std::string s(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8)
    s[i] = static_cast<char>(v & 0xFF);
  return s;
}

// Flips one byte in the middle of the journal record `seq` (its checksum then fails at recovery).
inline bool corrupt_journal_record(const std::string& dir, std::uint64_t seq) {
  std::string v = stored_value(dir, "journal", be(seq, 8));
  if (v.empty()) return false;
  v[v.size() / 2] = static_cast<char>(v[v.size() / 2] ^ 0x20);
  return put_raw(dir, "journal", be(seq, 8), v);
}

}  // namespace worldline::testing
