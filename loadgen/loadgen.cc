#include "loadgen/loadgen.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "gateway/protocol.h"

namespace worldline::loadgen {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

const char* const kScenarios[] = {"wander", "hotspot", "pvp", "item_rush", "region_hop", "mixed"};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The integer after "key": in a frame, without parsing the JSON (state frames are most of the
// traffic; only their ack matters here).
std::optional<std::uint64_t> field_u64(const std::string& frame, const char* key) {
  const auto at = frame.find(key);
  if (at == std::string::npos) return std::nullopt;
  const char* p = frame.c_str() + at + std::strlen(key);
  char* end = nullptr;
  const unsigned long long v = std::strtoull(p, &end, 10);
  if (end == p) return std::nullopt;
  return v;
}

// Set by the coordinating thread, read by every I/O thread.
struct Control {
  std::atomic<bool> measuring{false}, stopping{false};
};

// One I/O thread's view: its bots write `report` and `welcomed` on that thread only.
struct Shared {
  const Options& options;
  const std::vector<tcp::endpoint>& targets;
  Control& control;
  Report report;
  std::uint64_t welcomed = 0;  // players that got their first state frame, ever
  bool measuring() const { return control.measuring.load(std::memory_order_relaxed); }
  bool stopping() const { return control.stopping.load(std::memory_order_relaxed); }
};

class Bot : public std::enable_shared_from_this<Bot> {
 public:
  Bot(net::io_context& ioc, Shared& shared, std::uint64_t player, std::size_t target)
      : ioc_(ioc),
        shared_(shared),
        player_(player),
        target_(target),
        timer_(ioc),
        rng_(player),
        conduct_(behaviour_of(shared.options.population, player - shared.options.first_player),
                 player * 0x9E3779B97F4A7C15ull) {}

  void start() { connect(); }

  void stop() {
    stopped_ = true;
    timer_.cancel();
    if (ws_ && ws_->is_open()) {
      ws_->async_close(websocket::close_code::normal, [self = shared_from_this()](auto) {});
    }
  }

 private:
  enum class Phase { kConnecting, kHello, kSpawning, kRunning };

  void connect() {
    phase_ = Phase::kConnecting;
    ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(net::make_strand(ioc_));
    beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(*ws_).async_connect(
        shared_.targets[target_ % shared_.targets.size()],
        [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return failed("connect", ec);
    beast::get_lowest_layer(*ws_).expires_never();
    beast::error_code ignored;  // a game client sends small frames and wants them out now
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true), ignored);
    ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_->set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, gateway::subprotocol_name(format()));
    }));
    ws_->async_handshake("127.0.0.1", "/", [self = shared_from_this()](beast::error_code e) {
      self->on_handshake(e);
    });
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return failed("handshake", ec);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto token =
        gateway::mint_token({player_, "player", now + 24 * 3600, now}, shared_.options.key);
    gateway::HelloFrame hello{token.value(), std::nullopt};
    if (acked_ > 0) hello.last_ack = acked_;
    phase_ = Phase::kHello;
    send(encode_client(hello));
    read();
  }

  gateway::WireFormat format() const { return shared_.options.format; }

  // A frame as this bot's wire form carries it. JSON is written by hand: a full JSON writer per
  // action would cost the load generator more than the node spends parsing it.
  std::string encode_client(const gateway::ClientFrame& frame) const {
    if (format() == gateway::WireFormat::kCapnp) return gateway::encode_client_capnp(frame);
    char buf[512];
    if (const auto* h = std::get_if<gateway::HelloFrame>(&frame)) {
      std::string out = R"({"type":"hello","token":")" + h->token + "\"";
      if (h->last_ack) out += R"(,"resume":{"last_ack":)" + std::to_string(*h->last_ack) + "}";
      return out + "}";
    }
    const auto& a = std::get<gateway::ActionFrame>(frame);
    const auto seq = static_cast<unsigned long long>(a.action.client_seq);
    const auto t = static_cast<unsigned long long>(a.action.client_time_ms);
    if (a.kind_name == "move") {
      std::snprintf(
          buf, sizeof buf,
          R"({"type":"action","seq":%llu,"kind":"move","t":%llu,"args":{"x":%.2f,"y":0,"z":%.2f}})",
          seq, t, a.action.position.x, a.action.position.z);
    } else {
      std::snprintf(buf, sizeof buf,
                    R"({"type":"action","seq":%llu,"kind":"%s","t":%llu,"args":{"target":%llu}})",
                    seq, a.kind_name.c_str(), t, static_cast<unsigned long long>(a.action.target));
    }
    return buf;
  }

  void failed(const char* what, beast::error_code ec) {
    (void)what;
    (void)ec;
    if (!stopped_ && !shared_.stopping() && shared_.options.failover &&
        shared_.targets.size() > 1 && (phase_ == Phase::kRunning || lost_at_)) {
      fail_over();
      return;
    }
    if (!stopped_ && phase_ != Phase::kRunning) ++shared_.report.connect_failures;
    if (!stopped_ && phase_ == Phase::kRunning) ++shared_.report.disconnected;
    timer_.cancel();
  }

  // The connection is gone (its region died): resume in the next region with the last ack; the
  // unacknowledged actions are resent once welcomed. Every other region is tried, twice, before
  // the player gives up. The action timer keeps running; act() waits for the new session.
  void fail_over() {
    if (!lost_at_) {
      lost_at_ = Clock::now();
      acked_at_loss_ = acked_;
      attempts_ = 0;
    }
    if (++attempts_ > 2 * shared_.targets.size()) {
      ++shared_.report.failover_failures;
      lost_at_.reset();
      timer_.cancel();
      return;
    }
    retired_.push_back(std::move(ws_));  // its handlers may still run; they see it is not ws_
    queue_.clear();
    writing_ = false;
    ++target_;
    connect();
  }

  void read() {
    ws_->async_read(buffer_,
                    [self = shared_from_this(), ws = ws_.get()](beast::error_code ec, std::size_t) {
                      if (ws != self->ws_.get()) return;  // a read of the connection left by a hop
                      self->on_read(ec);
                    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (!stopped_) failed("read", ec);
      return;
    }
    std::string frame = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (format() == gateway::WireFormat::kCapnp) {
      on_capnp(frame);
    } else {
      on_json(frame);
    }
    read();
  }

  void on_json(const std::string& frame) {
    Report& r = shared_.report;
    if (frame.find(R"("type":"state")") != std::string::npos) {
      if (shared_.measuring()) ++r.state_frames;
      const auto ack = field_u64(frame, R"("ack":)");
      // Fighters and item seekers look at what they see now and then (a full parse of every
      // frame would cost the load generator more than the node).
      if (looks()) saw(entities_of_json(frame), ack.value_or(0));
      if (ack) on_ack(*ack);
    } else if (frame.find(R"("type":"welcome")") != std::string::npos) {
      welcomed();
    } else if (frame.find(R"("type":"reject")") != std::string::npos) {
      if (shared_.measuring()) ++r.rejects;
      const auto at = frame.find(R"("reason":")");
      if (const auto seq = field_u64(frame, R"("seq":)"); seq && at != std::string::npos) {
        const std::size_t from = at + 10;
        rejected(*seq, std::string_view(frame).substr(from, frame.find('"', from) - from));
      }
    } else if (frame.find(R"("type":"error")") != std::string::npos) {
      if (shared_.measuring()) ++r.errors;
    }
  }

  void on_capnp(const std::string& bytes) {
    Report& r = shared_.report;
    auto decoded = gateway::decode_server_capnp(bytes);
    const auto* frame = std::get_if<gateway::ServerFrame>(&decoded);
    if (!frame) {
      if (shared_.measuring()) ++r.errors;
      return;
    }
    if (const auto* state = std::get_if<gateway::StateFrame>(frame)) {
      if (shared_.measuring()) ++r.state_frames;
      if (looks()) saw(state->entities, state->ack);
      on_ack(state->ack);
    } else if (std::holds_alternative<gateway::WelcomeFrame>(*frame)) {
      welcomed();
    } else if (const auto* reject = std::get_if<gateway::RejectFrame>(frame)) {
      if (shared_.measuring()) ++r.rejects;
      rejected(reject->seq, reject->reason);
    } else if (std::holds_alternative<gateway::ErrorFrame>(*frame)) {
      if (shared_.measuring()) ++r.errors;
    }
  }

  void welcomed() {
    if (phase_ == Phase::kHello) phase_ = Phase::kSpawning;
    if (!counted_) {
      counted_ = true;
      ++shared_.report.connected;
    }
    resend_unacked();
  }

  static std::vector<gateway::EntityState> entities_of_json(const std::string& frame) {
    std::vector<gateway::EntityState> out;
    boost::system::error_code ec;
    const auto v = boost::json::parse(frame, ec);
    if (ec || !v.is_object() || !v.as_object().contains("entities")) return out;
    for (const auto& e : v.at("entities").as_array()) {
      const auto& o = e.as_object();
      out.push_back(
          gateway::EntityState{e.at("id").to_number<std::uint64_t>(),
                               {e.at("x").to_number<double>(), 0, e.at("z").to_number<double>()},
                               e.at("health").to_number<std::int64_t>(),
                               o.contains("item"),
                               o.contains("owner") ? e.at("owner").to_number<std::uint64_t>() : 0});
    }
    return out;
  }

  // Whether this state frame is parsed: the first (where the player spawned), then every 10th
  // for players that fight or seek items.
  bool looks() {
    return phase_ == Phase::kSpawning ||
           ((fights() || grabs()) && (++frames_seen_ % 10 == 1 || engaged_));
  }

  // What a state frame shows: on the first one, where this player stands (its home for the
  // scenario); later, who and which items are in sight. `ack`: the frame's.
  void saw(const std::vector<gateway::EntityState>& entities, std::uint64_t ack) {
    if (phase_ == Phase::kSpawning) {
      spawned(entities);
    } else {
      look_around(entities, ack);
    }
  }

  void spawned(const std::vector<gateway::EntityState>& entities) {
    for (const auto& e : entities) {
      if (e.id == player_) {
        home_x_ = x_ = e.position.x;
        home_z_ = z_ = e.position.z;
      }
    }
    if (!started_) {
      started_ = true;
      ++shared_.welcomed;
      // A random phase, so the players' actions spread over the tick.
      schedule(std::uniform_real_distribution<double>(0, period_ms())(rng_));
    }
    phase_ = Phase::kRunning;
  }

  bool fights() const {
    return shared_.options.scenario == "pvp" || shared_.options.scenario == "mixed" ||
           conduct_.fights();
  }
  bool grabs() const {
    return shared_.options.scenario == "item_rush" || shared_.options.scenario == "mixed";
  }

  void look_around(const std::vector<gateway::EntityState>& entities, std::uint64_t ack) {
    visible_.clear();
    items_.clear();
    for (const auto& e : entities) {
      if (e.item) {
        if (e.owner == 0 && !tried_.count(e.id))
          items_.push_back({e.id, e.position.x, e.position.z});
        if (rush_ && rush_->id == e.id && e.owner != 0) rush_.reset();  // someone was faster
      } else if (e.id == player_) {
        // The authoritative position, once every move sent is in it (else the prediction,
        // which counts those moves too, is newer).
        if (ack >= last_move_seq_) {
          x_ = e.position.x;
          z_ = e.position.z;
        }
      } else if (visible_.size() < 8 && e.health > 0) {
        visible_.push_back({e.id, e.position.x, e.position.z});
      }
    }
  }

  // A reject of one of this player's pickups: counted by why.
  void rejected(std::uint64_t seq, std::string_view reason) {
    if (!pickup_seqs_.count(seq) || !shared_.measuring()) return;
    if (reason == "out_of_range") {
      ++shared_.report.pickups_out_of_range;
    } else {
      ++shared_.report.pickups_lost;  // already claimed, or conflict_lost
    }
  }

  void on_ack(std::uint64_t ack) {
    if (lost_at_ && ack > acked_at_loss_) {  // acting again, in another region
      ++shared_.report.failovers;
      shared_.report.failover_ms.record(ms_since(*lost_at_));
      lost_at_.reset();
    }
    acked_ = std::max(acked_, ack);
    while (!pending_.empty() && pending_.front().seq <= ack) {
      // Counted only for an action sent in the window (counted in actions_sent then): an action
      // sent during the ramp-up and acked in the window is neither, so acked never exceeds sent.
      if (pending_.front().in_window && shared_.measuring()) {
        ++shared_.report.acked;
        shared_.report.ack_ms.record(ms_since(pending_.front().at));
      }
      pending_.pop_front();
    }
  }

  double period_ms() const { return 1000.0 / std::max(0.01, shared_.options.actions_per_player_s); }

  void schedule(double ms) {
    timer_.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000)));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopped_ || self->shared_.stopping()) return;
      self->act();
      self->schedule(self->conduct_.next_wait_ms(self->period_ms()));
    });
  }

  void act() {
    if (phase_ != Phase::kRunning) return;
    const std::string& scenario = shared_.options.scenario;
    if (scenario == "region_hop" && shared_.targets.size() > 1 && ++since_hop_ > hop_after_) {
      hop();
      return;
    }
    std::uniform_real_distribution<double> near(-30, 30), unit(0, 1);
    if (const auto jump = conduct_.jump_due(wall_ms())) {  // a teleporter's jump: one move
      const double angle = unit(rng_) * 6.283185307179586;
      send_action("move", 0, x_ + *jump * std::cos(angle), z_ + *jump * std::sin(angle), true);
      return;
    }
    const double roll = unit(rng_);
    const bool fight = (scenario == "pvp" && roll < 0.6) || (scenario == "mixed" && roll < 0.25) ||
                       (conduct_.fights() && roll < 0.6);
    const bool grab =
        (scenario == "item_rush" && roll < 0.15) || (scenario == "mixed" && roll > 0.97);
    if (grab && !rush_) choose_item();
    engaged_ = fight && !visible_.empty();
    if (engaged_) {
      // Close in on someone in sight and hit them once within half the attack range, as a game
      // client lets its player do: an attack from afar is refused (out of range) and counted by
      // the cheat detection as reach. While fighting, the player looks at every state frame, so
      // it judges the distance from where the foe stood a tick ago.
      const auto same = [&](const Seen& s) { return s.id == foe_id_; };
      auto it = std::find_if(visible_.begin(), visible_.end(), same);
      if (it == visible_.end())
        it = visible_.begin() + static_cast<std::ptrdiff_t>(rng_() % visible_.size());
      foe_id_ = it->id;
      const Seen foe = *it;
      if (std::hypot(foe.x - x_, foe.z - z_) > 0.5 * shared_.options.attack_range) {
        send_action("move", 0, foe.x, foe.z);
      } else {
        send_action("attack", foe.id);
        if (conduct_.doubles_attacks()) send_action("attack", foe.id);  // within the cooldown
      }
    } else if (rush_) {
      rush();
    } else {
      double x = home_x_ + near(rng_), z = home_z_ + near(rng_);
      if (scenario == "hotspot") {
        x = near(rng_) / 6;
        z = near(rng_) / 6;
      }
      send_action("move", 0, x, z);
    }
  }

  // The item to rush for: of those in sight, unclaimed and not yet tried, the lowest id — the
  // same for the players around, so they contest it.
  void choose_item() {
    const Seen* best = nullptr;
    for (const Seen& item : items_) {
      if (!tried_.count(item.id) && (!best || item.id < best->id)) best = &item;
    }
    if (!best) return;
    rush_ = *best;
    rush_moves_ = 0;
  }

  // One step of a rush: a move towards the item; once one move reaches it, the move onto it and
  // the pickup. A rush that takes too long (the player is pushed around, or dead) is given up.
  void rush() {
    const Seen item = *rush_;
    const double d = std::hypot(item.x - x_, item.z - z_);
    if (d <= shared_.options.max_speed_per_tick) {
      if (d > 0) send_action("move", 0, item.x, item.z);
      pickup_seqs_.insert(send_action("pickup", item.id));
      if (shared_.measuring()) ++shared_.report.pickups;
      tried_.insert(item.id);
      rush_.reset();
    } else if (++rush_moves_ > 12) {
      tried_.insert(item.id);
      rush_.reset();
    } else {
      send_action("move", 0, item.x, item.z);
    }
  }

  static std::uint64_t wall_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }

  // Sends one action (a move towards (x, z), or an action on `target`) with the next seq; returns
  // the seq. A move walks: it says where the player stands after a step towards the destination
  // as long as the time since its last move allows (Conduct::step: an honest player takes at
  // most one tick's worth), as a game client sends a move per frame — never the far destination
  // itself, which the region would clamp and the cheat detector count as a jump. `jump`: the
  // whole way at once (a teleporter's).
  std::uint64_t send_action(const char* kind, std::uint64_t target, double x = 0, double z = 0,
                            bool jump = false) {
    gateway::ActionFrame a;
    a.kind_name = kind;
    a.action.client_seq = ++seq_;
    const std::uint64_t seq = a.action.client_seq;
    const std::uint64_t now = wall_ms();
    if (start_ms_ == 0) start_ms_ = now;
    a.action.client_time_ms = conduct_.claimed_ms(now, start_ms_);
    a.action.target = target;
    if (a.kind_name == "move") {
      const double since = last_move_ms_
                               ? static_cast<double>(a.action.client_time_ms - last_move_ms_)
                               : shared_.options.tick_ms;
      const double d = std::hypot(x - x_, z - z_);
      const double step =
          jump ? d
               : conduct_.step(since, shared_.options.max_speed_per_tick, shared_.options.tick_ms);
      const double f = d > step ? step / d : 1;
      x_ += (x - x_) * f;
      z_ += (z - z_) * f;
      last_move_seq_ = seq;
      last_move_ms_ = a.action.client_time_ms;
      a.action.position = {x_, 0, z_};
    }
    std::string frame = encode_client(a);
    const bool in_window = shared_.measuring();  // read once: sent and acked count alike
    pending_.push_back(Sent{seq, Clock::now(), in_window});
    unacked_frames_.emplace_back(seq, frame);
    while (!unacked_frames_.empty() && unacked_frames_.front().first <= acked_)
      unacked_frames_.pop_front();
    if (in_window) ++shared_.report.actions_sent;
    send(std::move(frame));
    return seq;
  }

  // Disconnects and resumes in the next region with the last ack; unacked actions are resent.
  void hop() {
    since_hop_ = 0;
    hop_after_ = 20 + rng_() % 60;
    if (shared_.measuring()) ++shared_.report.hops;
    auto* old = ws_.get();
    std::shared_ptr<void> keep(std::move(ws_));  // alive until its close completes
    queue_.clear();
    writing_ = false;
    old->async_close(websocket::close_code::normal,
                     [self = shared_from_this(), keep](beast::error_code) {});
    ++target_;
    connect();
  }

  void resend_unacked() {
    while (!unacked_frames_.empty() && unacked_frames_.front().first <= acked_)
      unacked_frames_.pop_front();
    for (const auto& [seq, frame] : unacked_frames_)
      send(frame);
  }

  void send(std::string frame) {
    queue_.push_back(std::move(frame));
    // A stalled link (lag spikes) holds everything; the first send after the stall writes it all.
    if (phase_ == Phase::kRunning && conduct_.stalled(wall_ms())) return;
    if (!writing_) write();
  }

  void write() {
    if (queue_.empty() || !ws_) return;
    if (phase_ == Phase::kRunning && conduct_.stalled(wall_ms())) {
      writing_ = false;  // the first send after the stall goes on
      return;
    }
    writing_ = true;
    ws_->binary(format() == gateway::WireFormat::kCapnp);
    ws_->async_write(net::buffer(queue_.front()), [self = shared_from_this(), ws = ws_.get()](
                                                      beast::error_code ec, std::size_t) {
      if (ws != self->ws_.get()) return;
      self->writing_ = false;
      if (ec) return;
      self->queue_.pop_front();
      self->write();
    });
  }

  net::io_context& ioc_;
  Shared& shared_;
  std::uint64_t player_;
  std::size_t target_;
  net::steady_timer timer_;
  std::mt19937_64 rng_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false, stopped_ = false, counted_ = false, started_ = false;
  Phase phase_ = Phase::kConnecting;
  std::uint64_t seq_ = 0, acked_ = 0;
  struct Sent {
    std::uint64_t seq;
    Clock::time_point at;
    bool in_window;  // sent while measuring: counted in actions_sent
  };
  std::deque<Sent> pending_;                                          // sent, not yet acked
  std::deque<std::pair<std::uint64_t, std::string>> unacked_frames_;  // to resend after a hop
  double home_x_ = 0, home_z_ = 0;
  double x_ = 0, z_ = 0;  // last seen
  struct Seen {
    std::uint64_t id;
    double x, z;
  };
  std::vector<Seen> visible_;
  std::vector<Seen> items_;   // unclaimed and untried, in sight at the last look
  std::optional<Seen> rush_;  // the item this player walks to
  int rush_moves_ = 0;
  std::unordered_set<std::uint64_t> tried_;        // items it went for: never again
  std::unordered_set<std::uint64_t> pickup_seqs_;  // its pickups, to count their rejects
  std::uint64_t last_move_seq_ = 0;
  Conduct conduct_;
  std::uint64_t start_ms_ = 0, last_move_ms_ = 0;  // by the client's clock (Conduct::claimed_ms)
  std::uint64_t frames_seen_ = 0;
  bool engaged_ = false;      // fighting: looks at every frame
  std::uint64_t foe_id_ = 0;  // whom it fights, while in sight
  std::uint64_t since_hop_ = 0, hop_after_ = 40;
  std::optional<Clock::time_point> lost_at_;  // failing over since
  std::uint64_t acked_at_loss_ = 0;
  std::size_t attempts_ = 0;  // connections tried in this failover
  std::vector<std::unique_ptr<websocket::stream<beast::tcp_stream>>> retired_;  // lost ones
};

