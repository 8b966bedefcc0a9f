// The LMDB journal against a real LMDB file: recovery after reopen, snapshots, and a record
// corrupted on disk being detected, quarantined and repaired from a peer.
#include "replica/lmdb_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lmdb.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <tuple>

#include "crdt/codec.h"
#include "replica/crc32c.h"
#include "replica/replica.h"
#include "tests/support/lmdb_raw.h"

namespace worldline::replica {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using worldline::testing::be;
using worldline::testing::put_raw;
using worldline::testing::stored_value;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("worldline-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// Delivers straight into the other replica (no network): for tests of what crosses it.
class DirectOutbox : public Outbox {
 public:
  void send(ReplicaId to, std::string bytes) override { queue.emplace_back(to, std::move(bytes)); }
  std::vector<std::pair<ReplicaId, std::string>> queue;
};

void pump(std::map<ReplicaId, Replica*> replicas, std::map<ReplicaId, DirectOutbox*> outboxes,
          std::uint64_t now) {
  for (int round = 0; round < 20; ++round) {
    for (auto& [id, r] : replicas)
      r->gossip(now + round * 1000);
    bool any = true;
    while (any) {
      any = false;
      for (auto& [from, box] : outboxes) {
        auto q = std::move(box->queue);
        box->queue.clear();
        for (auto& [to, bytes] : q) {
          any = true;
          replicas.at(to)->receive(from, bytes, now + round * 1000);
        }
      }
    }
  }
}

JournalRecord record_with_name(std::uint64_t seq, const std::string& name) {
  crdt::DisplayName n;
  n.assign(1, name);
  return JournalRecord{seq, {WireEntry{Key{seq, 10}, crdt::encode(n)}}};
}

// Flips one byte in the middle of every occurrence of `needle` in the LMDB data file, the way a
// bad sector would: underneath LMDB, not through it. (LMDB is copy-on-write: stale copies of a
// page may sit in free pages, so the live one is not necessarily the first.)
bool corrupt_on_disk(const std::string& dir, const std::string& needle) {
  const std::string file = dir + "/data.mdb";
  std::ifstream in(file, std::ios::binary);
  std::string data(std::istreambuf_iterator<char>(in), {});
  in.close();
  if (needle.empty()) return false;
  std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
  bool found = false;
  for (auto at = data.find(needle); at != std::string::npos; at = data.find(needle, at + 1)) {
    const std::size_t pos = at + needle.size() / 2;
    out.seekp(static_cast<std::streamoff>(pos));
    out.put(static_cast<char>(data[pos] ^ 0x20));
    found = true;
  }
  return found && out.good();
}

TEST(LmdbJournal, RecordsSurviveReopen) {
  TempDir dir;
  const auto reg = ComponentRegistry::game_defaults();
  {
    auto j = LmdbJournal::open(dir.str());
    ASSERT_TRUE(j.ok()) << j.error().to_string();
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
      ASSERT_TRUE(j.value()->append(record_with_name(seq, "n" + std::to_string(seq))).ok());
    }
    EXPECT_EQ(j.value()->stats().appends, 5u);
    EXPECT_EQ(j.value()->stats().commit_us.count(), 5u);  // one latency per synced commit
  }
  auto j = LmdbJournal::open(dir.str());
  ASSERT_TRUE(j.ok());
  auto rec = j.value()->recover(reg);
  ASSERT_TRUE(rec.ok()) << rec.error().to_string();
  ASSERT_EQ(rec.value().records.size(), 5u);
  EXPECT_EQ(rec.value().next_seq, 6u);
  EXPECT_EQ(rec.value().quarantined, 0u);
  for (std::uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(rec.value().records[i].seq, i + 1);
    EXPECT_EQ(rec.value().records[i].entries[0].key, (Key{i + 1, 10}));
  }
}

TEST(LmdbJournal, SnapshotCoversTheJournalAndRecoveryRebuildsTheStore) {
  TempDir dir;
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal unused;
  DirectOutbox box;
  Store::Entries expected;
  {
    auto j = LmdbJournal::open(dir.str());
    ASSERT_TRUE(j.ok());
    Replica r(ReplicaOptions{1, {}, 1 << 20, 100, 100}, reg, *j.value(), box);
    for (std::uint64_t i = 0; i < 10; ++i) {
      ASSERT_TRUE(r.write(Key{i % 3, 12}, [&](ComponentValue& v) -> std::optional<ComponentValue> {
                     return std::get<crdt::Kills>(v).increment(1, i + 1);
                   }).ok());
      ASSERT_TRUE(r.commit(i).ok());
      if (i == 5) {
        ASSERT_TRUE(j.value()->snapshot(r.store(), r.next_seq()).ok());
      }
    }
    expected = r.store().entries();
    EXPECT_EQ(j.value()->stats().snapshots, 1u);
  }
  auto j = LmdbJournal::open(dir.str());
  ASSERT_TRUE(j.ok());
  auto rec = j.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.value().records.size(), 1u + 4u);  // the snapshot, then seqs 7..10
  EXPECT_EQ(rec.value().next_seq, 11u);
  Replica restored(ReplicaOptions{1, {}, 1 << 20, 100, 100}, reg, *j.value(), box);
  for (const auto& record : rec.value().records)
    restored.restore(record);
  EXPECT_EQ(restored.store().entries(), expected);
  EXPECT_EQ(restored.next_seq(), 11u);
  EXPECT_EQ(std::get<crdt::Kills>(*restored.store().get(Key{0, 12})).value(), 1u + 4 + 7 + 10);
}

