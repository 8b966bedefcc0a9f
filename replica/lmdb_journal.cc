#include "replica/lmdb_journal.h"

#include <lmdb.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <filesystem>

#include <chrono>
#include <cstring>
#include <iterator>
#include <limits>

#include "replica/crc32c.h"

namespace worldline::replica {
namespace {

const std::vector<double> kCommitBoundsUs = {50,   100,   200,   500,   1000,   2000,
                                             5000, 10000, 20000, 50000, 100000, 1000000};

crdt::Error lmdb_error(const std::string& what, int rc) {
  std::string message = "lmdb " + what + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL) message += " (the data directory is full: raise replica.map_size_mb)";
  return crdt::make_error(crdt::ErrorCode::kInvalidState, message);
}

std::string be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    s[i] = static_cast<char>(v & 0xFF);
  return s;
}
std::uint64_t from_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::string state_key(const Key& k) {
  std::string s = be64(k.entity);
  s.push_back(static_cast<char>(k.component >> 8));
  s.push_back(static_cast<char>(k.component & 0xFF));
  return s;
}

// Record format 2: CRC-32C over the record's LMDB key followed by its payload, so a value moved
// (or a key's bytes flipped) under another key fails its check, not only a value's own bytes.
// Format 1 (no `format` in meta) covered the payload alone; open() converts it once.
constexpr std::uint32_t kFormat = 2;
const std::string kFormatKey = "format";
const std::string kSnapshotSeqKey = "snapshot_seq";
const std::string kNextSeqKey = "next_seq";
const std::string kRepairingKey = "repairing";

std::uint32_t record_crc(std::string_view key, std::string_view payload) {
  return crc32c_extend(crc32c(key), payload);
}

std::string with_crc(std::string_view key, std::string_view payload) {
  const std::uint32_t c = record_crc(key, payload);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>((c >> (24 - 8 * i)) & 0xFF);
  out.append(payload);
  return out;
}
std::optional<std::uint32_t> stored_crc(std::string_view stored) {
  if (stored.size() < 4) return std::nullopt;
  std::uint32_t c = 0;
  for (int i = 0; i < 4; ++i)
    c = (c << 8) | static_cast<unsigned char>(stored[i]);
  return c;
}
// Returns the payload if the checksum (over key and payload) matches.
std::optional<std::string_view> check_crc(std::string_view key, std::string_view stored) {
  const auto c = stored_crc(stored);
  if (!c || record_crc(key, stored.substr(4)) != *c) return std::nullopt;
  return stored.substr(4);
}
// Format 1: the checksum covered the payload only.
bool format1_crc_ok(std::string_view stored) {
  const auto c = stored_crc(stored);
  return c && crc32c(stored.substr(4)) == *c;
}

MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// A transaction that aborts unless committed.
class Txn {
 public:
  Txn(MDB_env* env, unsigned flags) { rc_ = mdb_txn_begin(env, nullptr, flags, &txn_); }
  ~Txn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  int rc() const { return rc_; }
  MDB_txn* get() { return txn_; }
  int commit() {
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_;
};

// A cursor closed when it leaves scope (before its transaction ends: declare it after the Txn).
class Cursor {
 public:
  int open(MDB_txn* txn, MDB_dbi dbi) { return mdb_cursor_open(txn, dbi, &cur_); }
  ~Cursor() {
    if (cur_) mdb_cursor_close(cur_);
  }
  MDB_cursor* get() { return cur_; }

 private:
  MDB_cursor* cur_ = nullptr;
};

// Rewrites every format-1 record of `dbi` whose payload-only checksum holds with the format-2
// checksum (same size, in place). A record whose old checksum fails is left as it is: recover()
// quarantines it. Returns how many were left.
crdt::Result<std::uint64_t> convert_format1(MDB_txn* txn, MDB_dbi dbi, const char* name) {
  Cursor cur;
  int rc = cur.open(txn, dbi);
  if (rc) return lmdb_error(std::string("cursor_open ") + name, rc);
  std::uint64_t left = 0;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur.get(), &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur.get(), &k, &v, MDB_NEXT)) {
    const std::string stored(view(v));
    if (!format1_crc_ok(stored)) {
      ++left;
      continue;
    }
    const std::string rewritten = with_crc(view(k), std::string_view(stored).substr(4));
    MDB_val nv = val(rewritten);
    rc = mdb_cursor_put(cur.get(), &k, &nv, MDB_CURRENT);
    if (rc) return lmdb_error(std::string("convert ") + name, rc);
  }
  if (rc != MDB_NOTFOUND) return lmdb_error(std::string("cursor_get ") + name, rc);
  return left;
}

}  // namespace

