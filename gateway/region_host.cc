#include "gateway/region_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace worldline::gateway {

using replica::ComponentValue;
using replica::Key;

namespace {

constexpr std::uint64_t kClaimWatchMs = 10'000;  // gossip has long converged by then

}  // namespace

RegionHost::RegionHost(HostOptions options, region::RegionPipeline& pipeline,
                       region::GameRules& rules, replica::Replica& world, crdt::HlcClock& clock)
    : options_(std::move(options)),
      pipeline_(pipeline),
      rules_(rules),
      world_(world),
      clock_(clock) {}

SessionId RegionHost::attach(std::uint64_t player, std::shared_ptr<SessionSink> sink) {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  const SessionId id = next_session_++;
  Event e{Event::Kind::kAttach, id, player, std::move(sink), 0, {}, 0};
  inbox_.push_back(std::move(e));
  return id;
}

void RegionHost::submit(SessionId session, int raw_kind, region::Action action,
                        std::uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  ++received_;
  inbox_.push_back(
      Event{Event::Kind::kAction, session, 0, nullptr, raw_kind, std::move(action), now_ms});
}

void RegionHost::detach(SessionId session) {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  inbox_.push_back(Event{Event::Kind::kDetach, session, 0, nullptr, 0, {}, 0});
}

std::uint64_t RegionHost::replicated_seq(std::uint64_t player) const {
  const ComponentValue* v = world_.store().get(Key{player, kInputSeqComponent});
  if (!v) return 0;
  const auto& seq = std::get<crdt::HighScore>(*v).get();
  return seq && *seq > 0 ? static_cast<std::uint64_t>(*seq) : 0;
}

void RegionHost::take_authority(std::uint64_t player) {
  const ComponentValue* v = world_.store().get(Key{player, kAuthorityComponent});
  const std::optional<crdt::Authority> current =
      v ? std::get<crdt::EntityAuthority>(*v).get() : std::nullopt;
  if (!current || current->region != world_.id()) {
    const crdt::Authority next{current ? current->epoch + 1 : 1, world_.id()};
    (void)world_.write(Key{player, kAuthorityComponent},
                       [&](ComponentValue& c) -> std::optional<ComponentValue> {
                         return std::get<crdt::EntityAuthority>(c).set(next);
                       });
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.authority_taken;
    if (current) {
      spdlog::info("player {}: authority moves from region {} to {} (epoch {})", player,
                   current->region, world_.id(), next.epoch);
    }
  }
  if (!region::GameRules::position(world_, player)) {
    crdt::Vec3 at = options_.spawn_point;
    if (options_.spawn_radius > 0) {
      // A fixed point of the disc per player: two hashes of the id, as angle and radius.
      const std::uint64_t h = (player + 1) * 0x9E3779B97F4A7C15ull;
      const double u = static_cast<double>(h >> 11) / 9007199254740992.0;
      const double v = static_cast<double>((h * 0xBF58476D1CE4E5B9ull) >> 11) / 9007199254740992.0;
      const double r = options_.spawn_radius * std::sqrt(v), a = 6.283185307179586 * u;
      at.x += r * std::cos(a);
      at.z += r * std::sin(a);
    }
    rules_.spawn(world_, player, at, clock_);
  }
}

void RegionHost::check_claims(std::uint64_t now_ms,
                              const std::unordered_map<std::uint64_t, SessionId>& session_of) {
  std::uint64_t lost = 0;
  auto it = std::remove_if(granted_.begin(), granted_.end(), [&](const Claim& c) {
    const ComponentValue* v = world_.store().get(Key{c.item, region::kItemOwnerComponent});
    const auto owner = v ? std::get<crdt::UniqueItemOwner>(*v).owner() : std::nullopt;
    if (owner && *owner != c.player) {
      ++lost;
      auto s = session_of.find(c.player);
      if (s != session_of.end()) {
        sessions_.at(s->second).pending.push_back(
            RejectFrame{c.seq, "conflict_lost",
                        "item " + std::to_string(c.item) + " went to player " +
                            std::to_string(*owner) + ": an earlier claim in another region won"});
      }
      return true;
    }
    return now_ms > c.until_ms;
  });
  granted_.erase(it, granted_.end());
  if (lost) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats_.claims_lost += lost;
  }
}

