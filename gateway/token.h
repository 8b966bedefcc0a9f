// Access tokens: JWTs (RFC 7519) a client presents in `hello`, signed by the studio's account
// service. HS256 with a shared secret, or RS256 / ES256 (ECDSA P-256) with the account service's
// key pair (the node holds only the public key). Claims used: `sub` (the player id), `exp`
// (required), `role` ("player" default, or "admin" for /admin endpoints), and `iss` / `aud` where
// the key says which issuer and audience it accepts. `alg: none` and every other algorithm are
// refused. Errors never include the token itself (it is a credential): they say what was wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "crdt/result.h"

namespace worldline::gateway {

struct TokenClaims {
  std::uint64_t player = 0;
  std::string role = "player";
  std::int64_t expires_at = 0;  // Unix seconds
  std::int64_t issued_at = 0;
  std::string issuer{};    // `iss`; "" = none (minted only when set)
  std::string audience{};  // `aud`; "" = none (minted as one string when set)
};

struct ParsedKey;  // token.cc: a PEM key as OpenSSL holds it

struct TokenKey {
  enum class Kind { kHs256, kRs256, kEs256 };
  Kind kind = Kind::kHs256;
  // kHs256: the shared secret. kRs256 (RSA), kEs256 (EC P-256): a PEM key — private to mint,
  // public (or private) to verify.
  std::string material;
  // What a token must say besides its signature ("" = not checked): `iss` equal to `issuer`;
  // `aud` equal to `audience`, or an array holding it.
  std::string issuer{};
  std::string audience{};
  // kRs256, kEs256: `material` parsed once, by prepare_token_key. Without it every verification
  // parses the PEM again (tens of µs for RSA), so a node prepares its key when it loads it.
  std::shared_ptr<const ParsedKey> parsed{};
};

// The key with its PEM parsed (a no-op for kHs256). Fails if `material` is not a PEM key of the
// kind: a node refuses to start with such a key rather than refuse every player.
crdt::Result<TokenKey> prepare_token_key(TokenKey key);

// Signs `claims` into a compact JWT. Fails if the key cannot sign (e.g. a public RSA key).
crdt::Result<std::string> mint_token(const TokenClaims& claims, const TokenKey& key);

// Checks the signature with `key` (its algorithm must match the token's header), the key's issuer
// and audience if it names them, and the expiry against `now_unix_s` with `leeway_s` (>= 0) of
// clock tolerance. Any claim values are safe: out-of-range numbers are refused or clamped, never
// thrown on or overflowed.
crdt::Result<TokenClaims> verify_token(const std::string& token, const TokenKey& key,
                                       std::int64_t now_unix_s, std::int64_t leeway_s = 30);

}  // namespace worldline::gateway
