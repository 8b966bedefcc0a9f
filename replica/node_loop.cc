#include "replica/node_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

namespace worldline::replica {

NodeLoop::NodeLoop(NodeLoopOptions options, const ComponentRegistry& registry, LmdbJournal& journal,
                   Transport& transport, NodeApp& app)
    : options_(std::move(options)),
      registry_(registry),
      journal_(journal),
      transport_(transport),
      app_(app) {}

NodeLoop::~NodeLoop() = default;

bool NodeLoop::repairing() const {
  return replica_ && replica_->repairing();
}

crdt::Result<bool> NodeLoop::open() {
  const ReplicaId id = options_.replica.id;
  auto recovery = journal_.recover(registry_);
  if (!recovery) {
    return crdt::make_error(recovery.error().code,
                            "recovery failed: " + recovery.error().to_string());
  }
  replica_ = std::make_unique<Replica>(options_.replica, registry_, journal_, transport_);
  for (const auto& r : recovery.value().records)
    replica_->restore(r);
  replica_->restore_next_seq(recovery.value().next_seq);
  spdlog::info("replica {}: recovered {} keys from {} records, next seq {}, {} quarantined", id,
               replica_->store().entries().size(), recovery.value().records.size(),
               replica_->next_seq(), recovery.value().quarantined);
  // Repair (docs/replica.md, "Recovery"): after any quarantine the state read back may lack this
  // replica's own writes, which peers saw. request_resync() sends every peer our digest and
  // fences local writes — no application tick, so a region node's players are not served —
  // until each peer's state diff is joined; quarantined snapshot entries are also fetched by key.
  // The asks are repeated every repair_ask_ms to the peers still awaited (the first ones go out
  // before any link is up).
  refetch_ = recovery.value().quarantined_keys;
  const std::uint64_t now = transport_.now_ms();
  last_repair_ask_ms_ = repair_log_ms_ = now;
  if (!recovery.value().lost_state()) {
    // Bounded counters a record could not take on replay (their rights in a later record, or in
    // one a repair brought back before a crash ended the last run) are valid now, or never.
    replica_->rejoin_replay_held();
  } else {
    // Durably first: a stop or crash before the repair ends must not forget it (the quarantined
    // records are gone from the journal, so the next start would see nothing wrong).
    if (auto marked = journal_.set_repairing(true); !marked) {
      return crdt::make_error(marked.error().code,
                              "cannot record the repair in LMDB: " + marked.error().to_string());
    }
    repair_recorded_ = true;
    replica_->request_resync();
    spdlog::warn(
        "replica {}: {} records quarantined{}: local writes wait until every peer has sent its "
        "state (a write now could reuse this replica's dots and counter totals)",
        id, recovery.value().quarantined,
        recovery.value().repair_pending ? " (and a repair left unfinished before this start)" : "");
  }
  if (!app_.start(*replica_)) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument, "the node could not start");
  }
  return true;
}

void NodeLoop::turn(std::uint64_t now_ms) {
  // The repair fence (Replica::request_resync()): no local write while peers' states are
  // awaited. Received groups still commit.
  if (!replica_->repairing()) app_.tick(*replica_, now_ms);
  auto seq = replica_->commit(now_ms);
  app_.after_commit(*replica_, seq.ok(), seq.ok() ? seq.value() : std::nullopt, now_ms);
  if (!seq) {
    spdlog::error("replica {}: group commit failed, writes stay unacknowledged: {}", replica_->id(),
                  seq.error().to_string());
  } else if (seq.value() && options_.snapshot_every_groups &&
             ++groups_since_snapshot_ >= options_.snapshot_every_groups) {
    snapshot();
  }
}

bool NodeLoop::snapshot() {
  if (replica_->repairing()) return false;
  auto ok = journal_.snapshot(replica_->store(), replica_->next_seq());
  if (!ok) {
    spdlog::error("replica {}: snapshot failed: {}", replica_->id(), ok.error().to_string());
    return false;
  }
  groups_since_snapshot_ = 0;
  return true;
}

