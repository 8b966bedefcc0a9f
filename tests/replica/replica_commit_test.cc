// The Replica's group commit: encoded on several threads it journals the same record; prepared
// writes (a region tick's) leave the same state, group and change list as write(); a key prepared
// twice before a commit is journaled twice and joins to the same state.
#include "replica/replica.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "crdt/codec.h"
#include "tests/replica/replica_test_support.h"

namespace worldline::replica {
namespace {

using testing::add_member;
using testing::CapturingOutbox;
using ::testing::HasSubstr;

// Commit parallelism on three threads of its own; counts the ranges run.
ParallelFor three_threads(std::atomic<int>& ranges) {
  return [&ranges](std::size_t n, const std::function<void(std::size_t, std::size_t)>& body) {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < 3; ++i)
      threads.emplace_back([&, i] {
        body(n * i / 3, n * (i + 1) / 3);
        ++ranges;
      });
    for (auto& t : threads)
      t.join();
  };
}

TEST(Replica, ACommitEncodedOnSeveralThreadsJournalsTheSameRecord) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal serial_journal, parallel_journal;
  CapturingOutbox out;
  Replica serial(ReplicaOptions{1, {1}}, reg, serial_journal, out);
  Replica parallel(ReplicaOptions{1, {1}}, reg, parallel_journal, out);
  std::atomic<int> ranges{0};
  parallel.set_commit_parallelism(three_threads(ranges));
  for (Replica* r : {&serial, &parallel}) {
    for (std::uint64_t e = 1; e <= 2000; ++e) {  // past the size that goes parallel
      ASSERT_TRUE(r->write(Key{e, 8}, [&](ComponentValue& v) { return add_member(v, 1, e); }).ok());
    }
    ASSERT_TRUE(r->commit(0).ok());
  }
  EXPECT_EQ(ranges.load(), 3);
  const auto& a = serial_journal.records();
  const auto& b = parallel_journal.records();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(a[0].entries.size(), 2000u);
  std::map<Key, std::string> sa, sb;
  for (const auto& e : a[0].entries)
    sa[e.key] = e.value;
  for (const auto& e : b[0].entries)
    sb[e.key] = e.value;
  EXPECT_EQ(sa, sb);
}

// A region tick computes its writes on private copies and hands them over prepared
// (write_prepared): the store, the journaled group and the change list must be exactly what the
// same mutations through write() give — for keys already stored (moved in on lent threads) and new
// ones alike.
TEST(Replica, PreparedWritesLeaveTheSameStateGroupAndChangesAsWrites) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal_a, journal_b, journal_c;
  CapturingOutbox out;
  Replica a(ReplicaOptions{1, {1}}, reg, journal_a, out);
  Replica b(ReplicaOptions{1, {1}}, reg, journal_b, out);
  Replica c(ReplicaOptions{1, {1}}, reg, journal_c, out);
  std::atomic<int> ranges{0};
  b.set_commit_parallelism(three_threads(ranges));
  for (Replica* r : {&a, &b, &c}) {  // keys 1..50 exist before the tick
    for (std::uint64_t e = 1; e <= 50; ++e)
      ASSERT_TRUE(r->write(Key{e, 8}, [&](ComponentValue& v) { return add_member(v, 1, e); }).ok());
    ASSERT_TRUE(r->commit(0).ok());
    r->watch_changes();
    (void)r->take_changes();
  }
  // The tick: members added to keys 26..75 (half stored already, half new), and kills counted.
  auto mutate_for = [](std::uint64_t e) -> std::pair<Key, Replica::Mutator> {
    if (e % 5 == 0) {
      return {Key{e, 12}, [](ComponentValue& v) -> std::optional<ComponentValue> {
                return std::get<crdt::Kills>(v).increment(1, 2);
              }};
    }
    return {Key{e, 8}, [e](ComponentValue& v) { return add_member(v, 1, 1000 + e); }};
  };
  for (std::uint64_t e = 26; e <= 75; ++e) {
    auto [key, mutate] = mutate_for(e);
    ASSERT_TRUE(a.write(key, mutate).ok());
  }
  std::vector<std::vector<Replica::PreparedWrite>> cells(4);
  for (std::uint64_t e = 26; e <= 75; ++e) {
    auto [key, mutate] = mutate_for(e);
    const ComponentValue* stored = b.store().get(key);
    ComponentValue value = stored ? *stored : reg.bottom(key.component);
    auto delta = mutate(value);
    ASSERT_TRUE(delta.has_value());
    cells[e % 4].push_back(Replica::PreparedWrite{key, std::move(value), std::move(*delta)});
  }
  std::vector<std::vector<Replica::PreparedWrite>*> batches;
  for (auto& c : cells)
    batches.push_back(&c);
  // The same once more into c, which is told to keep the keys off its change list.
  std::vector<std::vector<Replica::PreparedWrite>> c_cells = cells;
  std::vector<std::vector<Replica::PreparedWrite>*> c_batches;
  for (auto& cell : c_cells)
    c_batches.push_back(&cell);
  b.write_prepared(batches);
  EXPECT_EQ(ranges.load(), 3);
  c.write_prepared(c_batches, /*note_changes=*/false);
  auto changes_a = a.take_changes(), changes_b = b.take_changes();
  std::sort(changes_a.begin(), changes_a.end());
  std::sort(changes_b.begin(), changes_b.end());
  EXPECT_EQ(changes_a, changes_b);
  EXPECT_EQ(changes_b.size(), 50u);
  EXPECT_TRUE(c.take_changes().empty());
  ASSERT_TRUE(a.commit(1).ok());
  ASSERT_TRUE(b.commit(1).ok());
  ASSERT_TRUE(c.commit(1).ok());
  EXPECT_EQ(a.store().digest(), b.store().digest());
  EXPECT_EQ(a.store().digest(), c.store().digest());
  // Member sets 1..75 but for the kill counters 55, 60, ..., 75; kills of 30, 35, ..., 75.
  EXPECT_EQ(b.store().entries().size(), 70u + 10u);
  ASSERT_EQ(journal_a.records().size(), 2u);
  ASSERT_EQ(journal_b.records().size(), 2u);
  ASSERT_EQ(journal_c.records().size(), 2u);
  std::map<Key, std::string> ga, gb, gc;
  for (const auto& e : journal_a.records()[1].entries)
    ga[e.key] = e.value;
  for (const auto& e : journal_b.records()[1].entries)
    gb[e.key] = e.value;
  for (const auto& e : journal_c.records()[1].entries)
    gc[e.key] = e.value;
  EXPECT_EQ(ga.size(), 50u);
  EXPECT_EQ(ga, gb);
  EXPECT_EQ(ga, gc);
}

