#include "tests/node/sim_cluster.h"

#include <algorithm>
#include <filesystem>

#include "crdt/components.h"
#include "gateway/region_host.h"
#include "tests/support/lmdb_raw.h"

namespace worldline::testing {

namespace fs = std::filesystem;
using replica::ComponentValue;
using replica::Key;
using replica::ReplicaId;

constexpr replica::ComponentId kGold = 4;
constexpr replica::ComponentId kMarks = 7;  // "buffs", a text set

std::string mark(char kind, std::uint64_t seq, ReplicaId region) {
  return std::string(1, kind) + std::to_string(seq) + "@" + std::to_string(region);
}

void install_sim_rules(region::GameRules& rules) {
  using region::Action;
  using region::HandlerContext;
  using region::Outcome;
  auto add_mark = [](HandlerContext& ctx, const Action& a, char kind) {
    (void)ctx.world.write(Key{a.actor, kMarks}, [&](ComponentValue& v) {
      return std::optional<ComponentValue>(replica::value_as<crdt::Buffs>(v).add(
          ctx.world.region(), mark(kind, a.client_seq, ctx.world.region())));
    });
  };
  rules.set(region::ActionKind::kInteract, [add_mark](const Action& a, HandlerContext& ctx) {
    (void)ctx.world.write(Key{a.actor, kGold}, [&](ComponentValue& v) {
      return std::optional<ComponentValue>(
          replica::value_as<crdt::Gold>(v).increment(ctx.world.region(), 1));
    });
    add_mark(ctx, a, 'e');
    return Outcome{a.actor, a.client_seq, true};
  });
  rules.set(region::ActionKind::kEmote, [add_mark](const Action& a, HandlerContext& ctx) {
    bool spent = false;
    (void)ctx.world.write(
        Key{a.actor, kGold}, [&](ComponentValue& v) -> std::optional<ComponentValue> {
          auto d = replica::value_as<crdt::Gold>(v).decrement(ctx.world.region(), 1);
          if (!d) return std::nullopt;
          spent = true;
          return std::move(d).value();
        });
    if (!spent) return Outcome{a.actor, a.client_seq, false, "no gold rights here", "no_gold"};
    add_mark(ctx, a, 's');
    return Outcome{a.actor, a.client_seq, true};
  });
}

class SimRegion::Transport final : public replica::Transport {
 public:
  using Send = std::function<void(ReplicaId to, std::string bytes)>;
  Transport(const std::uint64_t& now, Send send, const SimNetwork& net, ReplicaId self)
      : now_(now), send_(std::move(send)), net_(net), self_(self) {}
  // What the simulated link still holds (Replica::gossip does not resend an interval meanwhile).
  std::size_t undelivered(ReplicaId to) const override { return net_.in_flight(self_, to); }
  std::uint64_t now_ms() override { return now_; }
  bool wait_until(std::uint64_t) override { return true; }  // the simulation drives the loop
  void send(ReplicaId to, std::string bytes) override { send_(to, std::move(bytes)); }

 private:
  const std::uint64_t& now_;
  Send send_;
  const SimNetwork& net_;
  ReplicaId self_;
};

SimCluster::SimCluster(std::mt19937_64& rng, SimLinkFaults faults,
                       std::vector<SimRegionShape> shapes, region::GameConfig game,
                       Violation violation)
    : rng_(rng), net_(rng, faults), game_(std::move(game)), violation_(std::move(violation)) {
  static std::uint64_t cluster_count = 0;
  const std::string base = "/dev/shm/worldline-node-sim-" + std::to_string(::getpid()) + "-" +
                           std::to_string(cluster_count++);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    auto r = std::make_unique<SimRegion>();
    r->id = static_cast<ReplicaId>(i + 1);
    r->dir = base + "/r" + std::to_string(i + 1);
    r->shape = shapes[i];
    fs::remove_all(r->dir);
    fs::create_directories(r->dir);
    regions_.push_back(std::move(r));
  }
}

