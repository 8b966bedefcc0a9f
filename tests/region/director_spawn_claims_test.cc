// Spawn claims (region/director/spawn_claims.h): the earliest claim wins; a region that has seen
// a claim never claims; nothing is settled until every region has said "seen" under the same
// membership; claims of non-members are ignored; unreadable or non-canonical elements are ignored
// and counted. The law: under any interleaving of claims, "seen"s and
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

const Membership kOne({1}), kTwo({1, 2});

std::vector<std::uint64_t> seen_regions(const SpawnClaims& c) {
  std::vector<std::uint64_t> out;
  for (const auto& [r, hash] : c.seen())
    out.push_back(r);
  return out;
}

TEST(SpawnClaims, ALoneRegionsClaimSettlesOnItself) {
  crdt::Buffs set;
  (void)claim(set, 1, at(1000, 0, 1), kOne);
  const SpawnClaims c = SpawnClaims::read(set);
  ASSERT_EQ(c.claims().size(), 1u);
  EXPECT_EQ(c.claims()[0], (SpawnClaim{1, at(1000, 0, 1)}));
  EXPECT_EQ(c.seen(), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, kOne.hash}}));
  EXPECT_EQ(c.settled_winner(kOne), (SpawnClaim{1, at(1000, 0, 1)}));
  // With a peer that has not seen it: not settled, though this replica's winner is region 1.
  EXPECT_FALSE(c.settled(kTwo));
  EXPECT_EQ(c.settled_winner(kTwo), std::nullopt);
  EXPECT_EQ(c.winner(kTwo), (SpawnClaim{1, at(1000, 0, 1)}));
}

TEST(SpawnClaims, TwoClaimsMadeApartSettleOnTheEarlierOnceEachHasSeenTheOther) {
  crdt::Buffs a, b;
  const crdt::Buffs da = claim(a, 1, at(1000, 3, 1), kTwo);
  const crdt::Buffs db = claim(b, 2, at(1000, 2, 2), kTwo);  // same ms, lower logical: earlier
  // Each holds its own claim only: each names itself, neither is settled.
  EXPECT_EQ(SpawnClaims::read(a).winner(kTwo)->region, 1u);
  EXPECT_EQ(SpawnClaims::read(b).winner(kTwo)->region, 2u);
  EXPECT_FALSE(SpawnClaims::read(a).settled(kTwo));
  // A's delta reaches B: B holds both claims, and has said "seen" with its claim already.
  b.join(da);
  EXPECT_EQ(SpawnClaims::read(b).settled_winner(kTwo)->region, 2u);
  // B's delta reaches A: A holds both and both "seen"s.
  a.join(db);
  EXPECT_EQ(SpawnClaims::read(a).settled_winner(kTwo)->region, 2u);
  EXPECT_EQ(SpawnClaims::read(a).claims().size(), 2u);
}

TEST(SpawnClaims, EqualStampsAreOrderedByRegion) {
  crdt::Buffs a, b;
  const Membership two_three({2, 3});
  (void)claim(a, 3, at(1000, 0, 3), two_three);
  (void)claim(b, 2, at(1000, 0, 2), two_three);
  a.join(b);
  EXPECT_EQ(SpawnClaims::read(a).settled_winner(two_three)->region, 2u);
}

TEST(SpawnClaims, ARegionThatHasSeenAClaimNeverClaims) {
  crdt::Buffs a, b;
  b.join(claim(a, 1, at(2000, 0, 1), kTwo));
  (void)see(b, 2, kTwo);
  const crdt::Buffs before = b;
  // B starts the instance later with an earlier clock: its claim would win, so it is not made —
  // under any membership (it said "seen" under another one).
  EXPECT_EQ(claim(b, 2, at(1500, 0, 2), kTwo), crdt::Buffs{});
  EXPECT_EQ(claim(b, 2, at(1500, 0, 2), Membership({1, 2, 3})), crdt::Buffs{});
  EXPECT_EQ(b, before);
  EXPECT_EQ(SpawnClaims::read(b).claims().size(), 1u);
  EXPECT_EQ(SpawnClaims::read(b).settled_winner(kTwo)->region, 1u);
}

TEST(SpawnClaims, SeeIsIdempotentAndOnlyNeededOnce) {
  crdt::Buffs set;
  const Membership four({4});
  const crdt::Buffs first = see(set, 4, four);
  EXPECT_EQ(first.size(), 1u);
  EXPECT_EQ(see(set, 4, four), crdt::Buffs{});
  EXPECT_EQ(seen_regions(SpawnClaims::read(set)), std::vector<std::uint64_t>{4});
  EXPECT_EQ(SpawnClaims::read(set).winner(four), std::nullopt);  // seen, but no claim: no winner
  EXPECT_EQ(SpawnClaims::read(set).settled_winner(four), std::nullopt);
}

