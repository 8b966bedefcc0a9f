// Fuzz target for access-token verification (a client's `hello` carries one): any bytes are
// refused or accepted, never a crash; nothing unsigned is ever accepted.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "gateway/token.h"

namespace {
const worldline::gateway::TokenKey kKey{worldline::gateway::TokenKey::Kind::kHs256,
                                        "fuzzing secret 0123"};
}

std::vector<std::string> worldline_fuzz_seeds() {
  using worldline::gateway::TokenClaims;
  return {worldline::gateway::mint_token(TokenClaims{42, "player", 2'000'000'000, 1}, kKey).value(),
          worldline::gateway::mint_token(TokenClaims{7, "admin", 2'000'000'000, 1}, kKey).value(),
          "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string token(reinterpret_cast<const char*>(data), size);
  auto r = worldline::gateway::verify_token(token, kKey, 1'800'000'000);
  if (r.ok()) {
    // Only a token this key signed can pass: re-signing its claims must give a token that
    // verifies to the same claims.
    auto again = worldline::gateway::mint_token(r.value(), kKey);
    if (!again || !worldline::gateway::verify_token(again.value(), kKey, 1'800'000'000).ok()) {
      std::abort();
    }
  }
  return 0;
}
