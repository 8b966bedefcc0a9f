// Fuzz target for the client protocol's binary form (every binary frame under `worldline.capnp`
// goes through parse_client_capnp): any bytes give a frame or a ProtocolError with a reason, never
// a crash or an unbounded allocation; a parsed action carries a seq >= 1; and a parsed frame
// re-encodes to a message that parses to the same frame.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/protocol.h"

std::vector<std::string> worldline_fuzz_seeds() {
  using namespace worldline::gateway;
  ActionFrame move;
  move.kind_name = "move";
  move.action.client_seq = 3;
  move.action.client_time_ms = 1000;
  move.action.position = {1.5, 0, -2};
  ActionFrame attack;
  attack.kind_name = "attack";
  attack.action.client_seq = 4;
  attack.action.target = 42;
  attack.action.after = worldline::region::Dependency{42, 9};
  ActionFrame aimed = attack;
  aimed.action.client_seq = 6;
  aimed.action.aim = worldline::crdt::Vec3{0.6, 0, -0.8};
  ActionFrame look = move;
  look.action.client_seq = 7;
  look.action.aim = worldline::crdt::Vec3{0, 1, 0};
  ActionFrame chat;
  chat.kind_name = "chat";
  chat.action.client_seq = 5;
  chat.action.text = "gg";
  return {encode_client_capnp(HelloFrame{"abc.def.ghi", 12}),
          encode_client_capnp(HelloFrame{"abc.def.ghi", std::nullopt}),
          encode_client_capnp(move),
          encode_client_capnp(attack),
          encode_client_capnp(chat),
          encode_client_capnp(aimed),
          encode_client_capnp(look),
          encode_client_capnp(PingFrame{77})};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace worldline::gateway;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ProtocolLimits limits;
  const ParseResult r = parse_client_capnp(bytes, limits);
  if (const auto* frame = std::get_if<ClientFrame>(&r)) {
    if (const auto* a = std::get_if<ActionFrame>(frame); a && a->action.client_seq == 0) {
      std::abort();
    }
    // A parsed aim is a finite unit vector: the rules divide by nothing and trust its length.
    if (const auto* a = std::get_if<ActionFrame>(frame); a && a->action.aim) {
      const auto& v = *a->action.aim;
      if (!(std::abs(std::hypot(v.x, v.y, v.z) - 1) < 1e-9)) std::abort();
    }
    // What parsed once parses again the same after re-encoding (larger limit: the canonical form
    // may be longer than a cleverly packed input).
    ProtocolLimits roomy;
    roomy.max_frame_bytes = 1 << 20;
    const std::string again = encode_client_capnp(*frame);
    const ParseResult r2 = parse_client_capnp(again, roomy);
    const auto* frame2 = std::get_if<ClientFrame>(&r2);
    if (!frame2 || frame2->index() != frame->index() || encode_client_capnp(*frame2) != again) {
      std::abort();
    }
  } else if (std::get<ProtocolError>(r).message.empty()) {
    std::abort();  // every refusal says why
  }
  return 0;
}