SimCluster::~SimCluster() {
  std::string base;
  for (auto& r : regions_) {
    r->loop.reset();
    r->app.reset();
    r->transport.reset();
    r->journal.reset();
    base = fs::path(r->dir).parent_path();
  }
  std::error_code ec;
  if (!base.empty()) fs::remove_all(base, ec);
}

void SimCluster::observe(SimRegion& r, const replica::JournalRecord& record) {
  r.durable.records.push_back({delivering_from_, record});
  for (const replica::WireEntry& e : record.entries) {
    if (e.key.component != gateway::kInputSeqComponent && e.key.component != kMarks) continue;
    auto v = replica::decode_value(registry_, e.key.component, e.value);
    if (!v) {
      violation_("node " + std::to_string(r.id) + " journaled an undecodable value at " +
                 e.key.to_string());
      continue;
    }
    if (e.key.component == kMarks) {
      for (const std::string& m : replica::value_as<crdt::Buffs>(v.value()).elements())
        r.durable.marks[e.key.entity].insert(m);
    } else if (const auto& s = std::get<crdt::HighScore>(v.value()).get(); s && *s > 0) {
      auto& held = r.durable.input_seq[e.key.entity];
      held = std::max(held, static_cast<std::uint64_t>(*s));
    }
  }
}

bool SimCluster::start(std::size_t i) {
  SimRegion& r = *regions_[i];
  auto journal = replica::LmdbJournal::open(r.dir, 64ull << 20);
  if (!journal) {
    violation_("node " + std::to_string(r.id) +
               " cannot open its journal: " + journal.error().to_string());
    return false;
  }
  r.journal = std::move(journal).value();
  r.journal->set_append_observer(
      [this, &r](const replica::JournalRecord& rec) { observe(r, rec); });
  r.transport = std::make_unique<SimRegion::Transport>(
      now_,
      [this, &r](ReplicaId to, std::string bytes) {
        auto m = replica::decode_message(bytes);
        if (m && m.value().kind == replica::GossipMessage::Kind::kAck)
          check_ack(r.id, to, m.value().ack);
        // A part of a multi-part transmission may also arrive seconds late (SimLinkFaults::late):
        // after the sender moved on to another sending of the same interval.
        const bool part = m && m.value().kind == replica::GossipMessage::Kind::kDelta &&
                          m.value().delta.parts > 1;
        net_.send(r.id, to, std::move(bytes), now_, part);
      },
      net_, r.id);
  r.wall.set(kSimEpochMs + now_ + static_cast<std::uint64_t>(r.shape.clock_skew_ms));
  app::RegionAppOptions o;
  o.detector_thread = false;  // a seed replays exactly: no thread decides when a flag lands
  o.host.region_name = "r" + std::to_string(r.id);
  o.host.tick_hz = 1000.0 / static_cast<double>(r.shape.tick_ms);
  o.host.replicated_k = r.shape.replicated_k;
  o.host.spawn_radius = 20;
  o.pipeline.partition.workers = 1;
  o.pipeline.tick_period_ms = static_cast<double>(r.shape.tick_ms);
  o.game = game_;
  r.app = std::make_unique<app::RegionApp>(std::move(o), r.wall);
  install_sim_rules(r.app->rules());
  replica::NodeLoopOptions lo;
  lo.replica.id = r.id;
  for (const auto& other : regions_)
    lo.replica.peers.push_back(other->id);
  lo.replica.retransmit_ms = r.shape.retransmit_ms;
  lo.replica.max_batch_bytes = r.shape.max_batch_bytes;
  lo.tick_ms = r.shape.tick_ms;
  lo.gossip_interval_ms = r.shape.gossip_ms;
  lo.snapshot_every_groups = r.shape.snapshot_every_groups;
  lo.repair_ask_ms = 500;
  r.loop = std::make_unique<replica::NodeLoop>(lo, registry_, *r.journal, *r.transport, *r.app);
  auto opened = r.loop->open();
  if (!opened) {
    violation_("node " + std::to_string(r.id) + " failed to open: " + opened.error().to_string());
    return false;
  }
  r.up = true;
  r.check_recovery = r.restarts > 0;
  // Its first tick falls anywhere in the period, so nodes interleave differently per seed.
  r.next_tick_ms = now_ + 5 * (1 + rng_() % (r.shape.tick_ms / 5));
  r.next_gossip_ms = now_ + r.shape.gossip_ms;
  for (auto& [pair, done] : checked_)
    if (pair.first == r.id) done = 0;  // what it acknowledges now is checked against it anew
  return true;
}