// Two replicas, A and B, each with a real LMDB journal in its own directory.
class TwoJournals : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ja.ok() && jb.ok()); }
  // Writes display names for entities base, base+1, ... at A, one group each.
  void write_names(Replica& a, std::uint64_t base, const std::vector<std::string>& names) {
    for (std::uint64_t i = 0; i < names.size(); ++i) {
      ASSERT_TRUE(
          a.write(Key{base + i, 10}, [&](ComponentValue& v) -> std::optional<ComponentValue> {
             return value_as<crdt::DisplayName>(v).assign(1, names[i]);
           }).ok());
      ASSERT_TRUE(a.commit(i).ok());
    }
  }

  TempDir dir_a, dir_b;
  const ComponentRegistry reg = ComponentRegistry::game_defaults();
  DirectOutbox box_a, box_b;
  crdt::Result<std::unique_ptr<LmdbJournal>> ja = LmdbJournal::open(dir_a.str());
  crdt::Result<std::unique_ptr<LmdbJournal>> jb = LmdbJournal::open(dir_b.str());
  Store::Entries before;
};

TEST_F(TwoJournals, CorruptedRecordIsQuarantinedAndRepairedFromAPeer) {
  {
    Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *ja.value(), box_a);
    Replica b(ReplicaOptions{2, {1, 2}, 1 << 20, 100, 100}, reg, *jb.value(), box_b);
    write_names(a, 100, {"Aragorn-the-ranger", "CORRUPT-ME-0123456789", "Legolas-the-elf"});
    pump({{1, &a}, {2, &b}}, {{1, &box_a}, {2, &box_b}}, 0);
    ASSERT_EQ(b.store().entries(), a.store().entries());
    before = a.store().entries();
  }
  ja = crdt::make_error(crdt::ErrorCode::kInvalidState, "closed");  // close A's environment
  const std::string stored = stored_value(dir_a.str(), "journal", be(2, 8));  // CORRUPT-ME
  ASSERT_GT(stored.size(), 8u);
  ASSERT_TRUE(corrupt_on_disk(dir_a.str(), stored));

  auto reopened = LmdbJournal::open(dir_a.str());
  ASSERT_TRUE(reopened.ok());
  auto rec = reopened.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.value().quarantined, 1u);
  EXPECT_EQ(rec.value().records.size(), 2u);
  EXPECT_EQ(reopened.value()->stats().quarantined, 1u);

  Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *reopened.value(), box_a);
  for (const auto& r : rec.value().records)
    a.restore(r);
  EXPECT_EQ(a.store().get(Key{101, 10}), nullptr);  // the corrupted write is gone locally
  EXPECT_NE(a.store().get(Key{100, 10}), nullptr);
  // B still has everything; A asks for a full state and gets the lost record back.
  Replica b(ReplicaOptions{2, {1, 2}, 1 << 20, 100, 100}, reg, *jb.value(), box_b);
  auto rb = jb.value()->recover(reg);
  ASSERT_TRUE(rb.ok());
  for (const auto& r : rb.value().records)
    b.restore(r);
  a.request_resync();
  pump({{1, &a}, {2, &b}}, {{1, &box_a}, {2, &box_b}}, 100'000);
  EXPECT_EQ(a.store().entries(), before);
  EXPECT_EQ(value_as<crdt::DisplayName>(*a.store().get(Key{101, 10})).values(),
            std::vector<std::string>{"CORRUPT-ME-0123456789"});
  // The quarantined record is kept aside, not recovered again.
  auto again = reopened.value()->recover(reg);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().quarantined, 0u);
}

