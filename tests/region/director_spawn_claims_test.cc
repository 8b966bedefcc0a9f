// Spawn claims (region/director/spawn_claims.h): the earliest claim wins; a region that has seen
// a claim never claims; nothing is settled until every region has said "seen"; unreadable
// elements are ignored and counted. The law: under any interleaving of claims, "seen"s and
// deliveries of any past state of one region to another, every region that finds the claims
// settled names the same winner — the earliest claim ever made.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "region/director/spawn_claims.h"

namespace worldline::region::director {
namespace {

crdt::Hlc at(std::uint64_t ms, std::uint32_t logical, std::uint64_t region) {
  return crdt::Hlc{ms, logical, static_cast<crdt::NodeId>(region)};
}

TEST(SpawnClaims, ALoneRegionsClaimSettlesOnItself) {
  crdt::Buffs set;
  (void)claim(set, 1, at(1000, 0, 1));
  const SpawnClaims c = SpawnClaims::read(set);
  ASSERT_EQ(c.claims().size(), 1u);
  EXPECT_EQ(c.claims()[0], (SpawnClaim{1, at(1000, 0, 1)}));
  EXPECT_EQ(c.seen(), std::vector<std::uint64_t>{1});
  EXPECT_EQ(c.settled_winner({1}), (SpawnClaim{1, at(1000, 0, 1)}));
  // With a peer that has not seen it: not settled, though this replica's winner is region 1.
  EXPECT_FALSE(c.settled({1, 2}));
  EXPECT_EQ(c.settled_winner({1, 2}), std::nullopt);
  EXPECT_EQ(c.winner(), (SpawnClaim{1, at(1000, 0, 1)}));
}

TEST(SpawnClaims, TwoClaimsMadeApartSettleOnTheEarlierOnceEachHasSeenTheOther) {
  crdt::Buffs a, b;
  const crdt::Buffs da = claim(a, 1, at(1000, 3, 1));
  const crdt::Buffs db = claim(b, 2, at(1000, 2, 2));  // same ms, lower logical: earlier
  // Each holds its own claim only: each names itself, neither is settled.
  EXPECT_EQ(SpawnClaims::read(a).winner()->region, 1u);
  EXPECT_EQ(SpawnClaims::read(b).winner()->region, 2u);
  EXPECT_FALSE(SpawnClaims::read(a).settled({1, 2}));
  // A's delta reaches B: B holds both claims, and has said "seen" with its claim already.
  b.join(da);
  EXPECT_EQ(SpawnClaims::read(b).settled_winner({1, 2})->region, 2u);
  // B's delta reaches A: A holds both and both "seen"s.
  a.join(db);
  EXPECT_EQ(SpawnClaims::read(a).settled_winner({1, 2})->region, 2u);
  EXPECT_EQ(SpawnClaims::read(a).claims().size(), 2u);
}

TEST(SpawnClaims, EqualStampsAreOrderedByRegion) {
  crdt::Buffs a, b;
  (void)claim(a, 3, at(1000, 0, 3));
  (void)claim(b, 2, at(1000, 0, 2));
  a.join(b);
  EXPECT_EQ(SpawnClaims::read(a).settled_winner({2, 3})->region, 2u);
}

TEST(SpawnClaims, ARegionThatHasSeenAClaimNeverClaims) {
  crdt::Buffs a, b;
  b.join(claim(a, 1, at(2000, 0, 1)));
  (void)see(b, 2);
  const crdt::Buffs before = b;
  // B starts the instance later with an earlier clock: its claim would win, so it is not made.
  const crdt::Buffs d = claim(b, 2, at(1500, 0, 2));
  EXPECT_EQ(d, crdt::Buffs{});
  EXPECT_EQ(b, before);
  EXPECT_EQ(SpawnClaims::read(b).claims().size(), 1u);
  EXPECT_EQ(SpawnClaims::read(b).settled_winner({1, 2})->region, 1u);
}

TEST(SpawnClaims, SeeIsIdempotentAndOnlyNeededOnce) {
  crdt::Buffs set;
  const crdt::Buffs first = see(set, 4);
  EXPECT_EQ(first.size(), 1u);
  EXPECT_EQ(see(set, 4), crdt::Buffs{});
  EXPECT_EQ(SpawnClaims::read(set).seen(), std::vector<std::uint64_t>{4});
  EXPECT_EQ(SpawnClaims::read(set).winner(), std::nullopt);  // seen, but no claim: no winner
  EXPECT_EQ(SpawnClaims::read(set).settled_winner({4}), std::nullopt);
}

TEST(SpawnClaims, UnreadableElementsAreCountedAndIgnored) {
  crdt::Buffs set;
  for (const char* junk : {"claim 1 2", "claim x 1 2", "claim 1 2 3 4", "seen", "seen 1 ",
                           "seen -1", "claim 1 2 99999999999", "hello", ""})
    (void)set.add(9, junk);
  (void)set.add(9, "claim 7 1000 0");
  (void)set.add(9, "seen 7");
  const SpawnClaims c = SpawnClaims::read(set);
  EXPECT_EQ(c.unreadable(), 9u);
  ASSERT_EQ(c.claims().size(), 1u);
  EXPECT_EQ(c.claims()[0], (SpawnClaim{7, at(1000, 0, 7)}));
  EXPECT_EQ(c.seen(), std::vector<std::uint64_t>{7});
}

// N regions; each keeps every state it passed through, so a delivery can carry any past state of
// the sender (a delta interval carries a prefix of a key's history, a full state the latest).
RC_GTEST_PROP(SpawnClaimsLaws, EveryRegionThatSettlesNamesTheEarliestClaimEverMade, ()) {
  const auto n = *rc::gen::inRange<std::uint64_t>(1, 5);
  std::vector<std::uint64_t> regions;
  for (std::uint64_t r = 1; r <= n; ++r)
    regions.push_back(r);
  std::vector<std::vector<crdt::Buffs>> history(n + 1, std::vector<crdt::Buffs>(1));
  std::vector<bool> started(n + 1, false);
  // Clocks apart by up to 50 ms: a region that starts late may still stamp an earlier claim.
  std::vector<std::uint64_t> clock(n + 1);
  for (auto& c : clock)
    c = 1000 + *rc::gen::inRange<std::uint64_t>(0, 50);
  std::optional<SpawnClaim> earliest;           // of the claims actually made
  std::map<std::uint64_t, SpawnClaim> settled;  // region → the winner it found settled first
  auto observe = [&](std::uint64_t r) {
    const auto w = SpawnClaims::read(history[r].back()).settled_winner(regions);
    if (w && !settled.count(r)) settled[r] = *w;
    // Once settled, a replica never names another winner.
    if (settled.count(r)) RC_ASSERT(w == std::optional<SpawnClaim>(settled[r]));
  };
  // Starts are rare (one step in eight), so that many regions start only after they have seen
  // another's claim — the case settlement depends on.
  const auto steps = *rc::gen::inRange(1, 200);
  for (int s = 0; s < steps; ++s) {
    const auto r = *rc::gen::inRange<std::uint64_t>(1, n + 1);
    crdt::Buffs now = history[r].back();
    clock[r] += *rc::gen::inRange<std::uint64_t>(0, 3);
    const int op = *rc::gen::inRange(0, 8);
    switch (op == 0 ? 0 : op <= 3 ? 1 : 2) {
      case 0:  // r's director starts the instance (once)
        if (!started[r]) {
          started[r] = true;
          const SpawnClaim c{r, at(clock[r], 0, r)};
          if (claim(now, r, c.stamp).size() != 0 &&
              (!earliest ||
               std::tie(c.stamp, c.region) < std::tie(earliest->stamp, earliest->region)))
            earliest = c;
        }
        break;
      case 1:  // r's loop step: "seen" once it holds any claim
        if (!SpawnClaims::read(now).claims().empty()) (void)see(now, r);
        break;
      default: {  // a past state of another region reaches r
        const auto from = *rc::gen::inRange<std::uint64_t>(1, n + 1);
        // Half the time its latest state, else any past one.
        const std::size_t last = history[from].size() - 1;
        const auto k = *rc::gen::element(last, *rc::gen::inRange<std::size_t>(0, last + 1));
        now.join(history[from][k]);
        break;
      }
    }
    history[r].push_back(now);
    observe(r);
  }
  // Heal: everyone sees and everything reaches everyone, twice over.
  for (int round = 0; round < 2; ++round) {
    for (std::uint64_t r = 1; r <= n; ++r) {
      crdt::Buffs now = history[r].back();
      for (std::uint64_t from = 1; from <= n; ++from)
        now.join(history[from].back());
      if (!SpawnClaims::read(now).claims().empty()) (void)see(now, r);
      history[r].push_back(now);
      observe(r);
    }
  }
  for (const auto& [r, w] : settled)
    RC_ASSERT(std::optional<SpawnClaim>(w) == earliest);
  if (earliest) RC_ASSERT(settled.size() == n);  // after the heal, every region settled
}

}  // namespace
}  // namespace worldline::region::director