std::string quantiles(const replica::Histogram& h) {
  std::ostringstream o;
  o << "p50<=" << h.quantile_bound(0.50) << " p95<=" << h.quantile_bound(0.95)
    << " p99<=" << h.quantile_bound(0.99) << " max<=" << h.quantile_bound(1.0) << " ms";
  return o.str();
}

}  // namespace

bool valid_scenario(const std::string& name) {
  for (const char* s : kScenarios) {
    if (name == s) return true;
  }
  return false;
}

std::string Report::summary() const {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << "players " << connected << "/" << players << " connected (" << connect_failures
    << " failed, " << disconnected << " dropped), " << seconds << " s measured\n"
    << "actions: " << actions_sent << " sent, " << acked << " of them acked = " << actions_per_s()
    << " /s, " << rejects << " rejects, " << errors << " errors, " << hops << " region hops\n"
    << "action -> ack (client-measured): " << quantiles(ack_ms) << "\n"
    << "state frames: " << state_frames_per_client_s() << " per client per second";
  if (pickups > 0) {
    o << "\npickups: " << pickups << " of items in sight, " << pickups_lost
      << " lost to another player's claim, " << pickups_out_of_range << " out of range";
  }
  if (failovers > 0 || failover_failures > 0) {
    o << "\nfailovers: " << failovers << " players acted again in another region, "
      << failover_failures
      << " found none; connection lost -> acting again: " << quantiles(failover_ms);
  }
  return o.str();
}

