#include "replica/rpc_node.h"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "replica/lmdb_journal.h"
#include "replica/replica.h"
#include "replica/send_queue.h"
#include "schemas/replica.capnp.h"

namespace worldline::replica {
namespace {

namespace s = ::worldline::schema;

std::string to_string(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
capnp::Data::Reader to_data(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

// Connecting to a peer and logging in must finish within this, or the attempt is dropped and
// retried: during a partition that drops packets silently a connect() would otherwise wait for
// TCP's SYN retries (a minute and more), and the link would come back that long after the heal.
constexpr std::uint64_t kConnectTimeoutMs = 1000;
// Attempts to connect start at most this often once they keep failing (the spacing doubles from
// 100 ms). It is counted from the start of the previous attempt, so an attempt that timed out is
// followed at once by the next: an unreachable peer is tried every second, and a healed path is
// used within about a second.
constexpr std::uint64_t kMaxReconnectDelayMs = 1000;
// A link to a peer heard from by nothing for this long is dropped (see cut_silent_links); a
// healthy peer is heard every gossip interval. Links younger than this are left alone.
constexpr std::uint64_t kSilentLinkMs = 2000;
constexpr std::size_t kMaxOutstandingNonces = 1024;

}  // namespace

std::uint64_t steady_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

std::string login_proof(const std::string& secret, const std::string& nonce, ReplicaId replica) {
  std::string data = nonce;
  for (int i = 0; i < 4; ++i)
    data.push_back(static_cast<char>((replica >> (8 * i)) & 0xFF));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

struct ReplicaNode::Impl : public Transport, public kj::TaskSet::ErrorHandler {
  ReplicaNodeConfig config;
  const ComponentRegistry& registry;
  std::unique_ptr<LmdbJournal> journal;
  Replica* replica = nullptr;  // the node loop's, while run() runs
  kj::Maybe<kj::AsyncIoContext&> io;
  // Created in run() once the event loop exists, destroyed before it.
  kj::Own<kj::TaskSet> tasks;
  std::deque<std::string> nonces;  // outstanding login challenges, oldest first
  std::uint64_t auth_failures = 0, sessions_cut = 0, sessions_superseded = 0;
  // Each peer's latest inbound session, and what drops its connection. A peer has one outgoing
  // link to us, so a new login supersedes the session before it: that one's connection may be
  // dead without anyone knowing (the peer dropped it during a silent partition; its FIN was lost),
  // and we never write on it unasked, so TCP would keep it open for good.
  struct Inbound {
    std::uint64_t session = 0;  // which login (numbered from 1)
    kj::Own<kj::PromiseFulfiller<void>> cut;
  };
  std::map<ReplicaId, Inbound> inbound;
  std::uint64_t logins = 0;
  // Drops the connection of `peer`'s inbound session `session` if it is still the latest.
  void cut_inbound(ReplicaId peer, std::uint64_t session) {
    auto it = inbound.find(peer);
    if (it == inbound.end() || it->second.session != session || !it->second.cut) return;
    if (it->second.cut->isWaiting()) it->second.cut->fulfill();
  }

  struct PeerLink {
    PeerConfig config;
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> client;
    kj::Maybe<s::ReplicaSession::Client> session;
    // What was sent on the current session and not answered yet (the peer answers a deliver()
    // once it has taken the message in: Replica::receive ran), and what waits for the window:
    // control messages ahead of delta parts, at most one transmission's parts (SendQueue).
    // Emptied, and counted, when the session ends: the resend rule sends again what is not
    // acknowledged.
    SendQueue queue;
    std::uint64_t session_number = 0;      // which session the queue's in-flight counts are of
                                           // (answers of a dropped one come back after its reset)
    std::size_t delayed = 0;               // held by link_delay_ms, not yet handed to the session
    std::uint64_t backoff_ms = 100;        // spacing between the starts of two attempts
    std::uint64_t attempt_started_ms = 0;  // when the current or last attempt started
    std::uint64_t connected_ms = 0;        // when the session was established (steady clock)
    std::uint64_t silent_cuts = 0;         // sessions dropped by cut_silent_links
    std::uint64_t failed_attempts = 0;     // connection attempts failed since the last session
    kj::Own<kj::PromiseFulfiller<void>> cut;  // fulfilled to drop the session
  };
  std::map<ReplicaId, PeerLink> links;
  struct LinkTotals {
    std::uint64_t dropped = 0, superseded = 0, failed = 0, silent_cuts = 0, parts_waiting = 0;
  };
  LinkTotals link_totals() const {
    LinkTotals t;
    for (const auto& [id, link] : links) {
      const SendQueue::Counts& c = link.queue.counts();
      t.dropped += c.dropped;
      t.superseded += c.superseded;
      t.failed += c.failed;
      t.silent_cuts += link.silent_cuts;
      t.parts_waiting += link.queue.parts_waiting();
    }
    return t;
  }

  // Write generator state.
  WriteLoad load;
  std::uint64_t written = 0;
  double write_credit = 0;
  std::vector<std::uint64_t> open_ids;                          // in the open group
  std::map<std::uint64_t, std::vector<std::uint64_t>> pending;  // seq → ids awaiting durability
  std::ofstream ack_log;

  crdt::SystemClock wall;
  crdt::HlcClock clock;

  Impl(ReplicaNodeConfig c, const ComponentRegistry& r)
      : config(std::move(c)), registry(r), clock(config.id, wall, 10'000) {}
  // KJ members may throw from destructors; a node being torn down has nothing left to report.
  ~Impl() noexcept override {}

  void taskFailed(kj::Exception&& e) override {
    spdlog::warn("replica {}: background task failed: {}", config.id, e.getDescription().cStr());
  }

  // ---- Outbox ---------------------------------------------------------------------------------
  void send(ReplicaId to, std::string bytes) override { enqueue(to, {0, std::move(bytes)}); }
  void send_part(ReplicaId to, std::string bytes, std::uint64_t transmission) override {
    enqueue(to, {transmission, std::move(bytes)});
  }

  void enqueue(ReplicaId to, SendQueue::Message m) {
    if (!tasks) return;  // not serving (yet): anti-entropy resends what is not acknowledged
    if (config.link_delay_ms > 0) {
      if (auto it = links.find(to); it != links.end()) ++it->second.delayed;
      tasks->add(KJ_ASSERT_NONNULL(io)
                     .provider->getTimer()
                     .afterDelay(config.link_delay_ms * kj::MILLISECONDS)
                     .then([this, to, m = std::move(m)]() mutable {
                       if (auto it = links.find(to); it != links.end()) --it->second.delayed;
                       send_now(to, std::move(m));
                     }));
      return;
    }
    send_now(to, std::move(m));
  }

  std::size_t undelivered(ReplicaId to) const override {
    auto it = links.find(to);
    return it == links.end() ? 0 : it->second.delayed + it->second.queue.undelivered();
  }
  std::size_t parts_waiting(ReplicaId to) const override {
    auto it = links.find(to);
    return it == links.end() ? 0 : it->second.queue.parts_waiting();
  }

  void send_now(ReplicaId to, SendQueue::Message m) {
    auto it = links.find(to);
    if (it == links.end()) return;
    PeerLink& link = it->second;
    if (link.session == nullptr) {
      link.queue.count_dropped();
      return;
    }
    link.queue.push(std::move(m));
    pump(link);
  }

  // Hands the session what the queue lets go out now.
  void pump(PeerLink& link) {
    while (link.session != nullptr) {
      std::optional<SendQueue::Message> m = link.queue.next();
      if (!m) return;
      deliver(link, std::move(*m));
    }
  }

  // Hands one message to the link's session. REQUIRES: a session; the queue counted it in flight.
  void deliver(PeerLink& link, SendQueue::Message m) {
    auto& session = KJ_ASSERT_NONNULL(link.session);
    auto req = session.deliverRequest();
    req.setMessage(to_data(m.bytes));  // copied into the request
    const bool part = m.part();
    const std::uint64_t number = link.session_number;
    tasks->add(req.send().then(
        [this, &link, number, part](auto&&) {
          if (link.session_number != number) return;  // a session dropped meanwhile
          link.queue.answered(part);
          pump(link);
        },
        [this, &link, number, part](kj::Exception&& e) {
          if (link.session_number != number) return;
          link.queue.failed(part);
          end_session(link, e);
        }));
  }

  // A delivery failed: the connection is gone, or the peer refused the message and cut the
  // session. Everything after it would fail in turn, so nothing more goes out on this session:
  // what waits is dropped and what is in flight counted failed now (SendQueue::reset), and the
  // connect loop starts again.
  void end_session(PeerLink& link, const kj::Exception& e) {
    spdlog::warn(
        "replica {}: a delivery to replica {} failed ({}): ending the session; {} "
        "messages waiting dropped",
        config.id, link.config.id, e.getDescription().cStr(),
        link.queue.parts_waiting() + link.queue.control_waiting());
    link.queue.reset();
    ++link.session_number;  // answers still to come of this session no longer count
    link.session = nullptr;
    if (link.cut) {
      link.cut->fulfill();
      link.cut = nullptr;
    }
  }

  // ---- server side ----------------------------------------------------------------------------
  class SessionImpl final : public s::ReplicaSession::Server {
   public:
    SessionImpl(Impl& node, ReplicaId peer, std::uint64_t session)
        : node_(node), peer_(peer), session_(session) {}
    kj::Promise<void> deliver(DeliverContext context) override {
      const std::string bytes = to_string(context.getParams().getMessage());
      if (!node_.replica->receive(peer_, bytes, steady_ms())) {
        ++node_.sessions_cut;
        spdlog::warn("replica {}: cutting the session of replica {} after a bad message",
                     node_.config.id, peer_);
        node_.cut_inbound(peer_, session_);
        return KJ_EXCEPTION(FAILED, "malformed or unexpected message; session closed");
      }
      return kj::READY_NOW;
    }

   private:
    Impl& node_;
    ReplicaId peer_;
    std::uint64_t session_;
  };

  class LoginImpl final : public s::ReplicaLogin::Server {
   public:
    LoginImpl(Impl& node, kj::Own<kj::PromiseFulfiller<void>> cut,
              std::shared_ptr<ReplicaId> logged_in_as)
        : node_(node), cut_(kj::mv(cut)), logged_in_as_(std::move(logged_in_as)) {}
    kj::Promise<void> challenge(ChallengeContext context) override {
      std::string nonce(32, '\0');
      RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 32);
      node_.nonces.push_back(nonce);
      if (node_.nonces.size() > kMaxOutstandingNonces) node_.nonces.pop_front();
      context.getResults().setNonce(to_data(nonce));
      return kj::READY_NOW;
    }
    kj::Promise<void> login(LoginContext context) override {
      if (!cut_) return KJ_EXCEPTION(FAILED, "already logged in on this connection");
      auto p = context.getParams();
      const ReplicaId peer = p.getReplica();
      const std::string nonce = to_string(p.getNonce());
      const std::string proof = to_string(p.getProof());
      auto nit = std::find(node_.nonces.begin(), node_.nonces.end(), nonce);
      const bool known_peer = node_.links.count(peer) != 0;
      const std::string expected = login_proof(node_.config.secret, nonce, peer);
      const bool proof_ok = proof.size() == expected.size() &&
                            CRYPTO_memcmp(proof.data(), expected.data(), proof.size()) == 0;
      if (nit == node_.nonces.end() || !known_peer || !proof_ok) {
        ++node_.auth_failures;
        spdlog::warn("replica {}: refused login as replica {}: {}", node_.config.id, peer,
                     nit == node_.nonces.end() ? "unknown or reused nonce"
                     : !known_peer             ? "not a configured peer"
                                               : "wrong proof (secret mismatch)");
        if (cut_->isWaiting()) cut_->fulfill();
        return KJ_EXCEPTION(FAILED, "login refused");
      }
      node_.nonces.erase(nit);
      Inbound& in = node_.inbound[peer];
      if (in.cut && in.cut->isWaiting()) {
        ++node_.sessions_superseded;
        spdlog::info("replica {}: replica {} logged in again: closing its previous session",
                     node_.config.id, peer);
        in.cut->fulfill();
      } else {
        spdlog::info("replica {}: replica {} logged in", node_.config.id, peer);
      }
      in.session = ++node_.logins;
      in.cut = kj::mv(cut_);
      *logged_in_as_ = peer;
      context.getResults().setSession(kj::heap<SessionImpl>(node_, peer, in.session));
      return kj::READY_NOW;
    }

   private:
    Impl& node_;
    kj::Own<kj::PromiseFulfiller<void>> cut_;  // moved to node_.inbound by a successful login
    std::shared_ptr<ReplicaId> logged_in_as_;
  };

  kj::Promise<void> accept_loop(kj::ConnectionReceiver& listener) {
    return listener.accept().then([this, &listener](kj::Own<kj::AsyncIoStream> stream) {
      auto cut = kj::newPromiseAndFulfiller<void>();
      auto peer = std::make_shared<ReplicaId>(0);  // set by a successful login
      auto conn = kj::heap<capnp::TwoPartyClient>(
          *stream, kj::heap<LoginImpl>(*this, kj::mv(cut.fulfiller), peer),
          capnp::rpc::twoparty::Side::SERVER);
      auto done = conn->onDisconnect().exclusiveJoin(kj::mv(cut.promise));
      auto ended = [this, peer](const std::string& why) {
        if (*peer == 0) {  // garbage, a scanner, a refused login, or a peer that gave up
          spdlog::info("replica {}: an inbound connection ended before logging in{}", config.id,
                       why);
        } else {
          spdlog::info("replica {}: the inbound session of replica {} ended{}", config.id, *peer,
                       why);
        }
      };
      tasks->add(done.attach(kj::mv(conn), kj::mv(stream))
                     .then([ended]() { ended(""); },
                           [ended](kj::Exception&& e) {
                             ended(": " + std::string(e.getDescription().cStr()));
                           }));
      return accept_loop(listener);
    });
  }

  // ---- client side ----------------------------------------------------------------------------
  kj::Promise<void> connect_loop(PeerLink& link) {
    auto& ctx = KJ_ASSERT_NONNULL(io);
    link.attempt_started_ms = steady_ms();
    auto established = ctx.provider->getNetwork()
                           .parseAddress(link.config.address)
                           .then([](kj::Own<kj::NetworkAddress> addr) {
                             return addr->connect().attach(kj::mv(addr));
                           })
                           .then([this, &link](kj::Own<kj::AsyncIoStream> stream) {
                             link.stream = kj::mv(stream);
                             link.client = kj::heap<capnp::TwoPartyClient>(*link.stream);
                             auto login = link.client->bootstrap().castAs<s::ReplicaLogin>();
                             return login.challengeRequest()
                                 .send()
                                 .then([this, login](auto&& resp) mutable {
                                   const std::string nonce = to_string(resp.getNonce());
                                   auto req = login.loginRequest();
                                   req.setReplica(config.id);
                                   req.setNonce(to_data(nonce));
                                   const std::string proof =
                                       login_proof(config.secret, nonce, config.id);
                                   req.setProof(to_data(proof));
                                   return req.send();
                                 })
                                 .then([&link](auto&& resp) { link.session = resp.getSession(); });
                           });
    auto timeout = ctx.provider->getTimer()
                       .afterDelay(kConnectTimeoutMs * kj::MILLISECONDS)
                       .then([]() -> kj::Promise<void> {
                         return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                                              kj::str("no answer to connect and log in within ",
                                                      kConnectTimeoutMs, " ms"));
                       });
    return established.exclusiveJoin(kj::mv(timeout))
        .then([this, &link]() {
          link.backoff_ms = 100;
          link.failed_attempts = 0;
          link.connected_ms = steady_ms();
          spdlog::info("replica {}: connected to replica {} at {}", config.id, link.config.id,
                       link.config.address);
          auto cut = kj::newPromiseAndFulfiller<void>();
          link.cut = kj::mv(cut.fulfiller);
          // A delivery may have failed (end_session) before the cut existed: start again.
          if (link.session == nullptr) return kj::Promise<void>(kj::READY_NOW);
          return link.client->onDisconnect().exclusiveJoin(kj::mv(cut.promise));
        })
        .then(
            [this, &link]() {
              spdlog::warn("replica {}: link to replica {} closed", config.id, link.config.id);
            },
            [this, &link](kj::Exception&& e) {
              // Retried every second while the peer is unreachable: the first failure and then
              // every 60th is logged, not each.
              if (link.failed_attempts++ % 60 == 0) {
                spdlog::warn("replica {}: link to replica {} ({}): {} (attempt {}, retrying)",
                             config.id, link.config.id, link.config.address,
                             e.getDescription().cStr(), link.failed_attempts);
              }
            })
        .then([this, &link]() {
          link.cut = nullptr;
          link.session = nullptr;
          link.client = nullptr;
          link.stream = nullptr;
          link.queue.reset();     // counted: what waited dropped, what was in flight failed
          ++link.session_number;  // answers still to come of it no longer count
          const auto next_start = link.attempt_started_ms + link.backoff_ms;
          const auto now = steady_ms();
          const auto delay = next_start > now ? next_start - now : 0;
          link.backoff_ms = std::min<std::uint64_t>(link.backoff_ms * 2, kMaxReconnectDelayMs);
          return KJ_ASSERT_NONNULL(io).provider->getTimer().afterDelay(delay * kj::MILLISECONDS);
        })
        .then([this, &link]() { return connect_loop(link); });
  }

  // A path that dies without a word (a partition that drops packets, a peer's machine gone)
  // leaves our connection to the peer open and TCP retrying on its own backoff — after a long
  // partition, tens of seconds after the path is back. So a link to a peer heard from by nothing
  // for kSilentLinkMs (the failure detector has called it down well before) is dropped, and the
  // connect loop tries again every second with a timeout.
  void cut_silent_links(std::uint64_t now) {
    for (auto& [id, link] : links) {
      if (!link.cut) continue;  // no session, or already being dropped
      if (now < link.connected_ms + kSilentLinkMs) continue;
      if (replica->peer_silent_ms(id, now) < kSilentLinkMs) continue;
      ++link.silent_cuts;
      spdlog::warn("replica {}: nothing heard from replica {} for too long: dropping the link",
                   config.id, id);
      link.cut->fulfill();
      link.cut = nullptr;
    }
  }

  // ---- the node loop's transport ----------------------------------------------------------------
  std::uint64_t now_ms() override { return steady_ms(); }

  // Runs the KJ event loop (peers' messages, connections, status lines) until `due` or a stop.
  bool wait_until(std::uint64_t due) override {
    if (stopping()) return false;
    auto& ctx = KJ_ASSERT_NONNULL(io);
    const std::uint64_t now = steady_ms();
    const kj::TimePoint at =
        kj::systemPreciseMonotonicClock().now() + (due > now ? due - now : 0) * kj::MILLISECONDS;
    ctx.provider->getTimer()
        .atTime(at)
        .exclusiveJoin(KJ_ASSERT_NONNULL(signals).addBranch())
        .wait(ctx.waitScope);
    return !stopping();
  }
  bool stopping() const { return signalled || (stop_flag && stop_flag->load()); }

  void maintain(std::uint64_t now) override { cut_silent_links(now); }

  // ---- the built-in write load ----------------------------------------------------------------
  bool load_started = false;

  void generate_writes() {
    if (load.rate_per_s == 0 || written >= load.count) return;
    if (!load_started) {
      for (auto& [id, link] : links) {
        if (link.session == nullptr) return;  // wait until the cluster is connected
      }
      load_started = true;
      spdlog::info("replica {}: write load starts ({} writes/s)", config.id, load.rate_per_s);
    }
    write_credit += static_cast<double>(load.rate_per_s) * config.tick_ms / 1000.0;
    while (write_credit >= 1 && written < load.count) {
      write_credit -= 1;
      const std::uint64_t n = written++;
      if (load.kind == WriteLoad::Kind::kPositions) {
        const Key key{1'000'000 + n % std::max<std::uint64_t>(1, load.entities), 1};
        const crdt::Vec3 v{static_cast<double>(steady_ms()), static_cast<double>(n), 0};
        (void)replica->write(key, [&](ComponentValue& c) -> std::optional<ComponentValue> {
          return std::get<crdt::Position>(c).assign(v, clock.now());
        });
        continue;
      }
      const std::uint64_t id = config.id * 1'000'000'000ull + load.incarnation * 1'000'000ull + n;
      auto ok = replica->write(Key{1, 8}, [&](ComponentValue& v) -> std::optional<ComponentValue> {
        return value_as<crdt::GuildMembers>(v).add(config.id, id);
      });
      if (ok && ok.value()) open_ids.push_back(id);
    }
    if (written == load.count)
      spdlog::info("replica {}: write load done ({} writes)", config.id, written);
  }

  void acknowledge_durable(std::uint64_t now) {
    if (pending.empty()) return;
    std::uint64_t durable_below = replica->next_seq();
    if (config.replicated_k > 0) {
      std::vector<std::uint64_t> acked;
      for (const auto& [id, p] : replica->stats(now).peers)
        acked.push_back(p.acked);
      std::sort(acked.rbegin(), acked.rend());
      durable_below = acked[config.replicated_k - 1];  // joined by at least k peers
    }
    while (!pending.empty() && pending.begin()->first < durable_below) {
      for (std::uint64_t id : pending.begin()->second)
        ack_log << "ack " << id << '\n';
      pending.erase(pending.begin());
    }
    ack_log.flush();
  }

  void fill_stats(NodeStats& out) const {
    out.journal = journal->stats();
    if (node_loop) out.loop = node_loop->loop_stats();
    out.auth_failures = auth_failures;
    out.sessions_cut = sessions_cut;
    out.sessions_superseded = sessions_superseded;
    const LinkTotals totals = link_totals();
    out.sends_dropped = totals.dropped;
    out.sends_superseded = totals.superseded;
    out.sends_failed = totals.failed;
    out.parts_waiting = totals.parts_waiting;
    out.silent_links_dropped = totals.silent_cuts;
  }

  void status() {
    const auto st = replica->stats(steady_ms());
    std::string peers;
    for (const auto& [id, p] : st.peers) {
      peers += " " + std::to_string(id) + ":" + (p.up ? "up" : "down") +
               "/lag=" + std::to_string(p.lag_groups) + "g," + std::to_string(p.lag_ms) + "ms";
    }
    const auto js = journal->stats();
    const double p99_us = js.commit_us.quantile_bound(0.99);  // the bucket holding it
    const LinkTotals totals = link_totals();
    char digest[32];
    std::snprintf(digest, sizeof digest, "%016llx",
                  static_cast<unsigned long long>(replica->store().digest()));
    std::cout << "status replica=" << config.id << " seq=" << st.next_seq
              << " entries=" << replica->store().entries().size() << " digest=" << digest
              << " buffer=" << st.buffer_groups << " rejected=" << st.rejected_entries << "/"
              << st.rejected_messages << " auth_failures=" << auth_failures
              << " written=" << written << " journal_commits=" << js.appends << " commit_p99<="
              << (std::isinf(p99_us) ? std::string("inf")
                                     : std::to_string(static_cast<std::uint64_t>(p99_us)))
              << "us quarantined=" << js.quarantined << " sessions_cut=" << sessions_cut
              << " sessions_superseded=" << sessions_superseded
              << " sends_dropped=" << totals.dropped << " sends_superseded=" << totals.superseded
              << " sends_failed=" << totals.failed << " silent_links_dropped=" << totals.silent_cuts
              << " peers:" << peers << std::endl;
  }

  kj::Promise<void> every(std::uint64_t ms, std::function<void()> fn) {
    return KJ_ASSERT_NONNULL(io)
        .provider->getTimer()
        .afterDelay(ms * kj::MILLISECONDS)
        .then([this, ms, fn = kj::mv(fn)]() mutable {
          fn();
          return every(ms, kj::mv(fn));
        });
  }

  const std::atomic<bool>* stop_flag = nullptr;
  bool signalled = false;
  kj::Maybe<kj::ForkedPromise<void>> signals;  // SIGTERM or SIGINT arrived
  NodeLoop* node_loop = nullptr;

  int run(NodeApp* inner, const RunOptions& options);

  class HostedApp final : public NodeApp {
   public:
    HostedApp(Impl& node, NodeApp* inner, const RunOptions& options)
        : node_(node), inner_(inner), options_(options) {}
    bool start(Replica& world) override { return inner_ ? inner_->start(world) : true; }
    void tick(Replica& world, std::uint64_t now) override {
      if (inner_) inner_->tick(world, now);
      node_.generate_writes();
      if (options_.before_commit) options_.before_commit(world, now);
    }
    void after_commit(const Replica& world, bool durable, std::optional<std::uint64_t> committed,
                      std::uint64_t now) override {
      if (options_.stats_out) node_.fill_stats(*options_.stats_out);
      if (inner_) inner_->after_commit(world, durable, committed, now);
      if (options_.after_commit) options_.after_commit(world, durable, now);
      if (durable && committed) {
        node_.pending[*committed] = std::move(node_.open_ids);
        node_.open_ids.clear();
      }
      node_.acknowledge_durable(now);
      // The time the tick ended, as before the node loop: `now` is when it started, and the
      // replica benchmark stamps the writer's first commit with this (a turn that writes 200 000
      // keys lasts most of a second).
      if (options_.on_tick) options_.on_tick(world, steady_ms());
    }

   private:
    Impl& node_;
    NodeApp* inner_;
    const RunOptions& options_;
  };
};

ReplicaNode::ReplicaNode(ReplicaNodeConfig config, const ComponentRegistry& registry)
    : impl_(std::make_unique<Impl>(std::move(config), registry)) {}

ReplicaNode::~ReplicaNode() = default;

int ReplicaNode::run(const RunOptions& options) {
  return impl_->run(nullptr, options);
}
int ReplicaNode::run(NodeApp& app, const RunOptions& options) {
  return impl_->run(&app, options);
}

int ReplicaNode::Impl::run(NodeApp* inner, const RunOptions& options) {
  auto opened = LmdbJournal::open(config.data_dir, config.map_size_mb << 20);
  if (!opened) {
    spdlog::error("replica {}: cannot open the data directory: {}", config.id,
                  opened.error().to_string());
    return 2;
  }
  journal = std::move(opened).value();
  load = options.load;
  if (!load.log_path.empty()) {
    ack_log.open(load.log_path, std::ios::app);
    if (!ack_log) {
      spdlog::error("replica {}: cannot open the write log {}", config.id, load.log_path);
      return 2;
    }
  }
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  auto ctx = kj::setupAsyncIo();
  io = ctx;
  kj::Own<kj::ConnectionReceiver> listener;
  try {
    auto addr = ctx.provider->getNetwork().parseAddress(config.listen).wait(ctx.waitScope);
    listener = addr->listen();
  } catch (const kj::Exception& e) {
    spdlog::error("replica {}: cannot listen on {}: {}", config.id, config.listen,
                  e.getDescription().cStr());
    return 2;
  }
  spdlog::info("replica {}: listening on {}, {} peers, durability {}", config.id, config.listen,
               config.peers.size(),
               config.replicated_k ? "replicated:" + std::to_string(config.replicated_k)
                                   : std::string("local"));
  tasks = kj::heap<kj::TaskSet>(*this);
  stop_flag = options.stop;
  signals = ctx.unixEventPort.onSignal(SIGTERM)
                .ignoreResult()
                .exclusiveJoin(ctx.unixEventPort.onSignal(SIGINT).ignoreResult())
                .then([this] { signalled = true; })
                .fork();
  KJ_DEFER({
    signals = nullptr;
    tasks = nullptr;  // cancels every loop while the event loop still exists
    links.clear();
    replica = nullptr;
    node_loop = nullptr;
    io = nullptr;
  });
  HostedApp app(*this, inner, options);
  NodeLoopOptions lo;
  lo.replica.id = config.id;
  for (const auto& p : config.peers)
    lo.replica.peers.push_back(p.id);
  lo.replica.max_batch_bytes = config.max_batch_bytes;
  lo.tick_ms = config.tick_ms;
  lo.gossip_interval_ms = config.gossip_interval_ms;
  lo.snapshot_every_groups = config.snapshot_every_groups;
  lo.stop_after_ms = options.stop_after_ms;
  NodeLoop loop(lo, registry, *journal, *this, app);
  node_loop = &loop;
  if (auto ok = loop.open(); !ok) {
    spdlog::error("replica {}: {}", config.id, ok.error().to_string());
    return 2;
  }
  replica = &loop.replica();
  tasks->add(accept_loop(*listener));
  for (const auto& p : config.peers)
    links[p.id].config = p;
  for (auto& [id, link] : links)
    tasks->add(connect_loop(link));
  if (options.status_interval_ms) {
    tasks->add(every(options.status_interval_ms, [this] { status(); }));
  }
  const int code = loop.run();
  if (code == 0 && options.status_interval_ms) status();
  return code;
}

int inspect_data_dir(const std::string& data_dir, const ComponentRegistry& registry) {
  auto journal = LmdbJournal::open(data_dir);
  if (!journal) {
    std::cerr << journal.error().to_string() << "\n";
    return 2;
  }
  auto recovery = journal.value()->recover(registry);
  if (!recovery) {
    std::cerr << recovery.error().to_string() << "\n";
    return 2;
  }
  MemoryJournal unused_journal;
  struct NullOutbox : Outbox {
    void send(ReplicaId, std::string) override {}
  } outbox;
  Replica r(ReplicaOptions{}, registry, unused_journal, outbox);
  for (const auto& rec : recovery.value().records)
    r.restore(rec);
  r.restore_next_seq(recovery.value().next_seq);
  std::cout << "# " << data_dir << ": " << r.store().entries().size() << " keys, next seq "
            << r.next_seq() << ", " << recovery.value().quarantined << " quarantined\n";
  for (const Key& key : r.store().sorted_keys()) {  // stable output, diffable between nodes
    const ComponentValue& value = r.store().entries().at(key);
    const ComponentSpec* spec = registry.find(key.component);
    std::cout << key.to_string() << " " << (spec ? spec->name : "?");
    if (const auto* ids = value_if<crdt::GuildMembers>(&value)) {
      std::cout << " ids";
      for (auto id : ids->elements())
        std::cout << " " << id;
    } else {
      std::cout << " " << value_to_string(value);
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace worldline::replica