struct LmdbJournal::Env {
  MDB_env* env = nullptr;
  MDB_dbi journal = 0, state = 0, meta = 0, quarantine = 0;
  ~Env() {
    if (env) mdb_env_close(env);
  }
};

LmdbJournal::LmdbJournal(std::string dir, std::unique_ptr<Env> env)
    : dir_(std::move(dir)), env_(std::move(env)) {
  stats_.commit_us = Histogram(kCommitBoundsUs);
}

LmdbJournal::~LmdbJournal() = default;

crdt::Result<std::unique_ptr<LmdbJournal>> LmdbJournal::open(const std::string& dir,
                                                             std::uint64_t map_size_bytes) {
  // Parents too (a fresh machine has no /var/lib/worldline); mdb_env_open reports real problems.
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  auto env = std::make_unique<Env>();
  int rc = mdb_env_create(&env->env);
  if (rc) return lmdb_error("env_create", rc);
  rc = mdb_env_set_maxdbs(env->env, 4);
  if (rc) return lmdb_error("env_set_maxdbs", rc);
  rc = mdb_env_set_mapsize(env->env, map_size_bytes);
  if (rc) return lmdb_error("env_set_mapsize", rc);
  rc = mdb_env_open(env->env, dir.c_str(), 0, 0644);
  if (rc) return lmdb_error("open " + dir, rc);
  Txn txn(env->env, 0);
  if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
  struct {
    const char* name;
    MDB_dbi* dbi;
  } dbs[] = {{"journal", &env->journal},
             {"state", &env->state},
             {"meta", &env->meta},
             {"quarantine", &env->quarantine}};
  for (auto& d : dbs) {
    rc = mdb_dbi_open(txn.get(), d.name, MDB_CREATE, d.dbi);
    if (rc) return lmdb_error(std::string("dbi_open ") + d.name, rc);
  }
  MDB_val fk = val(kFormatKey), fv;
  rc = mdb_get(txn.get(), env->meta, &fk, &fv);
  if (rc == MDB_NOTFOUND) {
    // New, or written by format 1: convert in this transaction, then mark it.
    auto journal_left = convert_format1(txn.get(), env->journal, "journal");
    if (!journal_left) return journal_left.error();
    auto state_left = convert_format1(txn.get(), env->state, "state");
    if (!state_left) return state_left.error();
    if (journal_left.value() + state_left.value() > 0) {
      spdlog::warn(
          "journal {}: {} journal records and {} snapshot entries failed their format-1 "
          "checksum while converting; recovery quarantines them",
          dir, journal_left.value(), state_left.value());
    }
    const std::string format = be64(kFormat);
    MDB_val v = val(format);
    rc = mdb_put(txn.get(), env->meta, &fk, &v, 0);
    if (rc) return lmdb_error("put meta format", rc);
  } else if (rc) {
    return lmdb_error("get meta format", rc);
  } else if (fv.mv_size != 8 || from_be64(static_cast<const char*>(fv.mv_data)) != kFormat) {
    return crdt::make_error(
        crdt::ErrorCode::kInvalidState,
        "journal " + dir + ": unknown record format " +
            (fv.mv_size == 8 ? std::to_string(from_be64(static_cast<const char*>(fv.mv_data)))
                             : hex(view(fv))) +
            " (this worldline reads format " + std::to_string(kFormat) + ")");
  }
  rc = txn.commit();
  if (rc) return lmdb_error("commit", rc);
  return std::unique_ptr<LmdbJournal>(new LmdbJournal(dir, std::move(env)));
}

crdt::Result<bool> LmdbJournal::append(const JournalRecord& record) {
  const auto start = std::chrono::steady_clock::now();
  const std::string key = be64(record.seq);
  const std::string value = with_crc(key, encode_record(record));
  Txn txn(env_->env, 0);
  if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(txn.get(), env_->journal, &k, &v, 0);
  if (rc) return lmdb_error("put journal", rc);
  // The high-water mark of the seqs used, in the same transaction: recovery never numbers a group
  // below it, even when the newest records are quarantined (finding 4 of issue 15).
  MDB_val nk = val(kNextSeqKey), nv;
  rc = mdb_get(txn.get(), env_->meta, &nk, &nv);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error("get meta next_seq", rc);
  const std::uint64_t used_below =
      rc == 0 && nv.mv_size == 8 ? from_be64(static_cast<const char*>(nv.mv_data)) : 0;
  if (record.seq + 1 > used_below) {
    const std::string next = be64(record.seq + 1);
    nv = val(next);
    rc = mdb_put(txn.get(), env_->meta, &nk, &nv, 0);
    if (rc) return lmdb_error("put meta next_seq", rc);
  }
  rc = txn.commit();  // durable: LMDB syncs on commit by default
  if (rc) return lmdb_error("commit journal", rc);
  ++stats_.appends;
  stats_.append_bytes += value.size();
  const auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count());
  stats_.commit_us.record(static_cast<double>(us));
  if (append_observer_) append_observer_(record);
  return true;
}

