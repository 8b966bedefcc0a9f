// Access tokens: HS256, RS256 and ES256 round trips, and every way a token can be wrong — expired,
// forged, another algorithm (including "none"), garbage, missing claims — refused with a reason
// that does not echo the token.
#include "gateway/token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

namespace worldline::gateway {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

TokenClaims claims(std::uint64_t player, std::string role = "player", std::int64_t ttl = 3600) {
  return TokenClaims{player, std::move(role), kNow + ttl, kNow};
}

std::string error_of(const crdt::Result<TokenClaims>& r) {
  return r.ok() ? "ok" : r.error().message;
}

std::string b64url(const std::string& in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += a[(buf >> bits) & 63];
    }
  }
  if (bits > 0) out += a[(buf << (6 - bits)) & 63];
  return out;
}

// An HS256 token over any payload text (claims mint_token would never write).
std::string hs256_over(const std::string& payload, const std::string& secret) {
  const std::string input = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(std::string(reinterpret_cast<const char*>(mac), len));
}

TEST(Token, Hs256RoundTrip) {
  const TokenKey key{TokenKey::Kind::kHs256, "a shared secret of the studio"};
  auto t = mint_token(claims(42, "admin"), key);
  ASSERT_TRUE(t.ok());
  auto c = verify_token(t.value(), key, kNow);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().player, 42u);
  EXPECT_EQ(c.value().role, "admin");
  EXPECT_EQ(c.value().expires_at, kNow + 3600);
  EXPECT_EQ(c.value().issued_at, kNow);
}

TEST(Token, RefusesExpiredForgedAndMalformedTokens) {
  const TokenKey key{TokenKey::Kind::kHs256, "a shared secret of the studio"};
  const TokenKey other{TokenKey::Kind::kHs256, "someone else's secret"};
  const std::string good = mint_token(claims(7), key).value();
  EXPECT_EQ(error_of(verify_token(good, other, kNow)), "token: bad signature");
  EXPECT_EQ(error_of(verify_token(mint_token(claims(7, "player", -100), key).value(), key, kNow)),
            "token: expired");
  // Within the leeway is still fine.
  EXPECT_TRUE(verify_token(mint_token(claims(7, "player", -10), key).value(), key, kNow).ok());
  // A forged payload (player 7 → 8) with the original signature.
  const auto d1 = good.find('.'), d2 = good.rfind('.');
  const std::string forged_payload = mint_token(claims(8), other).value();
  const std::string forged =
      good.substr(0, d1) +
      forged_payload.substr(forged_payload.find('.'),
                            forged_payload.rfind('.') - forged_payload.find('.')) +
      good.substr(d2);
  EXPECT_EQ(error_of(verify_token(forged, key, kNow)), "token: bad signature");
  // alg: none, with no signature.
  const std::string none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" + good.substr(d1, d2 - d1) + ".";
  EXPECT_EQ(error_of(verify_token(none, key, kNow)), "token: algorithm must be HS256");
  EXPECT_EQ(error_of(verify_token("", key, kNow)), "token: not three dot-separated parts");
  EXPECT_EQ(error_of(verify_token("a.b.c.d", key, kNow)), "token: not three dot-separated parts");
  EXPECT_EQ(error_of(verify_token("a$.b.c", key, kNow)), "token: a part is not base64url");
  EXPECT_EQ(error_of(verify_token("YQ.YQ.YQ", key, kNow)), "token: header is not a JSON object");
  EXPECT_EQ(error_of(verify_token(std::string(9000, 'a'), key, kNow)),
            "token: longer than 8192 bytes");
  // The reason never contains the token.
  EXPECT_EQ(error_of(verify_token(good, other, kNow)).find(good.substr(0, 10)), std::string::npos);
}

TEST(Token, RefusesMissingOrBadClaims) {
  const TokenKey key{TokenKey::Kind::kHs256, "a shared secret of the studio"};
  EXPECT_EQ(error_of(verify_token(mint_token(claims(0), key).value(), key, kNow)),
            "token: sub is not a player id");
  EXPECT_EQ(error_of(verify_token(mint_token(claims(5, "god"), key).value(), key, kNow)),
            "token: unknown role");
}

struct KeyPair {
  std::string private_pem, public_pem;
};

KeyPair pem_pair(EVP_PKEY* raw) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
  auto to_pem = [&](bool priv) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (priv) {
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio.get(), key.get());
    }
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  };
  return {to_pem(true), to_pem(false)};
}

KeyPair make_rsa() {
  return pem_pair(EVP_RSA_gen(2048));
}
KeyPair make_ec() {
  return pem_pair(EVP_EC_gen("P-256"));
}

