#include "gateway/client_session.h"

#include "gateway/player_budgets.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace worldline::gateway {

bool TokenBucket::take(double n, std::uint64_t now_ms) {
  if (!started_) {
    started_ = true;
    last_ms_ = now_ms;
  }
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - last_ms_) / 1000.0);
    last_ms_ = now_ms;
  }
  if (tokens_ < n) return false;
  tokens_ -= n;
  return true;
}

ClientSession::ClientSession(SessionLimits limits, TokenKey key, std::string region_name,
                             double tick_hz, RegionPort& region, PlayerBudgets& budgets,
                             std::shared_ptr<SessionSink> sink, WireFormat format)
    : limits_(limits),
      format_(format),
      key_(std::move(key)),
      region_name_(std::move(region_name)),
      tick_hz_(tick_hz),
      region_(region),
      budgets_(budgets),
      sink_(std::move(sink)) {}

ClientSession::~ClientSession() {
  on_close();
}

void ClientSession::on_close() {
  if (session_) {
    region_.detach(*session_);
    budgets_.leave(player_);
  }
  session_.reset();
  closed_ = true;
}

void ClientSession::close(int code, const std::string& reason) {
  if (closed_) return;
  sink_->close(code, reason);
  on_close();
}

void ClientSession::fail(ErrorCode code, const std::string& message,
                         std::optional<std::uint64_t> seq) {
  ++counters_.errors;
  sink_->deliver(ErrorFrame{code, message, seq});
  violation();
}

void ClientSession::violation() {
  if (++violations_ >= limits_.max_violations) {
    spdlog::warn("session of player {}: {} bad or over-limit frames, closing (1008)", player_,
                 violations_);
    close(1008, "too many bad or over-limit frames");
  }
}

void ClientSession::hello(const HelloFrame& h, std::uint64_t now_ms, std::int64_t unix_s) {
  if (session_) {
    fail(ErrorCode::kAlreadyAuthenticated, "this session already said hello");
    return;
  }
  auto claims = verify_token(h.token, key_, unix_s, limits_.token_leeway_s);
  if (!claims) {
    // The reason names what was wrong (signature, expiry, algorithm), never the token.
    spdlog::info("hello refused: {}", claims.error().message);
    ++counters_.errors;
    sink_->deliver(ErrorFrame{ErrorCode::kAuthFailed, claims.error().message});
    close(1008, "authentication failed");
    return;
  }
  player_ = claims.value().player;
  session_ = region_.attach(player_, sink_);
  budgets_.join(player_, now_ms);
  sink_->deliver(WelcomeFrame{player_, region_name_, tick_hz_, h.last_ack.value_or(0)});
}

void ClientSession::on_frame(std::string_view frame, bool binary, std::uint64_t now_ms,
                             std::int64_t unix_s) {
  if (closed_) return;
  ++counters_.frames;
  if (session_ && !budgets_.take_bytes(player_, static_cast<double>(frame.size()), now_ms)) {
    ++counters_.rate_limited;
    fail(ErrorCode::kRateLimited,
         "over " + std::to_string(limits_.bytes_per_s) + " bytes/s for this player");
    return;
  }
  if (binary != (format_ == WireFormat::kCapnp)) {
    fail(ErrorCode::kWrongFrameKind,
         std::string(binary ? "a binary" : "a text") + " frame under " + subprotocol_name(format_));
    return;
  }
  ParseResult parsed = binary ? parse_client_capnp(frame, limits_.protocol)
                              : parse_client_frame(frame, limits_.protocol);
  if (auto* e = std::get_if<ProtocolError>(&parsed)) {
    if (!session_ && e->code == ErrorCode::kAuthFailed) {
      spdlog::info("hello refused: {}", e->message);  // as for a token that fails to verify
      ++counters_.errors;
      sink_->deliver(ErrorFrame{e->code, e->message});
      close(1008, "authentication failed");
      return;
    }
    fail(e->code, e->message, e->seq);
    return;
  }
  ClientFrame& f = std::get<ClientFrame>(parsed);
  if (auto* h = std::get_if<HelloFrame>(&f)) {
    hello(*h, now_ms, unix_s);
    return;
  }
  if (!session_) {
    fail(ErrorCode::kNotAuthenticated, "say hello with a token first");
    return;
  }
  if (auto* p = std::get_if<PingFrame>(&f)) {
    sink_->deliver(PongFrame{p->t, now_ms});
    return;
  }
  auto& a = std::get<ActionFrame>(f);
  if (!budgets_.take_action(player_, now_ms)) {
    // Refused like any action, so the client's prediction is corrected; and counted as abuse.
    ++counters_.rate_limited;
    sink_->deliver(RejectFrame{
        a.action.client_seq, "rate_limited",
        budgets_.throttled(player_, now_ms)
            ? std::string("throttled by the cheat detection for a while")
            : "over " + std::to_string(limits_.actions_per_s) + " actions/s for this player"});
    violation();
    return;
  }
  ++counters_.actions;
  region_.submit(*session_, a.raw_kind, std::move(a.action), now_ms);
}

}  // namespace worldline::gateway
