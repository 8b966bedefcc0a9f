#include "gateway/region_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "region/director/npc.h"

namespace worldline::gateway {

using replica::ComponentValue;
using replica::Key;

RegionHost::RegionHost(HostOptions options, region::RegionPipeline& pipeline,
                       region::GameRules& rules, replica::Replica& world, crdt::HlcClock& clock)
    : options_(std::move(options)),
      pipeline_(pipeline),
      rules_(rules),
      world_(world),
      clock_(clock),
      // Until this host commits a group, what it acknowledges (processed seqs read from the
      // recovered store) waits for the newest recovered group to be durable.
      last_group_(world.next_seq() > 1 ? world.next_seq() - 1 : 0) {
  // The world's items, written once: at the first start, or on a region that finds some missing
  // (every region writes the same state for them, region/items.h). Into the open group, which
  // the first commit makes durable; the pipeline places them at its first tick.
  const region::ItemField& items = rules_.config().items;
  if (items.count > 0) {
    const std::size_t placed = region::place_items(world_, items);
    spdlog::info("region {}: {} items ({} .. {}), {} placed now, {} found in the world",
                 options_.region_name, items.count, items.first_id,
                 items.first_id + items.count - 1, placed, items.count - placed);
  }
}

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

bool RegionHost::advance_past_refusals(PlayerProgress& p) {
  bool moved = false;
  while (!p.refused.empty() && (p.admitted.empty() || *p.admitted.begin() > *p.refused.begin())) {
    if (*p.refused.begin() > p.processed_seq) {
      p.processed_seq = *p.refused.begin();
      moved = true;
    }
    p.refused.erase(p.refused.begin());
  }
  return moved;
}

std::uint64_t RegionHost::durable_below(std::uint64_t now_ms) const {
  if (options_.replicated_k == 0) return world_.next_seq();  // committed is durable
  std::vector<std::uint64_t> acked;  // per peer: it joined (and journaled) our groups below this
  for (const auto& [id, peer] : world_.stats(now_ms).peers)
    acked.push_back(peer.acked);
  if (acked.size() < options_.replicated_k) return 0;
  std::sort(acked.rbegin(), acked.rend());
  return acked[options_.replicated_k - 1];  // joined by at least k peers
}

bool RegionHost::holds_authority(std::uint64_t player) const {
  const ComponentValue* v = world_.store().get(Key{player, kAuthorityComponent});
  const auto current = v ? std::get<crdt::EntityAuthority>(*v).get() : std::nullopt;
  return current && current->region == world_.id();
}

std::size_t RegionHost::kick(std::uint64_t player, const std::string& why) {
  std::size_t n = 0;
  for (auto& [id, s] : sessions_) {
    if (s.player != player) continue;
    s.sink->deliver(ErrorFrame{ErrorCode::kKicked, why});  // then the close, in this order
    s.sink->close(static_cast<int>(ErrorCode::kKicked), "kicked");
    ++n;
  }
  return n;
}

void RegionHost::release_moved_authority() {
  std::vector<std::uint64_t> moved;  // players, each once
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const std::uint64_t player = it->second.player;
    if (holds_authority(player)) {
      ++it;
      continue;
    }
    const ComponentValue* v = world_.store().get(Key{player, kAuthorityComponent});
    const crdt::Authority now = *std::get<crdt::EntityAuthority>(*v).get();
    const std::string why = "region " + std::to_string(now.region) +
                            " took your authority (epoch " + std::to_string(now.epoch) +
                            "): reconnect";
    // The error first, then the close: the session's strand sends them in this order.
    it->second.sink->deliver(ErrorFrame{ErrorCode::kAuthorityMoved, why});
    it->second.sink->close(static_cast<int>(ErrorCode::kAuthorityMoved), "authority_moved");
    moved.push_back(player);
    it = sessions_.erase(it);
  }
  if (moved.empty()) return;
  std::sort(moved.begin(), moved.end());
  moved.erase(std::unique(moved.begin(), moved.end()), moved.end());
  for (std::uint64_t player : moved) {
    const std::size_t dropped = pipeline_.drop_pending(player);
    // Its pickups in flight will have no outcome here.
    claiming_.erase(claiming_.lower_bound({player, 0}),
                    claiming_.upper_bound({player, UINT64_MAX}));
    progress_.erase(player);  // its waiting actions will not be acknowledged here
    spdlog::info(
        "player {}: authority moved to another region; its sessions here closed, {} "
        "actions not yet processed dropped",
        player, dropped);
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.authority_lost += moved.size();
}

namespace {

// A pending claim as stored in the player's kPendingClaimsComponent: "<item>:<seq>".
std::string claim_element(crdt::EntityId item, std::uint64_t seq) {
  return std::to_string(item) + ":" + std::to_string(seq);
}
std::optional<std::pair<crdt::EntityId, std::uint64_t>> parse_claim(const std::string& e) {
  const auto colon = e.find(':');
  if (colon == std::string::npos) return std::nullopt;
  try {
    return std::pair{std::stoull(e.substr(0, colon)), std::stoull(e.substr(colon + 1))};
  } catch (const std::exception&) {
    return std::nullopt;  // not written by this host: ignored
  }
}

}  // namespace

void RegionHost::record_grant(std::uint64_t player, crdt::EntityId item, std::uint64_t seq) {
  (void)world_.write(Key{player, kPendingClaimsComponent},
                     [&](ComponentValue& c) -> std::optional<ComponentValue> {
                       return replica::value_as<crdt::Buffs>(c).add(world_.id(),
                                                                    claim_element(item, seq));
                     });
}

void RegionHost::confirm_told_claims(std::uint64_t player, SessionId session,
                                     std::uint64_t seen_tick) {
  auto it = told_.lower_bound({player, std::string()});
  while (it != told_.end() && it->first.first == player) {
    const std::vector<Told>& told = it->second;
    const bool seen = std::any_of(told.begin(), told.end(), [&](const Told& t) {
      return t.session == session && t.tick <= seen_tick;
    });
    if (!seen) {
      ++it;
      continue;
    }
    const std::string& element = it->first.second;
    (void)world_.write(Key{player, kPendingClaimsComponent},
                       [&](ComponentValue& c) -> std::optional<ComponentValue> {
                         auto& set = replica::value_as<crdt::Buffs>(c);
                         if (!set.contains(element)) return std::nullopt;
                         return set.remove(element);
                       });
    it = told_.erase(it);
  }
}

void RegionHost::check_claims(const SessionsOf& session_of) {
  std::uint64_t lost = 0;  // claims found lost (again after a restart)
  // The lost claims of the players attached here, with the sessions told so far: what is no
  // longer pending (confirmed in another region) or whose player left is forgotten, and a new
  // session is told anew.
  decltype(told_) still_lost;
  for (const auto& [player, sessions] : session_of) {
    const ComponentValue* v = world_.store().get(Key{player, kPendingClaimsComponent});
    if (!v) continue;
    for (const std::string& element : replica::value_as<crdt::Buffs>(*v).elements()) {
      const auto claim = parse_claim(element);
      if (!claim) continue;
      const auto [item, seq] = *claim;
      const ComponentValue* o = world_.store().get(Key{item, region::kItemOwnerComponent});
      const auto owner = o ? std::get<crdt::UniqueItemOwner>(*o).owner() : std::nullopt;
      if (!owner || *owner == player) continue;  // still the player's: stays pending
      std::vector<Told> told;
      if (auto was = told_.find({player, element}); was != told_.end()) {
        told = std::move(was->second);
      } else {
        ++lost;
      }
      const RejectFrame notice{seq, "conflict_lost",
                               "item " + std::to_string(item) + " went to player " +
                                   std::to_string(*owner) +
                                   ": an earlier claim in another region won"};
      for (SessionId session : sessions) {
        if (std::any_of(told.begin(), told.end(),
                        [&](const Told& t) { return t.session == session; })) {
          continue;
        }
        // Goes out before this tick's state frame on that session (publish()).
        sessions_.at(session).pending.push_back(notice);
        told.push_back(Told{session, tick_});
      }
      still_lost.emplace(std::pair{player, element}, std::move(told));
    }
  }
  told_ = std::move(still_lost);
  if (lost) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats_.claims_lost += lost;
  }
}