namespace {

void add(Report& into, const Report& r) {
  into.connected += r.connected;
  into.connect_failures += r.connect_failures;
  into.disconnected += r.disconnected;
  into.actions_sent += r.actions_sent;
  into.acked += r.acked;
  into.rejects += r.rejects;
  into.errors += r.errors;
  into.state_frames += r.state_frames;
  into.hops += r.hops;
  into.pickups += r.pickups;
  into.pickups_lost += r.pickups_lost;
  into.pickups_out_of_range += r.pickups_out_of_range;
  into.ack_ms.merge(r.ack_ms);
  into.failovers += r.failovers;
  into.failover_failures += r.failover_failures;
  into.failover_ms.merge(r.failover_ms);
}

// One I/O thread: its io_context, its bots, and a snapshot of its figures for the coordinator.
struct Worker {
  Worker(const Options& o, const std::vector<tcp::endpoint>& targets, Control& control)
      : shared{o, targets, control, {}, 0} {}
  net::io_context ioc{1};
  Shared shared;
  std::vector<std::shared_ptr<Bot>> bots;
  std::mutex mutex;
  Report snapshot;             // GUARDED_BY(mutex)
  std::uint64_t welcomed = 0;  // GUARDED_BY(mutex)

  void run(double connects_per_s) {
    net::steady_timer ramp(ioc), tick(ioc);
    std::size_t started = 0;
    const std::size_t batch =
        std::max<std::size_t>(1, static_cast<std::size_t>(connects_per_s / 100));
    std::function<void()> start_more = [&] {
      for (std::size_t i = 0; i < batch && started < bots.size(); ++i)
        bots[started++]->start();
      if (started < bots.size()) {
        ramp.expires_after(std::chrono::milliseconds(10));
        ramp.async_wait([&](beast::error_code ec) {
          if (!ec && !shared.stopping()) start_more();
        });
      }
    };
    bool stopped = false;
    std::function<void()> every = [&] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        snapshot = shared.report;
        welcomed = shared.welcomed;
      }
      if (shared.stopping() && !stopped) {
        stopped = true;
        ramp.cancel();
        for (auto& b : bots)
          b->stop();
        tick.expires_after(std::chrono::milliseconds(300));  // the close frames
        tick.async_wait([&](beast::error_code) { ioc.stop(); });
        return;
      }
      tick.expires_after(std::chrono::milliseconds(50));
      tick.async_wait([&](beast::error_code ec) {
        if (!ec) every();
      });
    };
    start_more();
    every();
    ioc.run();
  }
};

}  // namespace