TEST_F(TwoJournals, CorruptedSnapshotEntryIsQuarantinedAndFetchedBackByKey) {
  {
    Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *ja.value(), box_a);
    Replica b(ReplicaOptions{2, {1, 2}, 1 << 20, 100, 100}, reg, *jb.value(), box_b);
    write_names(a, 200, {"name-0", "name-1", "name-2", "name-3"});
    pump({{1, &a}, {2, &b}}, {{1, &box_a}, {2, &box_b}}, 0);
    ASSERT_TRUE(ja.value()->snapshot(a.store(), a.next_seq()).ok());
    before = a.store().entries();
  }
  ja = crdt::make_error(crdt::ErrorCode::kInvalidState, "closed");
  const std::string stored = stored_value(dir_a.str(), "state", be(202, 8) + be(10, 2));
  ASSERT_GT(stored.size(), 8u);
  ASSERT_TRUE(corrupt_on_disk(dir_a.str(), stored));

  auto reopened = LmdbJournal::open(dir_a.str());
  ASSERT_TRUE(reopened.ok());
  auto rec = reopened.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.value().quarantined, 1u);
  EXPECT_EQ(rec.value().quarantined_journal_records, 0u);
  EXPECT_EQ(rec.value().quarantined_keys, (std::vector<Key>{{202, 10}}));
  Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *reopened.value(), box_a);
  for (const auto& r : rec.value().records)
    a.restore(r);
  EXPECT_EQ(a.store().get(Key{202, 10}), nullptr);
  Replica b(ReplicaOptions{2, {1, 2}, 1 << 20, 100, 100}, reg, *jb.value(), box_b);
  auto rb = jb.value()->recover(reg);
  ASSERT_TRUE(rb.ok());
  for (const auto& r : rb.value().records)
    b.restore(r);
  a.request_keys(rec.value().quarantined_keys);
  pump({{1, &a}, {2, &b}}, {{1, &box_a}, {2, &box_b}}, 50'000);
  EXPECT_EQ(a.store().entries(), before);
}

