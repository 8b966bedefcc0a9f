// LmdbJournal: the replica's durable state in one LMDB environment (a directory).
//   journal     seq (8 bytes, big-endian) → CRC-32C (4 bytes) + JournalRecord
//   state       entity (8) + component (2), big-endian → CRC-32C + value   (the last snapshot)
//   meta        "format" → 2 (8 bytes); "snapshot_seq" → the first seq not covered by `state`;
//               "next_seq" → above every seq ever appended (written with each append);
//               "repairing" → present while a repair from peers is unfinished
//   quarantine  "<db>/<hex key>" → the raw bytes of a record that failed its checksum or decoding
// Each CRC-32C covers the record's key followed by its payload (format 2), so a value found under
// a key it was not written under fails like a flipped byte. A directory of format 1 (checksums over
// the payload alone, no "format" in meta) is converted in place by open().
// append() is one write transaction, synced before it returns (group commit: the caller appends
// one record per tick). recover() reads the snapshot and the journal tail back, checking every
// record; what fails is moved to quarantine, logged and counted, never joined. Every LMDB call's
// result is checked: a failure comes back as an error naming the operation.
// Thread safety: one thread at a time (the replica's).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "replica/histogram.h"
#include "replica/journal.h"
#include "replica/store.h"

namespace worldline::replica {

struct Recovery {
  std::vector<JournalRecord> records;  // snapshot first (as one record), then the journal tail
  // Above every seq ever appended (meta next_seq) and every record read: a group numbered from here
  // on never reuses a seq, even when the newest records were quarantined.
  std::uint64_t next_seq = 1;
  std::uint64_t quarantined = 0;  // records that failed their checksum or did not decode
  // Keys of quarantined snapshot entries (known, so they can be fetched back by key); a
  // quarantined journal record's keys are unknown, which calls for a digest resync instead.
  std::vector<Key> quarantined_keys;
  std::uint64_t quarantined_journal_records = 0;
  // A repair begun before this start had not finished (meta "repairing"): the quarantined records
  // are gone from the journal now, but the state still lacks what they held.
  bool repair_pending = false;
  // True when anything was quarantined, now or in a start whose repair never finished: the state
  // read back may lack this replica's own writes, so it must not write again before its peers
  // gave them back (Replica::request_resync()).
  bool lost_state() const { return quarantined > 0 || repair_pending; }
};

struct JournalStats {
  std::uint64_t appends = 0;
  std::uint64_t append_bytes = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t snapshots = 0;
  Histogram commit_us{{}};  // synced commit latency, microseconds
};

class LmdbJournal final : public Journal {
 public:
  // Opens (creating if needed) the environment in directory `dir`.
  static crdt::Result<std::unique_ptr<LmdbJournal>> open(const std::string& dir,
                                                         std::uint64_t map_size_bytes = 1ull << 32);
  ~LmdbJournal() override;

  crdt::Result<bool> append(const JournalRecord& record) override;
  // Writes the whole store as the new snapshot covering seqs below `next_seq` and drops the
  // journal records it covers, in one transaction.
  crdt::Result<bool> snapshot(const Store& store, std::uint64_t next_seq);
  crdt::Result<Recovery> recover(const ComponentRegistry& registry);
  // Marks (durably) that a repair from peers is under way, or finished: a node that stops or
  // crashes before its peers gave back what was quarantined repairs again at its next start,
  // although the quarantined records are no longer there to fail their checks.
  crdt::Result<bool> set_repairing(bool repairing);

  JournalStats stats() const;
  const std::string& dir() const { return dir_; }
  // Called with every record once its append is durable (the whole-node simulation keeps each
  // node's groups to check every ack against them).
  void set_append_observer(std::function<void(const JournalRecord&)> observer) {
    append_observer_ = std::move(observer);
  }

 private:
  struct Env;
  LmdbJournal(std::string dir, std::unique_ptr<Env> env);

  std::string dir_;
  std::unique_ptr<Env> env_;
  JournalStats stats_;
  std::function<void(const JournalRecord&)> append_observer_;
};

}  // namespace worldline::replica