TEST(Token, Rs256SignedByTheAccountServiceVerifiedWithItsPublicKey) {
  const KeyPair keys = make_rsa();
  const KeyPair other = make_rsa();
  const TokenKey signer{TokenKey::Kind::kRs256, keys.private_pem};
  const TokenKey verifier{TokenKey::Kind::kRs256, keys.public_pem};
  auto t = mint_token(claims(99), signer);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto c = verify_token(t.value(), verifier, kNow);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().player, 99u);
  EXPECT_EQ(
      error_of(verify_token(t.value(), TokenKey{TokenKey::Kind::kRs256, other.public_pem}, kNow)),
      "token: bad signature");
  // An HS256 token presented where RS256 is expected (the classic key-confusion attack).
  const auto hs = mint_token(claims(99), TokenKey{TokenKey::Kind::kHs256, keys.public_pem}).value();
  EXPECT_EQ(error_of(verify_token(hs, verifier, kNow)), "token: algorithm must be RS256");
  EXPECT_FALSE(mint_token(claims(1), verifier).ok());  // a public key cannot sign
  EXPECT_EQ(error_of(verify_token(t.value(), TokenKey{TokenKey::Kind::kRs256, "not pem"}, kNow)),
            "token: the RS256 key is not a PEM key of that kind");
}

TEST(Token, Es256SignedByTheAccountServiceVerifiedWithItsPublicKey) {
  const KeyPair keys = make_ec(), other = make_ec(), rsa = make_rsa();
  const TokenKey signer{TokenKey::Kind::kEs256, keys.private_pem};
  const TokenKey verifier{TokenKey::Kind::kEs256, keys.public_pem};
  auto t = mint_token(claims(77, "admin"), signer);
  ASSERT_TRUE(t.ok()) << t.error().message;
  // JWS form: the signature is r ‖ s, 64 bytes (86 base64url characters).
  EXPECT_EQ(t.value().size() - t.value().rfind('.') - 1, 86u);
  auto c = verify_token(t.value(), verifier, kNow);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().player, 77u);
  EXPECT_EQ(c.value().role, "admin");
  EXPECT_EQ(
      error_of(verify_token(t.value(), TokenKey{TokenKey::Kind::kEs256, other.public_pem}, kNow)),
      "token: bad signature");
  // The last character's low bits are padding: a non-canonical spelling is refused too.
  std::string respelled = t.value();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::size_t v = alphabet.find(respelled.back());
  ASSERT_EQ(v % 16, 0u);               // canonical: 2 data bits, then 4 zero bits
  respelled.back() = alphabet[v | 1];  // the same data bits, one padding bit set
  EXPECT_EQ(error_of(verify_token(respelled, verifier, kNow)), "token: a part is not base64url");
  // A changed character inside the signature.
  std::string flipped = t.value();
  char& c40 = flipped[flipped.rfind('.') + 40];
  c40 = c40 == 'A' ? 'B' : 'A';
  EXPECT_EQ(error_of(verify_token(flipped, verifier, kNow)), "token: bad signature");
  // An RSA key where an EC key is expected, and an RS256 token where ES256 is expected.
  EXPECT_EQ(
      error_of(verify_token(t.value(), TokenKey{TokenKey::Kind::kEs256, rsa.public_pem}, kNow)),
      "token: the ES256 key is not a PEM key of that kind");
  const auto rs = mint_token(claims(77), TokenKey{TokenKey::Kind::kRs256, rsa.private_pem}).value();
  EXPECT_EQ(error_of(verify_token(rs, verifier, kNow)), "token: algorithm must be ES256");
}

// sub past 2^64 - 1 made stoull throw out of verify_token; exp near 2^63 overflowed exp + leeway.
// Every value is now refused with a reason or clamped.
TEST(Token, OutOfRangeSubAndExpAreRefusedOrClampedNeverThrownOrOverflowed) {
  const std::string secret = "a shared secret of the studio";
  const TokenKey key{TokenKey::Kind::kHs256, secret};
  auto verify = [&](const std::string& payload) {
    return verify_token(hs256_over(payload, secret), key, kNow);
  };
  EXPECT_EQ(error_of(verify(R"({"sub":"18446744073709551616","exp":1900000000})")),
            "token: sub is not a player id");
  EXPECT_EQ(error_of(verify(R"({"sub":"99999999999999999999","exp":1900000000})")),
            "token: sub is not a player id");
  for (const char* sub : {R"("+5")", R"(" 5")", R"("-1")", R"("")", R"("5x")", "-1", "1.5"}) {
    EXPECT_EQ(error_of(verify(std::string(R"({"sub":)") + sub + R"(,"exp":1900000000})")),
              "token: sub is not a player id")
        << sub;
  }
  // From 2^63 on, ids are NPCs' (region/director/npc.h): the largest player id is 2^63 - 1.
  EXPECT_EQ(error_of(verify(R"({"sub":"18446744073709551615","exp":1900000000})")),
            "token: sub 18446744073709551615 is in the range reserved for NPCs (2^63 and above)");
  EXPECT_EQ(error_of(verify(R"({"sub":"9223372036854775808","exp":1900000000})")),
            "token: sub 9223372036854775808 is in the range reserved for NPCs (2^63 and above)");
  auto top = verify(R"({"sub":"9223372036854775807","exp":1900000000})");
  ASSERT_TRUE(top.ok()) << top.error().message;
  EXPECT_EQ(top.value().player, 9223372036854775807u);
  // exp at 2^63 - 1 with 30 s of leeway: far future, not an overflow (UBSan stops the old code).
  auto never = verify(R"({"sub":"5","exp":9223372036854775807})");
  ASSERT_TRUE(never.ok()) << never.error().message;
  EXPECT_EQ(never.value().expires_at, 9223372036854775807);
  // Past 2^63 - 1 (a uint64 in JSON): clamped, not wrapped to a negative (expired) time.
  auto past = verify(R"({"sub":"5","exp":18446744073709551615})");
  ASSERT_TRUE(past.ok()) << past.error().message;
  EXPECT_EQ(past.value().expires_at, 9223372036854775807);
  EXPECT_EQ(error_of(verify(R"({"sub":"5","exp":-9223372036854775808})")), "token: expired");
  EXPECT_EQ(error_of(verify(R"({"sub":"5","exp":1e300})")), "token: no exp claim");
}