void RegionHost::tick(std::uint64_t tick, std::uint64_t /*steady_ms*/) {
  tick_ = tick;
  // Ingress compares the client's clock with the region's physical (Unix) clock.
  const std::uint64_t region_ms = clock_.physical().now_ms();
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    events.swap(inbox_);
  }
  // Peers' deltas joined since the last tick may show another region took a player's authority:
  // its sessions here end before any of its actions is admitted. Within the tick only an attach
  // here changes a register, and it makes this region the authority: every action admitted below
  // comes from a session whose player this region holds.
  release_moved_authority();
  std::uint64_t rejected = 0, received = 0, attached = 0;
  // Actions go to the pipeline in batches (submit_all: routed to their cells on the region's
  // workers), each batch before the next attach or detach, so a player's actions and its
  // (re)attachment reach the pipeline in the order they came.
  std::vector<region::Submission> batch;
  struct Sent {
    SessionId session;
    std::uint64_t seq, received_ms;
    bool claiming;  // it made the claiming_ entry of (player, seq)
  };
  std::vector<Sent> sent;
  std::vector<std::uint64_t> detached;  // players whose session detached in this tick
  auto flush = [&] {
    if (batch.empty()) return;
    const auto refused = pipeline_.submit_all(batch, region_ms);
    auto r = refused.begin();
    for (std::size_t i = 0; i < sent.size(); ++i) {
      Session& s = sessions_.at(sent[i].session);  // no detach since it was batched
      PlayerProgress& p = progress_[s.player];
      if (r != refused.end() && r->index == i) {
        ++rejected;
        if (sent[i].claiming) claiming_.erase({s.player, sent[i].seq});  // never reaches a cell
        s.pending.push_back(
            RejectFrame{sent[i].seq, region::to_string(r->reject.reason), r->reject.detail});
        // A duplicate is covered by the processing (here or elsewhere) of its first copy.
        if (r->reject.reason != region::RejectReason::kDuplicate) {
          p.refused.insert(sent[i].seq);
          with_refusals_.insert(s.player);
        }
        ++r;
      } else {
        // Timed for the ack latency histogram, up to a bound: under replicated:k a region cut
        // off from its peers acknowledges nothing, and the list would grow for as long.
        if (p.waiting.size() < kMaxTimedPerPlayer) {
          p.waiting.emplace_back(sent[i].seq, sent[i].received_ms);
        }
        p.admitted.insert(sent[i].seq);
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
        ++p.sessions;
        touched_.push_back(e.player);
        sessions_[e.session] = Session{e.player, std::move(e.sink), {}, {}, 0, 0};
        break;
      }
      case Event::Kind::kDetach:
        flush();
        if (auto s = sessions_.find(e.session); s != sessions_.end()) {
          detached.push_back(s->second.player);
          if (auto p = progress_.find(s->second.player); p != progress_.end()) --p->second.sessions;
          sessions_.erase(s);
        }
        break;
      case Event::Kind::kAction: {
        auto s = sessions_.find(e.session);
        if (s == sessions_.end()) break;  // detached meanwhile
        ++received;
        e.action.actor = s->second.player;
        // A client can only have read frames this session was sent: a `seen` outside them
        // (kept across a reconnect, from another region's numbering, made up) confirms nothing.
        const Session& from = s->second;
        if (!told_.empty() && from.first_frame_tick &&
            e.action.seen_tick >= from.first_frame_tick &&
            e.action.seen_tick <= from.last_frame_tick) {
          confirm_told_claims(from.player, e.session, e.action.seen_tick);
        }
        const std::uint64_t seq = e.action.client_seq;
        // A resend of a pickup already in flight keeps the first entry (and is refused as a
        // duplicate, which must not erase it).
        const bool claiming =
            e.raw_kind == static_cast<int>(region::ActionKind::kPickup) &&
            claiming_.try_emplace({s->second.player, seq}, e.action.target).second;
        batch.push_back(region::Submission{e.raw_kind, std::move(e.action)});
        sent.push_back(Sent{e.session, seq, e.received_ms, claiming});
        break;
      }
    }
  }
  flush();
  // Each player's sessions here: its rejects and notices go to every one of them. A client that
  // lost its connection unnoticed and came back has two, and only the new one is read.
  SessionsOf session_of;
  for (const auto& [id, s] : sessions_)
    session_of[s.player].push_back(id);
  // A player with no session here left (to resume here or in another region, which may take its
  // authority before our next look at the register): its actions not yet processed are dropped,
  // never applied behind its back. None was acknowledged; the client resends them on resume, and
  // its processed seq stays, so what was applied is still refused as a duplicate.
  for (std::uint64_t player : detached) {
    if (session_of.count(player)) continue;
    pipeline_.drop_pending(player);
    // Neither the dropped actions nor the refusals after them are acknowledged: the client
    // resends them all on resume.
    if (auto p = progress_.find(player); p != progress_.end()) {
      p->second.admitted.clear();
      p->second.refused.clear();
      // The dropped ones will not be acknowledged here: nothing to time (a resend is timed from
      // its own arrival). Those processed still are, once their group is durable.
      std::erase_if(p->second.waiting,
                    [&](const auto& w) { return w.first > p->second.processed_seq; });
    }
    claiming_.erase(claiming_.lower_bound({player, 0}),
                    claiming_.upper_bound({player, UINT64_MAX}));
  }
  // Peers' deltas joined since the last tick may have decided some of the attached players'
  // pending claims against them (and an attach brings a player's claims into view).
  check_claims(session_of);
  std::unordered_map<std::uint64_t, std::uint64_t> highest;
  for (const region::Outcome& o : pipeline_.tick(tick)) {
    // NPCs' actions (app/event_npcs.h) are nobody's session's: no ack, no reject, no input_seq.
    if (region::director::is_npc(o.actor)) continue;
    std::uint64_t& h = highest[o.actor];
    h = std::max(h, o.seq);
    if (auto p = progress_.find(o.actor); p != progress_.end()) p->second.admitted.erase(o.seq);
    if (auto c = claiming_.find({o.actor, o.seq}); c != claiming_.end()) {
      if (o.ok) record_grant(o.actor, c->second, o.seq);  // in this tick's group, before its ack
      claiming_.erase(c);
    }
    if (o.ok) continue;
    ++rejected;
    if (auto s = session_of.find(o.actor); s != session_of.end()) {
      const RejectFrame reject{o.seq, o.code.empty() ? "refused" : o.code, o.reason};
      for (SessionId session : s->second)
        sessions_.at(session).pending.push_back(reject);
    }
  }
  for (auto it = with_refusals_.begin(); it != with_refusals_.end();) {
    auto p = progress_.find(*it);
    if (p != progress_.end() && advance_past_refusals(p->second)) {
      std::uint64_t& h = highest[*it];
      h = std::max(h, p->second.processed_seq);
    }
    if (p == progress_.end() || p->second.refused.empty()) {
      it = with_refusals_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [player, seq] : highest) {
    PlayerProgress& p = progress_[player];
    p.processed_seq = std::max(p.processed_seq, seq);
    touched_.push_back(player);
    (void)world_.write(
        Key{player, kInputSeqComponent}, [&](ComponentValue& c) -> std::optional<ComponentValue> {
          return std::get<crdt::HighScore>(c).set(static_cast<std::int64_t>(p.processed_seq));
        });
  }
  next_seq_at_tick_ = world_.next_seq();
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.actions_received += received;
  stats_.rejected += rejected;
  stats_.attached_total += attached;
  stats_.claims_watched = claiming_.size();
}