// The checksum covers the key: a snapshot value moved under another entity's key (or a key whose
// bytes flipped) is quarantined, not recovered as that entity's state.
TEST_F(TwoJournals, ASnapshotValueUnderAnotherKeyIsQuarantined) {
  {
    Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *ja.value(), box_a);
    write_names(a, 300, {"name-0", "name-1"});
    ASSERT_TRUE(ja.value()->snapshot(a.store(), a.next_seq()).ok());
  }
  ja = crdt::make_error(crdt::ErrorCode::kInvalidState, "closed");
  const std::string from = be(301, 8) + be(10, 2), to = be(302, 8) + be(10, 2);
  const std::string stored = stored_value(dir_a.str(), "state", from);
  ASSERT_GT(stored.size(), 4u);
  ASSERT_TRUE(put_raw(dir_a.str(), "state", to, stored, from));

  auto reopened = LmdbJournal::open(dir_a.str());
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  auto rec = reopened.value()->recover(reg);
  ASSERT_TRUE(rec.ok()) << rec.error().to_string();
  EXPECT_EQ(rec.value().quarantined, 1u);
  EXPECT_EQ(rec.value().quarantined_keys, (std::vector<Key>{{302, 10}}));
  ASSERT_EQ(rec.value().records.size(), 1u);  // the snapshot, entity 300 only
  ASSERT_EQ(rec.value().records[0].entries.size(), 1u);
  EXPECT_EQ(rec.value().records[0].entries[0].key, (Key{300, 10}));
  EXPECT_EQ(stored_value(dir_a.str(), "quarantine", "state/" + std::string("000000000000012e000a")),
            stored);
}

// Journal records too: the record under seq 2 replaced by the (valid) record of seq 1.
TEST(LmdbJournal, AJournalRecordUnderAnotherSeqIsQuarantined) {
  TempDir dir;
  const auto reg = ComponentRegistry::game_defaults();
  {
    auto j = LmdbJournal::open(dir.str());
    ASSERT_TRUE(j.ok());
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
      ASSERT_TRUE(j.value()->append(record_with_name(seq, "n" + std::to_string(seq))).ok());
  }
  ASSERT_TRUE(
      put_raw(dir.str(), "journal", be(2, 8), stored_value(dir.str(), "journal", be(1, 8))));
  auto j = LmdbJournal::open(dir.str());
  ASSERT_TRUE(j.ok());
  auto rec = j.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.value().quarantined_journal_records, 1u);
  ASSERT_EQ(rec.value().records.size(), 2u);
  EXPECT_EQ(rec.value().records[0].seq, 1u);
  EXPECT_EQ(rec.value().records[1].seq, 3u);
}

// A repair cut short (a crash, a stop, a peer removed from the config) is not forgotten: the
// quarantined records were deleted at the first start, so only the durable mark says the state
// still lacks what they held.
TEST(LmdbJournal, AnUnfinishedRepairIsStillLostStateAtTheNextStart) {
  TempDir dir;
  const auto reg = ComponentRegistry::game_defaults();
  {
    auto j = LmdbJournal::open(dir.str());
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE(j.value()->append(record_with_name(1, "n1")).ok());
    ASSERT_TRUE(j.value()->set_repairing(true).ok());
  }
  {
    auto j = LmdbJournal::open(dir.str());
    ASSERT_TRUE(j.ok());
    auto rec = j.value()->recover(reg);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec.value().quarantined, 0u);
    EXPECT_TRUE(rec.value().repair_pending);
    EXPECT_TRUE(rec.value().lost_state());
    ASSERT_TRUE(j.value()->set_repairing(false).ok());  // every peer answered
  }
  auto j = LmdbJournal::open(dir.str());
  ASSERT_TRUE(j.ok());
  auto rec = j.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec.value().lost_state());
  EXPECT_EQ(rec.value().records.size(), 1u);
}