crdt::Result<bool> LmdbJournal::snapshot(const Store& store, std::uint64_t next_seq) {
  Txn txn(env_->env, 0);
  if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
  int rc = mdb_drop(txn.get(), env_->state, 0);
  if (rc) return lmdb_error("clear state", rc);
  for (const auto& [key, value] : store.entries()) {
    const std::string k = state_key(key), v = with_crc(k, encode_value(value));
    MDB_val mk = val(k), mv = val(v);
    rc = mdb_put(txn.get(), env_->state, &mk, &mv, 0);
    if (rc) return lmdb_error("put state", rc);
  }
  const std::string seq = be64(next_seq);
  MDB_val mk = val(kSnapshotSeqKey), mv = val(seq);
  rc = mdb_put(txn.get(), env_->meta, &mk, &mv, 0);
  if (rc) return lmdb_error("put meta", rc);
  {  // Drop the journal records the snapshot covers.
    Cursor cur;
    rc = cur.open(txn.get(), env_->journal);
    if (rc) return lmdb_error("cursor_open journal", rc);
    MDB_val ck, cv;
    while ((rc = mdb_cursor_get(cur.get(), &ck, &cv, MDB_FIRST)) == 0 && ck.mv_size == 8 &&
           from_be64(static_cast<const char*>(ck.mv_data)) < next_seq) {
      rc = mdb_cursor_del(cur.get(), 0);
      if (rc) return lmdb_error("drop covered journal record", rc);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error("cursor_get journal", rc);
  }
  rc = txn.commit();
  if (rc) return lmdb_error("commit snapshot", rc);
  ++stats_.snapshots;
  return true;
}

crdt::Result<bool> LmdbJournal::set_repairing(bool repairing) {
  Txn txn(env_->env, 0);
  if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
  MDB_val k = val(kRepairingKey);
  int rc;
  if (repairing) {
    const std::string one = "1";
    MDB_val v = val(one);
    rc = mdb_put(txn.get(), env_->meta, &k, &v, 0);
    if (rc) return lmdb_error("put meta repairing", rc);
  } else {
    rc = mdb_del(txn.get(), env_->meta, &k, nullptr);
    if (rc && rc != MDB_NOTFOUND) return lmdb_error("del meta repairing", rc);
  }
  rc = txn.commit();
  if (rc) return lmdb_error("commit meta repairing", rc);
  return true;
}

crdt::Result<Recovery> LmdbJournal::recover(const ComponentRegistry& registry) {
  Recovery out;
  std::vector<std::pair<MDB_dbi, std::string>> bad;  // (db, key) to quarantine
  {
    Txn txn(env_->env, MDB_RDONLY);
    if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
    std::uint64_t snapshot_seq = 1;
    MDB_val mk = val(kSnapshotSeqKey), mv;
    int rc = mdb_get(txn.get(), env_->meta, &mk, &mv);
    if (rc == 0 && mv.mv_size == 8) {
      snapshot_seq = from_be64(static_cast<const char*>(mv.mv_data));
    } else if (rc == 0) {
      return crdt::make_error(crdt::ErrorCode::kInvalidState,
                              "journal " + dir_ + ": meta snapshot_seq is " +
                                  std::to_string(mv.mv_size) + " bytes, not 8");
    } else if (rc != MDB_NOTFOUND) {
      return lmdb_error("get meta snapshot_seq", rc);
    }
    out.next_seq = snapshot_seq;
    MDB_val nk = val(kNextSeqKey), nv;
    rc = mdb_get(txn.get(), env_->meta, &nk, &nv);
    if (rc == 0 && nv.mv_size == 8) {
      out.next_seq = std::max(out.next_seq, from_be64(static_cast<const char*>(nv.mv_data)));
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
      return lmdb_error("get meta next_seq", rc);
    }  // absent (a format-1 directory, or nothing appended yet): the records decide
    MDB_val rk = val(kRepairingKey), rv;
    rc = mdb_get(txn.get(), env_->meta, &rk, &rv);
    if (rc == 0) {
      out.repair_pending = true;
    } else if (rc != MDB_NOTFOUND) {
      return lmdb_error("get meta repairing", rc);
    }
    // Snapshot.
    JournalRecord snap{snapshot_seq > 0 ? snapshot_seq - 1 : 0, {}};
    {
      Cursor cur;
      rc = cur.open(txn.get(), env_->state);
      if (rc) return lmdb_error("cursor_open state", rc);
      MDB_val k, v;
      for (rc = mdb_cursor_get(cur.get(), &k, &v, MDB_FIRST); rc == 0;
           rc = mdb_cursor_get(cur.get(), &k, &v, MDB_NEXT)) {
        const auto payload = check_crc(view(k), view(v));
        bool ok = payload.has_value() && k.mv_size == 10;
        Key key;
        if (ok) {
          key.entity = from_be64(static_cast<const char*>(k.mv_data));
          const auto* p = static_cast<const unsigned char*>(k.mv_data);
          key.component = static_cast<ComponentId>((p[8] << 8) | p[9]);
          ok = decode_value(registry, key.component, *payload).ok();
        }
        if (!ok) {
          bad.emplace_back(env_->state, std::string(view(k)));
          if (k.mv_size == 10) {
            const auto* p = static_cast<const unsigned char*>(k.mv_data);
            out.quarantined_keys.push_back(Key{from_be64(static_cast<const char*>(k.mv_data)),
                                               static_cast<ComponentId>((p[8] << 8) | p[9])});
          }
          continue;
        }
        snap.entries.push_back(WireEntry{key, std::string(*payload)});
      }
      if (rc != MDB_NOTFOUND) return lmdb_error("cursor_get state", rc);
    }
    if (!snap.entries.empty()) out.records.push_back(std::move(snap));
    // Journal tail.
    {
      Cursor cur;
      rc = cur.open(txn.get(), env_->journal);
      if (rc) return lmdb_error("cursor_open journal", rc);
      MDB_val k, v;
      for (rc = mdb_cursor_get(cur.get(), &k, &v, MDB_FIRST); rc == 0;
           rc = mdb_cursor_get(cur.get(), &k, &v, MDB_NEXT)) {
        const auto payload = check_crc(view(k), view(v));
        std::optional<JournalRecord> record;
        if (payload && k.mv_size == 8) {
          auto r = decode_record(*payload);
          if (r && r.value().seq == from_be64(static_cast<const char*>(k.mv_data))) {
            record = std::move(r).value();
          }
        }
        if (!record) {
          bad.emplace_back(env_->journal, std::string(view(k)));
          ++out.quarantined_journal_records;
          continue;
        }
        out.next_seq = std::max(out.next_seq, record->seq + 1);
        if (record->seq >= snapshot_seq) out.records.push_back(std::move(*record));
      }
      if (rc != MDB_NOTFOUND) return lmdb_error("cursor_get journal", rc);
    }
  }
  if (!bad.empty()) {
    Txn txn(env_->env, 0);
    if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
    for (const auto& [dbi, key] : bad) {
      const std::string qkey = std::string(dbi == env_->journal ? "journal/" : "state/") + hex(key);
      MDB_val k = val(key), v;
      int rc = mdb_get(txn.get(), dbi, &k, &v);
      if (rc) return lmdb_error("get " + qkey + " to quarantine", rc);
      const std::string raw(view(v));
      MDB_val qk = val(qkey), qv = val(raw);
      rc = mdb_put(txn.get(), env_->quarantine, &qk, &qv, 0);
      if (rc) return lmdb_error("put quarantine " + qkey, rc);
      rc = mdb_del(txn.get(), dbi, &k, nullptr);
      if (rc) return lmdb_error("delete quarantined " + qkey, rc);
      spdlog::error(
          "journal {}: record {} failed its checksum or did not decode; quarantined "
          "({} bytes) — its contents will be fetched back from peers",
          dir_, qkey, raw.size());
    }
    const int rc = txn.commit();
    if (rc) return lmdb_error("commit quarantine", rc);
    out.quarantined = bad.size();
    stats_.quarantined += bad.size();
  }
  return out;
}

JournalStats LmdbJournal::stats() const {
  return stats_;
}

}  // namespace worldline::replica
