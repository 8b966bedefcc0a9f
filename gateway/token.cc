#include "gateway/token.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>
#include <memory>

#include "region/director/npc.h"

namespace worldline::gateway {

struct ParsedKey {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, &EVP_PKEY_free};
};

namespace {

namespace json = boost::json;

crdt::Error token_error(const std::string& what) {
  return crdt::make_error(crdt::ErrorCode::kInvalidArgument, "token: " + what);
}

std::string base64url(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {a[v >> 18], a[(v >> 12) & 63]};
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63]};
  }
  return out;
}

bool unbase64url(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return false;
  out->clear();
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    const int v = val(c);
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  // Canonical only: the bits left over past the last byte must be zero, so one token has exactly
  // one spelling (no altered-but-still-valid copies of a signature).
  return (buf & ((1u << bits) - 1)) == 0;
}

std::string hmac_sha256(const std::string& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PKey load_key(const std::string& pem, bool want_private) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  EVP_PKEY* k = want_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                             : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!k && !want_private) {  // a private key can verify too
    BIO_reset(bio.get());
    k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  }
  return PKey(k, &EVP_PKEY_free);
}

const char* alg_name(TokenKey::Kind k) {
  switch (k) {
    case TokenKey::Kind::kHs256:
      return "HS256";
    case TokenKey::Kind::kRs256:
      return "RS256";
    case TokenKey::Kind::kEs256:
      return "ES256";
  }
  return "?";
}

// The key type an algorithm needs: an RSA key offered for ES256 (or the reverse) is refused.
bool key_fits(const EVP_PKEY* k, TokenKey::Kind kind) {
  const int id = EVP_PKEY_get_base_id(k);
  if (kind == TokenKey::Kind::kRs256) return id == EVP_PKEY_RSA;
  if (kind != TokenKey::Kind::kEs256 || id != EVP_PKEY_EC) return false;
  return EVP_PKEY_get_bits(k) == 256;  // P-256
}

// JWS carries an ECDSA signature as r ‖ s, 32 bytes each; OpenSSL speaks DER.
std::string ecdsa_der_to_raw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free);
  if (!sig) return {};
  std::string raw(64, '\0');
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
      BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32) {
    return {};
  }
  return raw;
}

std::string ecdsa_raw_to_der(const std::string& raw) {
  if (raw.size() != 64) return {};
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
  const auto* b = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(b, 32, nullptr);
  BIGNUM* s = BN_bin2bn(b + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* out = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &out);
  if (len <= 0) return {};
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  return der;
}

}  // namespace

crdt::Result<TokenKey> prepare_token_key(TokenKey key) {
  if (key.kind == TokenKey::Kind::kHs256) return key;
  auto parsed = std::make_shared<ParsedKey>();
  parsed->key = load_key(key.material, /*want_private=*/false);
  if (!parsed->key || !key_fits(parsed->key.get(), key.kind)) {
    return token_error(std::string("the ") + alg_name(key.kind) +
                       " key is not a PEM key of that kind");
  }
  key.parsed = std::move(parsed);
  return key;
}

crdt::Result<std::string> mint_token(const TokenClaims& claims, const TokenKey& key) {
  json::object header{{"alg", alg_name(key.kind)}, {"typ", "JWT"}};
  json::object payload{{"sub", std::to_string(claims.player)},
                       {"role", claims.role},
                       {"exp", claims.expires_at},
                       {"iat", claims.issued_at}};
  if (!claims.issuer.empty()) payload["iss"] = claims.issuer;
  if (!claims.audience.empty()) payload["aud"] = claims.audience;
  const std::string signing_input =
      base64url(json::serialize(header)) + "." + base64url(json::serialize(payload));
  std::string signature;
  if (key.kind == TokenKey::Kind::kHs256) {
    signature = hmac_sha256(key.material, signing_input);
  } else {
    const std::string alg = alg_name(key.kind);
    PKey pkey = load_key(key.material, /*want_private=*/true);
    if (!pkey || !key_fits(pkey.get(), key.kind)) {
      return token_error("the " + alg + " key is not a PEM private key of that kind");
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
      return token_error(alg + " signing failed");
    }
    signature.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
      return token_error(alg + " signing failed");
    }
    signature.resize(len);
    if (key.kind == TokenKey::Kind::kEs256) {
      signature = ecdsa_der_to_raw(signature);
      if (signature.empty()) return token_error("ES256 signing failed");
    }
  }
  return signing_input + "." + base64url(signature);
}