void RegionHost::publish(std::uint64_t now_ms) {
  // The commit since tick() numbered a group if the tick wrote anything (nothing else numbers
  // groups between the two: peers' deltas are joined between ticks). Outcomes of a tick that
  // wrote nothing have no effects of their own to wait for beyond the newest group before it.
  if (world_.next_seq() > next_seq_at_tick_) last_group_ = world_.next_seq() - 1;
  for (std::uint64_t player : touched_) {
    auto p = progress_.find(player);  // gone if its authority moved meanwhile
    if (p == progress_.end()) continue;
    auto& u = p->second.undurable;
    // At the bound (a long wait for k peers under replicated:k), the newest entry moves forward
    // to this group instead: what it covered is then acknowledged with this group, later than it
    // could have been — never earlier.
    if (!u.empty() && (u.back().first == last_group_ || u.size() >= kMaxUndurablePerPlayer)) {
      u.back().first = std::max(u.back().first, last_group_);
      u.back().second = std::max(u.back().second, p->second.processed_seq);
    } else {
      u.emplace_back(last_group_, p->second.processed_seq);
    }
  }
  touched_.clear();
  // What an ack promises (DESIGN.md, "What an acknowledgement means"): every action up to it has
  // its outcome decided and its effects in a group that is durable — journaled, and under
  // replicated:k joined and journaled by k peers.
  const std::uint64_t below = durable_below(now_ms);
  for (auto it = progress_.begin(); it != progress_.end();) {
    PlayerProgress& p = it->second;
    while (!p.undurable.empty() &&
           (p.undurable.front().first == 0 || p.undurable.front().first < below)) {
      p.acked_seq = std::max(p.acked_seq, p.undurable.front().second);
      p.undurable.pop_front();
    }
    // A player with no session here and nothing left to acknowledge is forgotten (its processed
    // seq stays in the pipeline and the replicated input_seq; a new session starts from them).
    if (p.sessions == 0 && p.undurable.empty() && p.admitted.empty() && p.refused.empty()) {
      it = progress_.erase(it);
    } else {
      ++it;
    }
  }
  std::uint64_t frames = 0;
  replica::Histogram ack_ms(stats_.ack_ms.bounds());
  for (auto& [id, s] : sessions_) {
    PlayerProgress& p = progress_[s.player];
    StateFrame f;
    f.tick = tick_;
    f.ack = p.acked_seq;
    std::vector<crdt::EntityId> now_visible;  // ascending, as within() returns them
    if (const auto me = region::GameRules::position(world_, s.player)) {
      for (crdt::EntityId e : pipeline_.within(me->x, me->z, options_.interest_radius)) {
        const auto pos = region::GameRules::position(world_, e);
        if (!pos) continue;
        EntityState s{e, *pos, 0, false, 0};
        // Players have a health counter from their spawn on; an entity without one may be an
        // item (one more lookup only for those).
        if (const ComponentValue* h = world_.store().get(Key{e, region::kHealthComponent})) {
          s.health = std::get<crdt::Health>(*h).value();
        } else if (region::GameRules::is_item(world_, e)) {
          s.item = true;
          s.owner = region::GameRules::item_owner(world_, e).value_or(0);
        }
        f.entities.push_back(s);
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
    if (!s.first_frame_tick) s.first_frame_tick = tick_;
    s.last_frame_tick = tick_;
    ++frames;
    auto done = std::partition(p.waiting.begin(), p.waiting.end(),
                               [&](const auto& w) { return w.first > p.acked_seq; });
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

std::vector<std::uint64_t> RegionHost::online_players() const {
  std::vector<std::uint64_t> players;
  players.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_)
    players.push_back(session.player);
  std::sort(players.begin(), players.end());
  players.erase(std::unique(players.begin(), players.end()), players.end());
  return players;
}

}  // namespace worldline::gateway