TEST(Token, IssuerAndAudienceAreCheckedWhenTheKeyNamesThem) {
  const std::string secret = "a shared secret of the studio";
  TokenKey key{TokenKey::Kind::kHs256, secret};
  key.issuer = "https://accounts.studio.example";
  key.audience = "worldline-eu";
  TokenClaims good = claims(5);
  good.issuer = key.issuer;
  good.audience = key.audience;
  auto c = verify_token(mint_token(good, key).value(), key, kNow);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c.value().issuer, key.issuer);
  EXPECT_EQ(c.value().audience, key.audience);
  TokenClaims no_iss = good;
  no_iss.issuer.clear();
  EXPECT_EQ(error_of(verify_token(mint_token(no_iss, key).value(), key, kNow)),
            "token: wrong issuer");
  TokenClaims other_iss = good;
  other_iss.issuer = "https://evil.example";
  EXPECT_EQ(error_of(verify_token(mint_token(other_iss, key).value(), key, kNow)),
            "token: wrong issuer");
  TokenClaims other_aud = good;
  other_aud.audience = "worldline-us";
  EXPECT_EQ(error_of(verify_token(mint_token(other_aud, key).value(), key, kNow)),
            "token: not for this audience");
  TokenClaims no_aud = good;
  no_aud.audience.clear();
  EXPECT_EQ(error_of(verify_token(mint_token(no_aud, key).value(), key, kNow)),
            "token: not for this audience");
  // `aud` as an array (RFC 7519 §4.1.3): accepted when it holds ours.
  const std::string iss = R"("iss":"https://accounts.studio.example")";
  EXPECT_TRUE(verify_token(hs256_over(R"({"sub":"5","exp":1900000000,)" + iss +
                                          R"(,"aud":["worldline-us","worldline-eu"]})",
                                      secret),
                           key, kNow)
                  .ok());
  EXPECT_EQ(error_of(verify_token(hs256_over(R"({"sub":"5","exp":1900000000,)" + iss +
                                                 R"(,"aud":["worldline-us",7]})",
                                             secret),
                                  key, kNow)),
            "token: not for this audience");
  // A key that names neither accepts tokens with or without them.
  const TokenKey plain{TokenKey::Kind::kHs256, secret};
  EXPECT_TRUE(verify_token(mint_token(good, plain).value(), plain, kNow).ok());
  EXPECT_TRUE(verify_token(mint_token(claims(5), plain).value(), plain, kNow).ok());
}

// The node parses the account service's public key once (prepare_token_key), not at every hello:
// a prepared key verifies without reading its PEM text again, and a bad PEM fails at preparation.
TEST(Token, APreparedKeyIsParsedOnceAndABadPemFailsAtPreparation) {
  for (const auto kind : {TokenKey::Kind::kRs256, TokenKey::Kind::kEs256}) {
    const KeyPair keys = kind == TokenKey::Kind::kRs256 ? make_rsa() : make_ec();
    const std::string t = mint_token(claims(9), TokenKey{kind, keys.private_pem}).value();
    auto prepared = prepare_token_key(TokenKey{kind, keys.public_pem});
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    TokenKey key = prepared.value();
    ASSERT_TRUE(key.parsed);
    key.material = "no longer a PEM key";  // verification must not parse it
    auto c = verify_token(t, key, kNow);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c.value().player, 9u);
    EXPECT_FALSE(prepare_token_key(TokenKey{kind, "not pem"}).ok());
  }
  EXPECT_FALSE(prepare_token_key(TokenKey{TokenKey::Kind::kRs256, make_ec().public_pem}).ok());
  auto hs = prepare_token_key(TokenKey{TokenKey::Kind::kHs256, "a shared secret of the studio"});
  ASSERT_TRUE(hs.ok());
  EXPECT_FALSE(hs.value().parsed);  // nothing to parse
}

}  // namespace
}  // namespace worldline::gateway