Report run(const Options& options, std::ostream& out, const std::atomic<bool>* stop,
           const ProgressHook& hook) {
  Report total;
  total.players = options.players;
  std::vector<tcp::endpoint> targets;
  for (const std::string& t : options.targets) {
    const auto colon = t.rfind(':');
    boost::system::error_code ec;
    const auto address = net::ip::make_address(t.substr(0, colon), ec);
    if (ec || colon == std::string::npos) {
      out << "loadgen: bad target '" << t << "' (want ip:port)\n";
      return total;
    }
    targets.emplace_back(address, static_cast<std::uint16_t>(std::stoi(t.substr(colon + 1))));
  }
  if (targets.empty()) {
    out << "loadgen: no targets\n";
    return total;
  }
  Control control;
  const std::size_t n = static_cast<std::size_t>(std::max(1, options.threads));
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::size_t w = 0; w < n; ++w)
    workers.push_back(std::make_unique<Worker>(options, targets, control));
  for (std::uint64_t i = 0; i < options.players; ++i) {
    Worker& w = *workers[i % n];
    w.bots.push_back(std::make_shared<Bot>(w.ioc, w.shared, options.first_player + i, i));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back(
        [&options, &w, n] { w->run(options.connects_per_s / static_cast<double>(n)); });

  const auto begin = Clock::now();
  auto measure_start = begin;
  double last_print_ms = 0;
  Report last;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Report now;
    std::uint64_t welcomed = 0;
    for (auto& w : workers) {
      std::lock_guard<std::mutex> lock(w->mutex);
      add(now, w->snapshot);
      welcomed += w->welcomed;
    }
    now.players = options.players;
    const double elapsed = ms_since(begin);
    const bool all_in = welcomed + now.connect_failures >= options.players;
    const bool ramp_timeout = elapsed > 1000.0 * (5 + static_cast<double>(options.players) /
                                                          std::max(1.0, options.connects_per_s));
    if (!control.measuring && (all_in || ramp_timeout)) {
      control.measuring = true;
      measure_start = Clock::now();
      out << "loadgen: " << welcomed << " players in the world after " << static_cast<int>(elapsed)
          << " ms (" << n << " I/O threads); measuring for " << options.seconds << " s\n";
    }
    const double measured = control.measuring ? ms_since(measure_start) / 1000.0 : 0;
    now.seconds = measured;
    if (options.progress_every_ms && control.measuring &&
        elapsed - last_print_ms >= static_cast<double>(options.progress_every_ms)) {
      const double dt = (elapsed - last_print_ms) / 1000.0;
      last_print_ms = elapsed;
      if (hook) {
        hook(now, static_cast<std::uint64_t>(measured * 1000));
      } else {
        char line[256];
        std::snprintf(line, sizeof line,
                      "[%5.1fs] players=%llu actions/s=%.0f acks/s=%.0f ack_p95<=%.0fms "
                      "rejects=%llu errors=%llu\n",
                      measured, static_cast<unsigned long long>(now.connected),
                      static_cast<double>(now.actions_sent - last.actions_sent) / dt,
                      static_cast<double>(now.acked - last.acked) / dt,
                      now.ack_ms.quantile_bound(0.95), static_cast<unsigned long long>(now.rejects),
                      static_cast<unsigned long long>(now.errors));
        out << line << std::flush;
      }
      last = now;
    }
    if ((control.measuring && measured >= options.seconds) || (stop && stop->load())) {
      total.seconds = measured;
      break;
    }
  }
  control.stopping = true;
  for (auto& t : threads)
    t.join();
  for (auto& w : workers)
    add(total, w->shared.report);
  return total;
}

}  // namespace worldline::loadgen
