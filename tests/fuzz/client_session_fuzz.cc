// Fuzz target for the session logic behind a WebSocket connection (ClientSession), in both wire
// forms: the input is a sequence of frames a client sends — hello with a valid or broken token,
// actions, pings, garbage, frames of the wrong kind — and the session must never crash, never pass
// an action to the region before a successful hello or after the session closed, answer every
// frame it refuses, and encode every frame it sends.
//
// Input layout: byte 0 picks the wire form (even: JSON, odd: Cap'n Proto); then frames, each
// [flags: bit 0 = binary][length: 2 bytes, little-endian][bytes].
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gateway/client_session.h"
#include "gateway/player_budgets.h"
#include "gateway/region_host.h"

namespace {

using namespace worldline::gateway;

const TokenKey kKey{TokenKey::Kind::kHs256, "fuzzing secret 0123"};
constexpr std::int64_t kNow = 1'800'000'000;

// The region as the session sees it: records what reaches it.
struct RecordingRegion : RegionPort {
  SessionId attach(std::uint64_t, std::shared_ptr<SessionSink>) override { return ++attached; }
  void submit(SessionId session, int, worldline::region::Action action, std::uint64_t) override {
    if (session == 0 || session != attached || detached >= attached) std::abort();
    if (action.client_seq == 0) std::abort();
    ++submitted;
  }
  void detach(SessionId) override { ++detached; }
  std::uint64_t attached = 0, detached = 0, submitted = 0;
};

struct CheckingSink : SessionSink {
  explicit CheckingSink(WireFormat f) : format(f) {}
  void deliver(ServerFrame frame) override {
    if (closed) std::abort();  // nothing after the close
    if (encode(format, frame).empty()) std::abort();
    ++delivered;
  }
  void close(int code, std::string) override {
    if (code != 1008) std::abort();  // the session only ever closes for policy
    closed = true;
  }
  WireFormat format;
  std::uint64_t delivered = 0;
  bool closed = false;
};

std::string frame(bool binary, const std::string& bytes) {
  std::string out(1, static_cast<char>(binary ? 1 : 0));
  out += static_cast<char>(bytes.size() & 0xff);
  out += static_cast<char>((bytes.size() >> 8) & 0xff);
  return out + bytes;
}

std::string token() {
  return mint_token(TokenClaims{42, "player", kNow + 3600, kNow}, kKey).value();
}

}  // namespace

std::vector<std::string> worldline_fuzz_seeds() {
  const std::string json_hello = R"({"type":"hello","token":")" + token() + R"("})";
  const std::string json_move =
      R"({"type":"action","seq":1,"kind":"move","t":1800000000000,"args":{"x":1,"z":2}})";
  ActionFrame move;
  move.kind_name = "move";
  move.action.client_seq = 1;
  move.action.position = {1, 0, 2};
  return {
      std::string(1, '\0') + frame(false, json_hello) + frame(false, json_move) +
          frame(false, R"({"type":"ping","t":5})") + frame(true, "\x01\x02"),
      std::string(1, '\0') + frame(false, json_move) + frame(false, json_hello),
      std::string(1, '\1') + frame(true, encode_client_capnp(HelloFrame{token(), 3})) +
          frame(true, encode_client_capnp(move)) + frame(true, encode_client_capnp(PingFrame{9})) +
          frame(false, json_move),
      std::string(1, '\1') + frame(true, encode_client_capnp(HelloFrame{"x.y.z", {}})),
  };
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const WireFormat format = (data[0] & 1) ? WireFormat::kCapnp : WireFormat::kJson;
  RecordingRegion region;
  auto sink = std::make_shared<CheckingSink>(format);
  SessionLimits limits;
  limits.max_violations = 8;
  {
    PlayerBudgets budgets(limits);
    ClientSession session(limits, kKey, "fuzz", 20, region, budgets, sink, format);
    std::size_t at = 1;
    std::uint64_t now_ms = 1000;
    while (at + 3 <= size) {
      const bool binary = data[at] & 1;
      const std::size_t n = data[at + 1] | (static_cast<std::size_t>(data[at + 2]) << 8);
      at += 3;
      const std::size_t len = std::min(n, size - at);
      const std::uint64_t before = sink->delivered, submitted = region.submitted;
      session.on_frame(std::string_view(reinterpret_cast<const char*>(data + at), len), binary,
                       now_ms += 10, kNow);
      at += len;
      // Every frame the session takes is either passed to the region or answered (or it closed).
      if (!session.closed() && region.submitted == submitted && sink->delivered == before &&
          !sink->closed) {
        std::abort();
      }
    }
  }
  if (region.detached != region.attached) std::abort();  // a session always detaches
  return 0;
}
