#include "app/crdt_walkthrough.h"

#include <array>
#include <string>
#include <vector>

#include "crdt/codec.h"
#include "crdt/components.h"

namespace worldline::app {
namespace {

using namespace worldline::crdt;

constexpr EntityId kPlayerAlice = 1001;
constexpr EntityId kPlayerBob = 2002;
constexpr EntityId kPlayerChen = 3003;

// One region's replica of a handful of components.
struct Region {
  std::string name;
  ReplicaId id;
  ManualClock wall;
  HlcClock clock;
  Position alice_position;
  Health boss_health;
  Gold guild_gold{0};
  UniqueItemOwner sword;
  Inventory alice_bag;

  Region(std::string n, ReplicaId rid, std::uint64_t start_ms)
      : name(std::move(n)), id(rid), wall(start_ms), clock(rid, wall, 5'000) {}

  bool operator==(const Region& o) const {
    return alice_position == o.alice_position && boss_health == o.boss_health &&
           guild_gold == o.guild_gold && sword == o.sword && alice_bag == o.alice_bag;
  }
};

// A delta on the wire: encoded, decoded, joined — the same codec the replica layer uses.
template <class T>
std::size_t ship(const T& delta, T& into) {
  const std::string bytes = encode(delta);
  auto decoded = decode<T>(bytes);
  if (!decoded)
    throw std::runtime_error("walkthrough: decode failed: " + decoded.error().to_string());
  into.join(decoded.value());
  return bytes.size();
}

template <class T>
void gossip(const T& delta, T Region::*field, Region& from, std::vector<Region*> to,
            std::ostream& out, const char* what) {
  std::size_t bytes = 0;
  for (Region* r : to)
    bytes = ship(delta, r->*field);
  out << "    " << from.name << " gossips the " << what << " delta (" << bytes << " bytes) to "
      << to.size() << " region(s)\n";
}

template <class T>
void full_sync(std::array<Region, 3>& regions, T Region::*field) {
  for (auto& a : regions) {
    for (auto& b : regions)
      ship(a.*field, b.*field);
  }
}

}  // namespace

int run_crdt_walkthrough(std::ostream& out) {
  std::array<Region, 3> regions{Region{"eu-west", 1, 1'000'000}, Region{"us-east", 2, 1'000'020},
                                Region{"ap-south", 3, 999'990}};
  Region& eu = regions[0];
  Region& us = regions[1];
  Region& ap = regions[2];

  out << "worldline CRDT walkthrough: three regions (" << eu.name << ", " << us.name << ", "
      << ap.name << ") each hold a replica of the same game components.\n\n";

  out << "1. Alice moves in " << eu.name << ": a last-writer-wins position stamped by the HLC.\n";
  eu.wall.advance(50);
  auto d_pos = eu.alice_position.assign(Vec3{12.5, 0, -3}, eu.clock.now());
  gossip(d_pos, &Region::alice_position, eu, {&us, &ap}, out, "position");
  out << "    every region now sees Alice at " << to_string(ap.alice_position.value()) << " @"
      << ap.alice_position.stamp().to_string() << "\n\n";

  out << "   A raid boss spawns with 1000 health (a PN-counter: hits and heals from every region "
         "add up).\n";
  auto d_spawn = eu.boss_health.increment(eu.id, 1000);
  gossip(d_spawn, &Region::boss_health, eu, {&us, &ap}, out, "boss spawn");
  out << "\n";

  out << "2. The link to " << ap.name << " is cut. Players keep playing everywhere.\n";
  auto d_hit_eu = eu.boss_health.decrement(eu.id, 120);
  auto d_hit_us = us.boss_health.decrement(us.id, 95);
  auto d_heal_ap = ap.boss_health.increment(ap.id, 40);
  out << "    boss health seen locally: " << eu.name << " " << eu.boss_health.value() << ", "
      << us.name << " " << us.boss_health.value() << ", " << ap.name << " "
      << ap.boss_health.value() << " (each sees only its own hit or heal)\n";
  gossip(d_hit_eu, &Region::boss_health, eu, {&us}, out, "boss damage");
  gossip(d_hit_us, &Region::boss_health, us, {&eu}, out, "boss damage");

  out << "    the guild mints 100 gold in " << eu.name
      << " (a bounded counter: it can never go below 0)\n";
  auto d_mint = eu.guild_gold.increment(eu.id, 100);
  gossip(d_mint, &Region::guild_gold, eu, {&us}, out, "gold");
  auto d_xfer = eu.guild_gold.transfer(eu.id, us.id, 40);
  gossip(d_xfer.value(), &Region::guild_gold, eu, {&us}, out, "escrow transfer");
  out << "    " << eu.name << " hands 40 spending rights to " << us.name << ": rights now "
      << eu.guild_gold.rights(eu.id) << " / " << us.guild_gold.rights(us.id) << "\n";
  auto spend_us = us.guild_gold.decrement(us.id, 30);
  out << "    " << us.name << " spends 30: " << (spend_us ? "ok" : spend_us.error().to_string())
      << "\n";
  auto spend_eu = eu.guild_gold.decrement(eu.id, 80);
  out << "    " << eu.name << " tries to spend 80: "
      << (spend_eu ? std::string("ok") : "refused (" + spend_eu.error().message + ")") << "\n";
  if (spend_us) gossip(spend_us.value(), &Region::guild_gold, us, {&eu}, out, "gold");

  out << "    a unique sword drops; Alice grabs it in " << eu.name << " and Chen in " << ap.name
      << " in the same instant\n";
  eu.wall.advance(10);
  ap.wall.advance(10);
  auto claim_eu = eu.sword.claim(kPlayerAlice, eu.clock.now());
  auto claim_ap = ap.sword.claim(kPlayerChen, ap.clock.now());
  out << "    both claims accepted locally: " << eu.sword.to_string() << " vs "
      << ap.sword.to_string() << "\n";
  gossip(claim_eu.value(), &Region::sword, eu, {&us}, out, "sword claim");
  auto late = us.sword.claim(kPlayerBob, us.clock.now());
  out << "    Bob tries too in " << us.name << ", which already saw Alice's claim: "
      << (late ? std::string("accepted") : "refused (" + late.error().message + ")") << "\n";

  out << "    Alice's bag: " << eu.name << " drops her potions while " << us.name
      << " concurrently gives her 2 more\n";
  auto d_bag = eu.alice_bag.update("potion", [&](CausalCounter& c) { return c.add(eu.id, 3); });
  gossip(d_bag, &Region::alice_bag, eu, {&us}, out, "inventory");
  auto d_drop = eu.alice_bag.remove("potion");
  auto d_give = us.alice_bag.update("potion", [&](CausalCounter& c) { return c.add(us.id, 2); });
  gossip(d_drop, &Region::alice_bag, eu, {&us}, out, "inventory removal");
  gossip(d_give, &Region::alice_bag, us, {&eu}, out, "inventory");
  (void)d_heal_ap;

  out << "\n3. The link heals; regions exchange their full states (anti-entropy).\n";
  full_sync(regions, &Region::alice_position);
  full_sync(regions, &Region::boss_health);
  full_sync(regions, &Region::guild_gold);
  full_sync(regions, &Region::sword);
  full_sync(regions, &Region::alice_bag);
  for (const auto& r : regions) {
    out << "    " << r.name << ": boss health " << r.boss_health.value() << ", guild gold "
        << r.guild_gold.value() << ", sword owner "
        << (r.sword.owner() ? std::to_string(*r.sword.owner()) : "none") << ", Alice's potions "
        << (r.alice_bag.get("potion") ? r.alice_bag.get("potion")->value() : 0) << "\n";
  }
  const bool converged = regions[0] == regions[1] && regions[1] == regions[2];
  const auto& winner = *eu.sword.winning_claim();
  out << "\n    both hits and the heal count (1000 - 120 - 95 + 40 = " << 1000 - 120 - 95 + 40
      << "); gold stayed >= 0 (" << eu.guild_gold.value() << "); the earliest sword claim (player "
      << winner.claimant << " @" << winner.at.to_string()
      << ") wins on every replica and the other claimant is "
      << "corrected; the concurrent potion gift survives the drop (add wins).\n";
  out << "\n"
      << (converged ? "CONVERGED" : "DIVERGED") << ": all three regions "
      << (converged ? "hold identical state" : "disagree — this is a bug") << ".\n";
  return converged ? 0 : 1;
}

}  // namespace worldline::app