void RegionHost::tick(std::uint64_t tick, std::uint64_t steady_ms) {
  tick_ = tick;
  // Ingress compares the client's clock with the region's physical (Unix) clock.
  const std::uint64_t region_ms = clock_.physical().now_ms();
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    events.swap(inbox_);
  }
  std::uint64_t rejected = 0, received = 0, attached = 0;
  // Actions go to the pipeline in batches (submit_all: routed to their cells on the region's
  // workers), each batch before the next attach or detach, so a player's actions and its
  // (re)attachment reach the pipeline in the order they came.
  std::vector<region::Submission> batch;
  struct Sent {
    SessionId session;
    std::uint64_t seq, received_ms;
    std::optional<crdt::EntityId> pickup;  // the item, for a pickup
  };
  std::vector<Sent> sent;
  auto flush = [&] {
    if (batch.empty()) return;
    const auto refused = pipeline_.submit_all(batch, region_ms);
    auto r = refused.begin();
    for (std::size_t i = 0; i < sent.size(); ++i) {
      Session& s = sessions_.at(sent[i].session);  // no detach since it was batched
      if (r != refused.end() && r->index == i) {
        ++rejected;
        s.pending.push_back(
            RejectFrame{sent[i].seq, region::to_string(r->reject.reason), r->reject.detail});
        ++r;
      } else {
        progress_[s.player].waiting.emplace_back(sent[i].seq, sent[i].received_ms);
        // Watched only once ingress took it: a pickup refused there has no outcome to end its
        // entry (every such refusal used to leak one).
        if (sent[i].pickup) claiming_[{s.player, sent[i].seq}] = *sent[i].pickup;
      }
    }
    batch.clear();
    sent.clear();
  };
  for (Event& e : events) {
    switch (e.kind) {
      case Event::Kind::kAttach: {
        flush();
        ++attached;
        take_authority(e.player);
        // Whatever another region already processed for this player is never applied again.
        pipeline_.mark_processed(e.player, replicated_seq(e.player));
        PlayerProgress& p = progress_[e.player];
        p.processed_seq = std::max(p.processed_seq, pipeline_.processed_seq(e.player));
        sessions_[e.session] = Session{e.player, std::move(e.sink), {}, {}};
        break;
      }
      case Event::Kind::kDetach:
        flush();
        sessions_.erase(e.session);
        break;
      case Event::Kind::kAction: {
        auto s = sessions_.find(e.session);
        if (s == sessions_.end()) break;  // detached meanwhile
        ++received;
        e.action.actor = s->second.player;
        const std::uint64_t seq = e.action.client_seq;
        std::optional<crdt::EntityId> pickup;
        if (e.raw_kind == static_cast<int>(region::ActionKind::kPickup)) pickup = e.action.target;
        batch.push_back(region::Submission{e.raw_kind, std::move(e.action)});
        sent.push_back(Sent{e.session, seq, e.received_ms, pickup});
        break;
      }
    }
  }
  flush();
  std::unordered_map<std::uint64_t, SessionId> session_of;  // each player's latest session
  for (const auto& [id, s] : sessions_)
    session_of[s.player] = id;
  check_claims(steady_ms, session_of);  // peers' deltas joined since the last tick may decide some
  std::unordered_map<std::uint64_t, std::uint64_t> highest;
  for (const region::Outcome& o : pipeline_.tick(tick)) {
    std::uint64_t& h = highest[o.actor];
    h = std::max(h, o.seq);
    if (auto c = claiming_.find({o.actor, o.seq}); c != claiming_.end()) {
      if (o.ok) granted_.push_back(Claim{o.actor, o.seq, c->second, steady_ms + kClaimWatchMs});
      claiming_.erase(c);
    }
    if (o.ok) continue;
    ++rejected;
    auto s = session_of.find(o.actor);
    if (s != session_of.end()) {
      sessions_.at(s->second).pending.push_back(RejectFrame{o.seq, "refused", o.reason});
    }
  }
  for (const auto& [player, seq] : highest) {
    PlayerProgress& p = progress_[player];
    p.processed_seq = std::max(p.processed_seq, seq);
    (void)world_.write(
        Key{player, kInputSeqComponent}, [&](ComponentValue& c) -> std::optional<ComponentValue> {
          return std::get<crdt::HighScore>(c).set(static_cast<std::int64_t>(p.processed_seq));
        });
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.actions_received += received;
  stats_.rejected += rejected;
  stats_.attached_total += attached;
  stats_.claims_watched = claiming_.size() + granted_.size();
}

void RegionHost::publish(std::uint64_t now_ms) {
  std::uint64_t frames = 0;
  replica::Histogram ack_ms(stats_.ack_ms.bounds());
  for (auto& [id, s] : sessions_) {
    PlayerProgress& p = progress_[s.player];
    StateFrame f;
    f.tick = tick_;
    f.ack = p.processed_seq;
    std::vector<crdt::EntityId> now_visible;  // ascending, as within() returns them
    if (const auto me = region::GameRules::position(world_, s.player)) {
      for (crdt::EntityId e : pipeline_.within(me->x, me->z, options_.interest_radius)) {
        const auto pos = region::GameRules::position(world_, e);
        if (!pos) continue;
        f.entities.push_back(EntityState{e, *pos, region::GameRules::health(world_, e)});
        now_visible.push_back(e);
      }
    }
    std::set_difference(s.visible.begin(), s.visible.end(), now_visible.begin(), now_visible.end(),
                        std::back_inserter(f.removed));
    s.visible = std::move(now_visible);
    std::vector<ServerFrame> out;
    out.reserve(s.pending.size() + 1);
    for (RejectFrame& frame : s.pending)
      out.emplace_back(std::move(frame));
    s.pending.clear();
    out.emplace_back(std::move(f));
    s.sink->deliver_all(std::move(out));
    ++frames;
    auto done = std::partition(p.waiting.begin(), p.waiting.end(),
                               [&](const auto& w) { return w.first > p.processed_seq; });
    for (auto it = done; it != p.waiting.end(); ++it)
      ack_ms.record(static_cast<double>(now_ms - std::min(now_ms, it->second)));
    p.waiting.erase(done, p.waiting.end());
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.state_frames += frames;
  stats_.ack_ms.merge(ack_ms);
  stats_.sessions = sessions_.size();
}

HostStats RegionHost::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return stats_;
}

}  // namespace worldline::gateway
