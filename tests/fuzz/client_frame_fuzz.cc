// Fuzz target for the client protocol's JSON frames (every text frame a game client sends goes
// through parse_client_frame): any bytes give a frame or a ProtocolError, never a crash, and a
// parsed action always carries a sequence number >= 1.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/protocol.h"

std::vector<std::string> worldline_fuzz_seeds() {
  return {
      R"({"type":"hello","token":"abc.def.ghi","resume":{"last_ack":12}})",
      R"({"type":"action","seq":3,"kind":"move","t":1000,"args":{"x":1.5,"y":0,"z":-2}})",
      R"({"type":"action","seq":4,"kind":"attack","args":{"target":42},"after":{"actor":42,"seq":9}})",
      R"({"type":"action","seq":5,"kind":"chat","args":{"text":"gg"}})",
      R"({"type":"action","seq":6,"kind":"attack","t":1050,"args":{"target":42,"aim":{"x":0.6,"y":0,"z":-0.8}}})",
      R"({"type":"action","seq":7,"kind":"move","t":1100,"args":{"x":2,"z":-2,"aim":{"x":1e-300,"z":1e300}}})",
      R"({"type":"ping","t":77})",
      R"([[[[[[[[[[[[1]]]]]]]]]]]])"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace worldline::gateway;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParseResult r = parse_client_frame(text, ProtocolLimits{});
  if (const auto* frame = std::get_if<ClientFrame>(&r)) {
    if (const auto* a = std::get_if<ActionFrame>(frame); a && a->action.client_seq == 0) {
      std::abort();
    }
    // A parsed aim is a finite unit vector: the rules divide by nothing and trust its length.
    if (const auto* a = std::get_if<ActionFrame>(frame); a && a->action.aim) {
      const auto& v = *a->action.aim;
      if (!(std::abs(std::hypot(v.x, v.y, v.z) - 1) < 1e-9)) std::abort();
    }
  } else if (std::get<ProtocolError>(r).message.empty()) {
    std::abort();  // every refusal says why
  }
  return 0;
}