void SimCluster::crash(std::size_t i) {
  SimRegion& r = *regions_[i];
  if (!r.up) return;
  r.acked_by_all = UINT64_MAX;
  for (const auto& [id, peer] : r.loop->replica().stats(now_).peers)
    r.acked_by_all = std::min(r.acked_by_all, peer.acked);
  r.loop.reset();  // before the app: the replica holds the app's clock
  r.app.reset();
  r.transport.reset();
  r.journal.reset();
  r.up = false;
  ++r.restarts;
  net_.restarted(r.id);
}

bool SimCluster::corrupt_acknowledged_record(std::size_t i) {
  SimRegion& r = *regions_[i];
  if (r.up) return false;
  for (auto it = r.durable.records.rbegin(); it != r.durable.records.rend(); ++it) {
    if (it->record.seq >= r.acked_by_all) continue;
    if (corrupt_journal_record(r.dir, it->record.seq)) {
      r.corrupted.push_back(it->record.seq);
      return true;
    }
    return false;  // the newest acknowledged one is already in a snapshot: so are older ones
  }
  return false;
}

void SimCluster::check_ack(ReplicaId self, ReplicaId to, std::uint64_t seq) {
  ++acks_checked_;
  const SimRegion& s = *regions_[self - 1];
  const SimRegion& t = *regions_[to - 1];
  // A node that lost records (damaged on disk) holds less than it once acknowledged until its
  // repair is done; what it acknowledges is checked in full again from then on.
  if (s.loop->repairing()) return;
  const replica::Store& held = s.loop->replica().store();
  std::size_t& done = checked_[{self, to}];
  for (; done < t.durable.records.size() && t.durable.records[done].record.seq < seq; ++done) {
    const auto& [from, record] = t.durable.records[done];
    if (from == self) continue;  // never sent back: the ack does not cover it
    for (const replica::WireEntry& e : record.entries) {
      auto delta = replica::decode_value(registry_, e.key.component, e.value);
      if (!delta) continue;  // reported by observe()
      const ComponentValue* v = held.get(e.key);
      const ComponentValue base = v ? *v : registry_.bottom(e.key.component);
      ComponentValue joined = base;
      replica::join_value(joined, delta.value());
      if (joined == base) continue;
      violation_("node " + std::to_string(self) + " acknowledged node " + std::to_string(to) +
                 "'s groups below " + std::to_string(seq) + " without its group " +
                 std::to_string(record.seq) + "'s write to " + e.key.to_string() + ": holds " +
                 (v ? replica::value_to_string(*v) : std::string("nothing")) + ", delta " +
                 replica::value_to_string(delta.value()));
      return;
    }
  }
}

std::map<std::uint64_t, std::size_t> SimCluster::held_elsewhere(const SimRegion& r) const {
  std::map<std::uint64_t, std::size_t> out;
  const replica::Store& store = r.loop->replica().store();
  const std::string suffix = "@" + std::to_string(r.id);
  for (const auto& [key, value] : store.entries()) {
    if (key.component != gateway::kAuthorityComponent) continue;
    const auto holder = std::get<crdt::EntityAuthority>(value).get();
    if (!holder || holder->region == r.id) continue;
    std::size_t& marks = out[key.entity];
    if (const ComponentValue* m = store.get(Key{key.entity, kMarks})) {
      for (const std::string& e : replica::value_as<crdt::Buffs>(*m).elements())
        marks += e.size() > suffix.size() && e.ends_with(suffix) ? 1 : 0;
    }
  }
  return out;
}