crdt::Result<TokenClaims> verify_token(const std::string& token, const TokenKey& key,
                                       std::int64_t now, std::int64_t leeway) {
  if (token.size() > 8192) return token_error("longer than 8192 bytes");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) {
    return token_error("not three dot-separated parts");
  }
  std::string header_json, payload_json, signature;
  if (!unbase64url(std::string_view(token).substr(0, dot1), &header_json) ||
      !unbase64url(std::string_view(token).substr(dot1 + 1, dot2 - dot1 - 1), &payload_json) ||
      !unbase64url(std::string_view(token).substr(dot2 + 1), &signature)) {
    return token_error("a part is not base64url");
  }
  json::value header, payload;
  boost::system::error_code ec;
  header = json::parse(header_json, ec);
  if (ec || !header.is_object()) return token_error("header is not a JSON object");
  payload = json::parse(payload_json, ec);
  if (ec || !payload.is_object()) return token_error("payload is not a JSON object");
  const auto* alg = header.as_object().if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != alg_name(key.kind)) {
    return token_error(std::string("algorithm must be ") + alg_name(key.kind));
  }
  const std::string_view signing_input = std::string_view(token).substr(0, dot2);
  if (key.kind == TokenKey::Kind::kHs256) {
    const std::string expected = hmac_sha256(key.material, signing_input);
    if (signature.size() != expected.size() ||
        CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
      return token_error("bad signature");
    }
  } else {
    PKey loaded(nullptr, &EVP_PKEY_free);  // only for a key that was not prepared
    EVP_PKEY* pkey = key.parsed ? key.parsed->key.get() : nullptr;
    if (!pkey) {
      loaded = load_key(key.material, /*want_private=*/false);
      if (!loaded || !key_fits(loaded.get(), key.kind)) {
        return token_error(std::string("the ") + alg_name(key.kind) +
                           " key is not a PEM key of that kind");
      }
      pkey = loaded.get();
    }
    if (key.kind == TokenKey::Kind::kEs256) {
      signature = ecdsa_raw_to_der(signature);
      if (signature.empty()) return token_error("bad signature");
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1 ||
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(),
                         reinterpret_cast<const unsigned char*>(signing_input.data()),
                         signing_input.size()) != 1) {
      return token_error("bad signature");
    }
  }
  const json::object& p = payload.as_object();
  TokenClaims claims;
  const auto* sub = p.if_contains("sub");
  if (!sub) return token_error("no sub claim");
  if (sub->is_string()) {
    const json::string& s = sub->as_string();
    // Digits only (no sign, no space), within 64 bits: from_chars refuses the rest, where stoull
    // threw on 2^64 and above.
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), claims.player);
    if (ec != std::errc() || end != s.data() + s.size()) {
      return token_error("sub is not a player id");
    }
  } else if (sub->is_uint64() || (sub->is_int64() && sub->as_int64() > 0)) {
    claims.player =
        sub->is_uint64() ? sub->as_uint64() : static_cast<std::uint64_t>(sub->as_int64());
  } else {
    return token_error("sub is not a player id");
  }
  if (claims.player == 0) return token_error("sub is not a player id");
  // NPCs of world events take their ids from this range (region/director/npc.h): a player who
  // had one would be an NPC's twin in the world.
  if (region::director::is_npc(claims.player)) {
    return token_error("sub " + std::to_string(claims.player) +
                       " is in the range reserved for NPCs (2^63 and above)");
  }
  const auto* exp = p.if_contains("exp");
  if (!exp || !(exp->is_int64() || exp->is_uint64())) return token_error("no exp claim");
  constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  // Past 2^63 - 1 is as good as never; exp + leeway is not computed, so nothing overflows.
  claims.expires_at = exp->is_int64() ? exp->as_int64()
                                      : static_cast<std::int64_t>(std::min<std::uint64_t>(
                                            exp->as_uint64(), static_cast<std::uint64_t>(kNever)));
  leeway = std::max<std::int64_t>(leeway, 0);
  if (claims.expires_at <= kNever - leeway && claims.expires_at + leeway < now) {
    return token_error("expired");
  }
  if (const auto* iss = p.if_contains("iss"); iss && iss->is_string()) {
    claims.issuer = std::string(iss->as_string());
  }
  if (!key.issuer.empty() && claims.issuer != key.issuer) return token_error("wrong issuer");
  if (const auto* aud = p.if_contains("aud")) {
    if (aud->is_string()) {
      claims.audience = std::string(aud->as_string());
    } else if (aud->is_array() && !key.audience.empty()) {
      for (const json::value& a : aud->as_array()) {
        if (a.is_string() && a.as_string() == key.audience) claims.audience = key.audience;
      }
    }
  }
  if (!key.audience.empty() && claims.audience != key.audience) {
    return token_error("not for this audience");
  }
  if (const auto* role = p.if_contains("role")) {
    if (!role->is_string()) return token_error("role is not a string");
    claims.role = std::string(role->as_string());
    if (claims.role != "player" && claims.role != "admin") return token_error("unknown role");
  }
  if (const auto* iat = p.if_contains("iat"); iat && iat->is_int64())
    claims.issued_at = iat->as_int64();
  return claims;
}

}  // namespace worldline::gateway
