// Access tokens: HS256, RS256 and ES256 round trips, and every way a token can be wrong — expired,
// forged, another algorithm (including "none"), garbage, missing claims — refused with a reason
// that does not echo the token.
#include "gateway/token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
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

}  // namespace
}  // namespace worldline::gateway