// A directory written before the checksums covered the key (format 1: CRC over the payload only,
// no "format" in meta) is converted on open and recovers whole.
TEST(LmdbJournal, AFormat1DirectoryIsConvertedOnOpen) {
  TempDir dir;
  const auto reg = ComponentRegistry::game_defaults();
  {
    auto j = LmdbJournal::open(dir.str());  // creates the databases
    ASSERT_TRUE(j.ok());
  }
  auto format1 = [](const std::string& payload) {
    const std::uint32_t c = crc32c(payload);
    return be(c, 4) + payload;
  };
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    ASSERT_TRUE(
        put_raw(dir.str(), "journal", be(seq, 8),
                format1(encode_record(record_with_name(seq, "old" + std::to_string(seq))))));
  }
  crdt::DisplayName n;
  n.assign(1, "snapshot-entry");
  ASSERT_TRUE(put_raw(dir.str(), "state", be(7, 8) + be(10, 2), format1(crdt::encode(n))));
  ASSERT_TRUE(put_raw(dir.str(), "journal", be(3, 8), "\x01\x02\x03\x04garbage"));
  // Remove the format marker the first open wrote: the directory now reads as format 1.
  ASSERT_TRUE(put_raw(dir.str(), "meta", "unused", "x", "format"));

  auto j = LmdbJournal::open(dir.str());
  ASSERT_TRUE(j.ok()) << j.error().to_string();
  EXPECT_EQ(stored_value(dir.str(), "meta", "format"), be(2, 8));
  auto rec = j.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec.value().quarantined, 1u);  // the garbage, nothing else
  ASSERT_EQ(rec.value().records.size(), 3u);
  EXPECT_EQ(rec.value().records[0].entries[0].key, (Key{7, 10}));
  EXPECT_EQ(rec.value().records[1].seq, 1u);
  EXPECT_EQ(rec.value().records[2].seq, 2u);
}

TEST(LmdbJournal, AnUnknownFormatIsRefusedWithItsNumber) {
  TempDir dir;
  {
    auto j = LmdbJournal::open(dir.str());
    ASSERT_TRUE(j.ok());
  }
  ASSERT_TRUE(put_raw(dir.str(), "meta", "format", be(9, 8)));
  auto j = LmdbJournal::open(dir.str());
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(j.error().message, HasSubstr("unknown record format 9"));
}