void NodeLoop::gossip(std::uint64_t now) {
  const ReplicaId id = replica_->id();
  if (repair_recorded_ && !replica_->repairing()) {
    if (auto done = journal_.set_repairing(false); done) {
      repair_recorded_ = false;
      spdlog::info("replica {}: repair complete: every peer sent its state", id);
    } else {
      spdlog::error("replica {}: cannot record the end of the repair: {}", id,
                    done.error().to_string());
    }
  }
  if (replica_->repairing() && now - last_repair_ask_ms_ >= options_.repair_ask_ms) {
    last_repair_ask_ms_ = now;
    replica_->request_resync();  // to the peers still awaited
    replica_->request_keys(refetch_);
    if (now - repair_log_ms_ >= 10'000) {
      repair_log_ms_ = now;
      std::string awaited;
      for (ReplicaId peer : replica_->awaiting_repair())
        awaited += " " + std::to_string(peer);
      spdlog::warn("replica {}: still repairing lost state; local writes wait for replicas{}", id,
                   awaited);
    }
  }
  transport_.maintain(now);
  replica_->gossip(now);
}

void NodeLoop::finish(std::uint64_t now_ms) {
  spdlog::info("replica {}: stopping: final commit and snapshot", replica_->id());
  app_.finishing();
  turn(now_ms);
  snapshot();
}

namespace {
// Runs fn; a throw is logged with its context and returned as its description.
template <class Fn>
std::optional<std::string> run_guarded(Fn&& fn) {
  try {
    fn();
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::string("an exception that is not a std::exception");
  }
}
}  // namespace

// The tick loop runs at a fixed rate: tick k is due at start + k × tick_ms, whatever the ticks
// before it cost (a delay after each tick would stretch every period by the tick's own time, and
// with it every action's wait). A tick ending after the next one is due makes it late; when the
// loop falls a whole period behind, the due times it missed are skipped (counted), not run back to
// back. Gossip runs every gossip_interval_ms between ticks.
//
// A tick that throws is a bug (a handler, a worker, the commit path): the node's state past the
// last commit is unknown, and a node that keeps gossiping without ticking is a zombie its players
// never leave. So the failure is logged with its context and run() returns kExitTickFailed
// without a final commit or snapshot (the journal holds every acknowledged group); a supervisor
// restarts the node and its players fail over meanwhile.
int NodeLoop::run() {
  if (replica_) {
    // opened by the caller
  } else if (auto opened = open(); !opened) {
    spdlog::error("replica {}: {}", options_.replica.id, opened.error().to_string());
    return 2;
  }
  const std::uint64_t start = transport_.now_ms();
  const std::uint64_t period = std::max<std::uint64_t>(1, options_.tick_ms);
  const std::uint64_t gossip_every = std::max<std::uint64_t>(1, options_.gossip_interval_ms);
  std::uint64_t next_tick = start + period, next_gossip = start + gossip_every;
  const std::uint64_t stop_at =
      options_.stop_after_ms ? start + options_.stop_after_ms : UINT64_MAX;
  for (;;) {
    const std::uint64_t due = std::min({next_tick, next_gossip, stop_at});
    if (!transport_.wait_until(due)) break;
    std::uint64_t now = transport_.now_ms();
    if (now >= stop_at) break;
    if (now >= next_gossip) {
      if (auto failed = run_guarded([&] { gossip(now); })) {
        spdlog::critical("replica {}: gossip failed: {}; exiting with code {}", replica_->id(),
                         *failed, kExitTickFailed);
        return kExitTickFailed;
      }
      next_gossip = now + gossip_every;
    }
    if (now < next_tick) continue;
    const std::uint64_t started = now;
    const auto started_precise = std::chrono::steady_clock::now();
    if (auto failed = run_guarded([&] { turn(now); })) {
      spdlog::critical(
          "replica {}: tick {} failed: {} (next seq {}, {} ticks late so far); exiting with code "
          "{} so a supervisor restarts the node — its players fail over to other regions",
          replica_->id(), loop_.ticks + 1, *failed, replica_->next_seq(), loop_.late,
          kExitTickFailed);
      return kExitTickFailed;
    }
    now = transport_.now_ms();
    ++loop_.ticks;
    loop_.turn_ms.record(std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - started_precise)
                             .count());
    next_tick += period;
    if (now > next_tick) {
      ++loop_.late;
      const std::uint64_t behind = (now - next_tick) / period;
      if (behind > 0) {
        loop_.skipped += behind;
        next_tick += behind * period;
        if (++fell_behind_ == 1 || fell_behind_ % 100 == 0) {
          spdlog::warn(
              "replica {}: the tick loop fell behind: {} ticks late, {} skipped so far (last "
              "turn {} ms, period {} ms)",
              replica_->id(), loop_.late, loop_.skipped, now - started, period);
        }
      }
    }
  }
  if (auto failed = run_guarded([&] { finish(transport_.now_ms()); })) {
    spdlog::critical("replica {}: the final tick failed: {}", replica_->id(), *failed);
    return kExitTickFailed;
  }
  return 0;
}

}  // namespace worldline::replica