// One authority per player: a node applies a player's actions only while its authority register
// names it (docs/protocol.md, "What a client sees when authority moves"). Peers' deltas are joined
// between turns, and within a turn only an attach here changes the register (to this node): a
// player whose register named another region before and after the turn got no new mark here.
void SimCluster::check_authority(const SimRegion& r,
                                 const std::map<std::uint64_t, std::size_t>& before) {
  const auto after = held_elsewhere(r);
  for (const auto& [player, marks] : after) {
    const auto b = before.find(player);
    if (b == before.end() || marks <= b->second) continue;
    const ComponentValue* v =
        r.loop->replica().store().get(Key{player, gateway::kAuthorityComponent});
    const auto holder = *std::get<crdt::EntityAuthority>(*v).get();
    violation_("node " + std::to_string(r.id) + " applied " + std::to_string(marks - b->second) +
               " of player " + std::to_string(player) +
               "'s actions while its authority register "
               "named region " +
               std::to_string(holder.region) + " (epoch " + std::to_string(holder.epoch) + ")");
    return;
  }
}

void SimCluster::step_node(SimRegion& r, std::uint64_t t) {
  r.wall.set(kSimEpochMs + t + static_cast<std::uint64_t>(r.shape.clock_skew_ms));
  if (t >= r.next_tick_ms) {
    const auto elsewhere = held_elsewhere(r);
    r.loop->turn(t);
    check_authority(r, elsewhere);
    while (r.next_tick_ms <= t)
      r.next_tick_ms += r.shape.tick_ms;
    if (r.check_recovery && !r.loop->repairing()) {
      r.check_recovery = false;
      // Everything it acknowledged before the crash is still there (read back or repaired).
      for (const auto& [player, acked] : r.max_ack_sent) {
        if (acked == 0) continue;  // its frames acknowledged nothing: nothing to hold
        const ComponentValue* v =
            r.loop->replica().store().get(Key{player, gateway::kInputSeqComponent});
        const auto held = v ? std::get<crdt::HighScore>(*v).get() : std::nullopt;
        if (!held || static_cast<std::uint64_t>(*held) < acked) {
          violation_("node " + std::to_string(r.id) + " acknowledged player " +
                     std::to_string(player) + "'s actions up to " + std::to_string(acked) +
                     " and after its restart holds input_seq " +
                     (held ? std::to_string(*held) : std::string("none")));
        }
      }
    }
  }
  if (t >= r.next_gossip_ms) {
    r.loop->gossip(t);
    while (r.next_gossip_ms <= t)
      r.next_gossip_ms += r.shape.gossip_ms;
  }
}

void SimCluster::run_until(std::uint64_t t) {
  while (now_ < t) {
    now_ = std::min(t, now_ + 5);
    net_.deliver(now_, [&](ReplicaId from, ReplicaId to, const std::string& bytes) {
      SimRegion& r = *regions_[to - 1];
      if (!r.up) return;  // lost: nobody listens
      ++messages_;
      delivering_from_ = from;
      r.loop->replica().receive(from, bytes, now_);
      delivering_from_ = 0;
    });
    for (auto& r : regions_)
      if (r->up) step_node(*r, now_);
  }
}

bool SimCluster::converged() const {
  const replica::Store* first = nullptr;
  for (const auto& r : regions_) {
    if (!r->up) return false;
    const replica::Store& s = r->loop->replica().store();
    if (!first) {
      first = &s;
    } else if (!(s.entries() == first->entries())) {
      return false;
    }
  }
  return true;
}

std::string SimCluster::first_difference() const {
  const replica::Store& a = regions_[0]->loop->replica().store();
  for (std::size_t i = 1; i < regions_.size(); ++i) {
    const replica::Store& b = regions_[i]->loop->replica().store();
    for (const auto& [key, value] : a.entries()) {
      const ComponentValue* other = b.get(key);
      if (!other || !(*other == value)) {
        return "node 1 and node " + std::to_string(i + 1) + " differ at " + key.to_string() + ": " +
               replica::value_to_string(value) + " vs " +
               (other ? replica::value_to_string(*other) : std::string("absent"));
      }
    }
    if (a.entries().size() != b.entries().size()) {
      return "node " + std::to_string(i + 1) + " holds keys node 1 does not";
    }
  }
  return "";
}

}  // namespace worldline::testing
