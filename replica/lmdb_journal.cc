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

std::string with_crc(std::string_view payload) {
  const std::uint32_t c = crc32c(payload);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>((c >> (24 - 8 * i)) & 0xFF);
  out.append(payload);
  return out;
}
// Returns the payload if the checksum matches.
std::optional<std::string_view> check_crc(std::string_view stored) {
  if (stored.size() < 4) return std::nullopt;
  std::uint32_t c = 0;
  for (int i = 0; i < 4; ++i)
    c = (c << 8) | static_cast<unsigned char>(stored[i]);
  const std::string_view payload = stored.substr(4);
  if (crc32c(payload) != c) return std::nullopt;
  return payload;
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

// A write transaction that aborts unless committed.
class WriteTxn {
 public:
  explicit WriteTxn(MDB_env* env) { rc_ = mdb_txn_begin(env, nullptr, 0, &txn_); }
  ~WriteTxn() {
    if (txn_) mdb_txn_abort(txn_);
  }
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
  mdb_env_set_maxdbs(env->env, 4);
  mdb_env_set_mapsize(env->env, map_size_bytes);
  rc = mdb_env_open(env->env, dir.c_str(), 0, 0644);
  if (rc) return lmdb_error("open " + dir, rc);
  WriteTxn txn(env->env);
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
  rc = txn.commit();
  if (rc) return lmdb_error("commit", rc);
  return std::unique_ptr<LmdbJournal>(new LmdbJournal(dir, std::move(env)));
}

crdt::Result<bool> LmdbJournal::append(const JournalRecord& record) {
  const auto start = std::chrono::steady_clock::now();
  const std::string key = be64(record.seq);
  const std::string value = with_crc(encode_record(record));
  WriteTxn txn(env_->env);
  if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(txn.get(), env_->journal, &k, &v, 0);
  if (rc) return lmdb_error("put journal", rc);
  rc = txn.commit();  // durable: LMDB syncs on commit by default
  if (rc) return lmdb_error("commit journal", rc);
  ++stats_.appends;
  stats_.append_bytes += value.size();
  const auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count());
  stats_.commit_us.record(static_cast<double>(us));
  return true;
}

crdt::Result<bool> LmdbJournal::snapshot(const Store& store, std::uint64_t next_seq) {
  WriteTxn txn(env_->env);
  if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
  int rc = mdb_drop(txn.get(), env_->state, 0);
  if (rc) return lmdb_error("clear state", rc);
  for (const auto& [key, value] : store.entries()) {
    const std::string k = state_key(key), v = with_crc(encode_value(value));
    MDB_val mk = val(k), mv = val(v);
    rc = mdb_put(txn.get(), env_->state, &mk, &mv, 0);
    if (rc) return lmdb_error("put state", rc);
  }
  const std::string meta_key = "snapshot_seq", seq = be64(next_seq);
  MDB_val mk = val(meta_key), mv = val(seq);
  rc = mdb_put(txn.get(), env_->meta, &mk, &mv, 0);
  if (rc) return lmdb_error("put meta", rc);
  // Drop the journal records the snapshot covers.
  MDB_cursor* cur = nullptr;
  rc = mdb_cursor_open(txn.get(), env_->journal, &cur);
  if (rc) return lmdb_error("cursor", rc);
  MDB_val ck, cv;
  while (mdb_cursor_get(cur, &ck, &cv, MDB_FIRST) == 0 && ck.mv_size == 8 &&
         from_be64(static_cast<const char*>(ck.mv_data)) < next_seq) {
    mdb_cursor_del(cur, 0);
  }
  mdb_cursor_close(cur);
  rc = txn.commit();
  if (rc) return lmdb_error("commit snapshot", rc);
  ++stats_.snapshots;
  return true;
}

crdt::Result<Recovery> LmdbJournal::recover(const ComponentRegistry& registry) {
  Recovery out;
  std::vector<std::pair<MDB_dbi, std::string>> bad;  // (db, key) to quarantine
  {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &txn);
    if (rc) return lmdb_error("txn_begin", rc);
    std::uint64_t snapshot_seq = 1;
    MDB_val mk = val("snapshot_seq"), mv;
    if (mdb_get(txn, env_->meta, &mk, &mv) == 0 && mv.mv_size == 8) {
      snapshot_seq = from_be64(static_cast<const char*>(mv.mv_data));
    }
    out.next_seq = snapshot_seq;
    // Snapshot.
    JournalRecord snap{snapshot_seq > 0 ? snapshot_seq - 1 : 0, {}};
    MDB_cursor* cur = nullptr;
    mdb_cursor_open(txn, env_->state, &cur);
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      const auto payload = check_crc(view(v));
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
    mdb_cursor_close(cur);
    if (!snap.entries.empty()) out.records.push_back(std::move(snap));
    // Journal tail.
    mdb_cursor_open(txn, env_->journal, &cur);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      const auto payload = check_crc(view(v));
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
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
  }
  if (!bad.empty()) {
    WriteTxn txn(env_->env);
    if (txn.rc()) return lmdb_error("txn_begin", txn.rc());
    for (const auto& [dbi, key] : bad) {
      MDB_val k = val(key), v;
      if (mdb_get(txn.get(), dbi, &k, &v) != 0) continue;
      const std::string raw(view(v));
      const std::string qkey = std::string(dbi == env_->journal ? "journal/" : "state/") + hex(key);
      MDB_val qk = val(qkey), qv = val(raw);
      mdb_put(txn.get(), env_->quarantine, &qk, &qv, 0);
      mdb_del(txn.get(), dbi, &k, nullptr);
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