// A group holds each write_prepared() call's deltas as they came: a key prepared in two ticks (and
// written once more through write()) before one commit is in the group three times. Replaying
// the record, or gossiping a long interval (merged per key first), gives the state the same
// writes give through write().
TEST(Replica, AKeyPreparedTwiceBeforeACommitIsJournaledTwiceAndJoinsToTheSameState) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal, reference_journal;
  CapturingOutbox out;
  Replica a(ReplicaOptions{1, {2}}, reg, journal, out);
  Replica reference(ReplicaOptions{1, {}}, reg, reference_journal, out);
  const Key key{7, 8};
  auto prepare = [&](std::uint64_t member) {
    const ComponentValue* stored = a.store().get(key);
    ComponentValue value = stored ? *stored : reg.bottom(key.component);
    auto delta = add_member(value, 1, member);
    std::vector<Replica::PreparedWrite> batch;
    batch.push_back(Replica::PreparedWrite{key, std::move(value), std::move(*delta)});
    a.write_prepared({&batch});
    ASSERT_TRUE(
        reference.write(key, [&](ComponentValue& v) { return add_member(v, 1, member); }).ok());
  };
  prepare(100);
  prepare(101);
  ASSERT_TRUE(a.write(key, [](ComponentValue& v) { return add_member(v, 1, 102); }).ok());
  ASSERT_TRUE(reference.write(key, [](ComponentValue& v) { return add_member(v, 1, 102); }).ok());
  ASSERT_EQ(a.commit(1).value(), std::optional<std::uint64_t>{1});
  ASSERT_TRUE(reference.commit(1).ok());
  ASSERT_EQ(journal.records().size(), 1u);
  const auto& entries = journal.records()[0].entries;
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                          [&](const WireEntry& e) { return e.key == key; }),
            3);
  EXPECT_EQ(value_as<crdt::GuildMembers>(*a.store().get(key)).size(), 3u);
  EXPECT_EQ(a.store().digest(), reference.store().digest());

  MemoryJournal replay_journal;
  Replica replayed(ReplicaOptions{1, {}}, reg, replay_journal, out);
  replayed.restore(journal.records()[0]);
  EXPECT_EQ(replayed.store().digest(), a.store().digest());
  EXPECT_EQ(replayed.next_seq(), 2u);

  // Four more groups: peer 2 has acknowledged none of the five, so they go out merged per key.
  for (std::uint64_t member = 103; member < 107; ++member) {
    prepare(member);
    ASSERT_TRUE(a.commit(member).ok());
  }
  a.gossip(1000);
  const auto sent = out.decoded_to(2);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].kind, GossipMessage::Kind::kDelta);
  ASSERT_EQ(sent[0].delta.entries.size(), 1u);  // the key once
  MemoryJournal peer_journal;
  CapturingOutbox peer_out;
  Replica peer(ReplicaOptions{2, {1}}, reg, peer_journal, peer_out);
  ASSERT_TRUE(peer.receive(1, out.sent.back().second, 1000));
  EXPECT_EQ(value_as<crdt::GuildMembers>(*peer.store().get(key)).size(), 7u);
  EXPECT_EQ(peer.store().digest(), a.store().digest());
}

}  // namespace
}  // namespace worldline::replica