// Issue 15, finding 4. A's newest group — an OR-set add (dot (1, 1)) and 5 kills — reached B,
// then was lost to corruption at A. Restarted from what is left, A must issue neither that dot
// nor a kills total below 5 again: its next add would meet B's element under the same dot (both
// vanish on the join) and its 3 new kills would be absorbed by B's 5. A node writes as soon as
// its replica accepts a write; here, before every round of gossip.
TEST_F(TwoJournals, AReplicaThatLostItsNewestRecordNeverReusesADotOrACounterTotal) {
  const Key members{500, 8}, kills{501, 12};
  auto add = [&](Replica& r, std::uint64_t id) {
    return r.write(members, [&](ComponentValue& v) -> std::optional<ComponentValue> {
      return value_as<crdt::GuildMembers>(v).add(1, id);
    });
  };
  auto kill = [&](Replica& r, std::uint64_t n) {
    return r.write(kills, [&](ComponentValue& v) -> std::optional<ComponentValue> {
      return value_as<crdt::Kills>(v).increment(1, n);
    });
  };
  {
    Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *ja.value(), box_a);
    Replica b(ReplicaOptions{2, {1, 2}, 1 << 20, 100, 100}, reg, *jb.value(), box_b);
    write_names(a, 100, {"kept"});  // seq 1
    ASSERT_TRUE(add(a, 1001).ok());
    ASSERT_TRUE(kill(a, 5).ok());
    ASSERT_EQ(a.commit(0).value(), std::optional<std::uint64_t>(2));
    pump({{1, &a}, {2, &b}}, {{1, &box_a}, {2, &box_b}}, 0);
    ASSERT_EQ(b.store().entries(), a.store().entries());
  }
  ja = crdt::make_error(crdt::ErrorCode::kInvalidState, "closed");
  const std::string stored = stored_value(dir_a.str(), "journal", be(2, 8));
  ASSERT_GT(stored.size(), 8u);
  ASSERT_TRUE(corrupt_on_disk(dir_a.str(), stored));

  auto reopened = LmdbJournal::open(dir_a.str());
  ASSERT_TRUE(reopened.ok());
  auto rec = reopened.value()->recover(reg);
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec.value().quarantined, 1u);
  EXPECT_EQ(rec.value().next_seq, 3u);  // seq 2 was used: never again
  Replica a(ReplicaOptions{1, {1, 2}, 1 << 20, 100, 100}, reg, *reopened.value(), box_a);
  for (const auto& r : rec.value().records)
    a.restore(r);
  a.restore_next_seq(rec.value().next_seq);
  EXPECT_EQ(a.next_seq(), 3u);
  EXPECT_EQ(a.store().get(members), nullptr);
  Replica b(ReplicaOptions{2, {1, 2}, 1 << 20, 100, 100}, reg, *jb.value(), box_b);
  auto rb = jb.value()->recover(reg);
  ASSERT_TRUE(rb.ok());
  for (const auto& r : rb.value().records)
    b.restore(r);

  a.request_resync();
  int wrote_at_round = -1;
  for (int round = 0; round < 20; ++round) {
    if (wrote_at_round < 0 && add(a, 2002).ok()) {
      ASSERT_TRUE(kill(a, 3).ok());
      ASSERT_TRUE(a.commit(100'000 + round * 1000).ok());
      wrote_at_round = round;
    }
    a.gossip(100'000 + round * 1000);
    b.gossip(100'000 + round * 1000);
    for (bool any = true; any;) {
      any = false;
      for (auto [from, box, dest] : {std::tuple{1, &box_a, &b}, {2, &box_b, &a}}) {
        auto q = std::move(box->queue);
        box->queue.clear();
        for (auto& [_, bytes] : q) {
          any = true;
          dest->receive(from, bytes, 100'000 + round * 1000);
        }
      }
    }
  }
  EXPECT_GE(wrote_at_round, 1) << "A wrote before B's state came back";
  EXPECT_FALSE(a.repairing());
  for (const Replica* r : {&a, &b}) {
    const auto* set = r->store().get(members);
    ASSERT_NE(set, nullptr) << "replica " << r->id();
    EXPECT_THAT(value_as<crdt::GuildMembers>(*set).elements(),
                ::testing::UnorderedElementsAre(1001u, 2002u))
        << "replica " << r->id();
    EXPECT_EQ(value_as<crdt::Kills>(*r->store().get(kills)).value(), 8u) << "replica " << r->id();
  }
  EXPECT_EQ(a.store().entries(), b.store().entries());
}

TEST(LmdbJournal, AFullMapFailsTheAppendAndSaysWhichSettingToRaise) {
  TempDir dir;
  auto j = LmdbJournal::open(dir.str(), 1 << 20);  // 1 MiB
  ASSERT_TRUE(j.ok()) << j.error().to_string();
  const std::string big(64 * 1024, 'x');  // a name of 64 KiB: 16 fill the map
  crdt::Result<bool> last = true;
  std::uint64_t appended = 0;
  for (std::uint64_t seq = 1; seq <= 64 && last.ok(); ++seq) {
    last = j.value()->append(record_with_name(seq, big));
    if (last.ok()) ++appended;
  }
  ASSERT_FALSE(last.ok()) << "64 records of 64 KiB fitted in a 1 MiB map";
  EXPECT_GT(appended, 0u);
  EXPECT_THAT(last.error().message, HasSubstr("MDB_MAP_FULL"));
  EXPECT_THAT(last.error().message, HasSubstr("raise replica.map_size_mb"));
  EXPECT_EQ(j.value()->stats().appends, appended);  // the failed one is not counted as written
}

TEST(LmdbJournal, OpenFailsClearlyOnAnUnusablePath) {
  auto j = LmdbJournal::open("/proc/worldline-cannot-be-here");
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("lmdb open /proc/worldline-cannot-be-here"), std::string::npos)
      << j.error().message;
}

}  // namespace
}  // namespace worldline::replica