TEST(SpawnClaims, UnreadableElementsAreCountedAndIgnored) {
  crdt::Buffs set;
  const std::vector<std::string> junk{
      "claim 1 2",    "claim x 1 2",  "claim 1 2 3 4",         "seen",     "seen 1 ",
      "seen -1 5",    "seen 1",       "claim 1 2 99999999999", "hello",    "",
      "claim 01 2 3", "seen 1 +5",    "claim 0 1 0",           "seen 0 5", "ended 0",
      "ended 1 2",    "claim 1 2 3 ", "seen 4294967296 1"};
  for (const std::string& e : junk)
    (void)set.add(9, e);
  (void)set.add(9, "claim 7 1000 0");
  (void)set.add(9, "seen 7 12");
  const SpawnClaims c = SpawnClaims::read(set);
  EXPECT_EQ(c.unreadable(), junk.size());
  ASSERT_EQ(c.claims().size(), 1u);
  EXPECT_EQ(c.claims()[0], (SpawnClaim{7, at(1000, 0, 7)}));
  EXPECT_EQ(c.seen(), (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{7, 12}}));
  EXPECT_FALSE(c.ended());
}

// Two regions whose configs disagree on who the regions are never settle — rather than each
// settling on its own view (a region being retired, dropped from one config first).
TEST(SpawnClaims, RegionsThatDisagreeOnTheMembershipNeverSettle) {
  const Membership abc({1, 2, 3}), abcd({1, 2, 3, 4});
  crdt::Buffs a, b, c;
  (void)claim(a, 1, at(1000, 0, 1), abc);   // A's config: 1, 2, 3
  (void)claim(b, 2, at(1001, 0, 2), abcd);  // B's: 1, 2, 3, 4
  c.join(a);
  c.join(b);
  (void)see(c, 3, abc);
  a.join(b);
  a.join(c);
  EXPECT_FALSE(SpawnClaims::read(a).settled(abc));  // B said "seen" for another membership
  EXPECT_EQ(SpawnClaims::read(a).settled_winner(abc), std::nullopt);
  // B's config is fixed: B says "seen" for the membership everybody has now; A settles.
  b.join(a);
  (void)see(b, 2, abc);
  a.join(b);
  EXPECT_EQ(SpawnClaims::read(a).settled_winner(abc)->region, 1u);
}

TEST(SpawnClaims, ClaimsOfRegionsOutsideTheMembershipAreIgnored) {
  crdt::Buffs set;
  (void)claim(set, 9, at(500, 0, 9), Membership({1, 2, 9}));  // a retired region's, earliest
  (void)claim(set, 2, at(1000, 0, 2), kTwo);
  (void)see(set, 1, kTwo);
  EXPECT_EQ(SpawnClaims::read(set).settled_winner(kTwo)->region, 2u);
}

TEST(SpawnClaims, EndedIsRecordedOnce) {
  crdt::Buffs set;
  (void)claim(set, 1, at(1000, 0, 1), kOne);
  EXPECT_FALSE(SpawnClaims::read(set).ended());
  EXPECT_EQ(end(set, 1).size(), 1u);
  EXPECT_EQ(end(set, 1), crdt::Buffs{});
  EXPECT_TRUE(SpawnClaims::read(set).ended());
  EXPECT_EQ(SpawnClaims::read(set).unreadable(), 0u);
}

// N regions; each keeps every state it passed through, so a delivery can carry any past state of
// the sender (a delta interval carries a prefix of a key's history, a full state the latest).
RC_GTEST_PROP(SpawnClaimsLaws, EveryRegionThatSettlesNamesTheEarliestClaimEverMade, ()) {
  const auto n = *rc::gen::inRange<std::uint64_t>(1, 5);
  std::vector<std::uint64_t> ids;
  for (std::uint64_t r = 1; r <= n; ++r)
    ids.push_back(r);
  const Membership regions(ids);
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
          if (claim(now, r, c.stamp, regions).size() != 0 &&
              (!earliest ||
               std::tie(c.stamp, c.region) < std::tie(earliest->stamp, earliest->region)))
            earliest = c;
        }
        break;
      case 1:  // r's loop step: "seen" once it holds any claim
        if (!SpawnClaims::read(now).claims().empty()) (void)see(now, r, regions);
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
      if (!SpawnClaims::read(now).claims().empty()) (void)see(now, r, regions);
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
