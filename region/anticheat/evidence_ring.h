// EvidenceRing: a player's last kEvidenceWindow actions as a flag shows them, kept compact —
// 32 bytes an action, 512 a player (the full EvidenceEntry is 56) — because the detector writes
// one entry for every action of every player and reads the ring only when it raises a flag: the
// ring is most of a player's memory, and its writes are cache misses the tick pays for.
//
// An entry keeps the low 32 bits of the seq, the tick and the server's ms, the client's clock as
// its offset from the server's (32 bits, signed), the position as floats (as EvidenceEntry does)
// and asked/granted/reach as half floats (11 significant bits: 6.008 reads 6.0078; beyond 65 504
// they read 65 504). unpack() rebuilds the full values against the newest action's (the one the
// flag is raised on): exact while the window spans less than 2^32 ticks and ms and the client's
// clock is within 2^31 ms (24 days) of the server's — past that the offset saturates and the
// entry says so (clock_saturated).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

#include "region/anticheat/detector.h"

namespace worldline::region::anticheat {

struct PackedEvidence {
  std::uint32_t seq = 0, tick = 0, server_ms = 0;  // low 32 bits
  std::int32_t client_offset_ms = 0;               // client − server, saturated
  float x = 0, z = 0;
  std::array<std::uint16_t, 3> asked_granted_reach{};  // IEEE half floats
  std::uint8_t kind = 0;
  // bit 0..1 limit (its low bits), 2 ok, 3 no client clock, 4 no server stamp, 5 clock offset
  // saturated, 6 limit's third bit (Limit::kMissed is 4)
  std::uint8_t bits = 0;
};
static_assert(sizeof(PackedEvidence) == 32);

// The newest action's full values, which the entries are rebuilt against.
struct EvidenceBase {
  std::uint64_t seq = 0, tick = 0, server_ms = 0;
};

// IEEE 754 binary16, rounding to nearest even; out of range saturates, NaN stays NaN.
inline std::uint16_t to_half_rare(std::uint32_t x, std::uint32_t sign) {    // x: |f|'s bits
  if (x > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);   // NaN
  if (x >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7bffu);  // ≥ 65 520: max
  // Below the smallest normal half (2^-14): subnormal or zero.
  if (x < 0x33000000u) return static_cast<std::uint16_t>(sign);  // under half of 2^-24
  const std::uint32_t exp = x >> 23, mant = (x & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126 - exp;  // 14..24 bits off the 24-bit significand
  std::uint32_t h = mant >> shift;
  const std::uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

inline std::uint16_t to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  // The usual case, branch-free: a normal half (2^-14 ≤ |f| < 65 520), rebiased (127 → 15),
  // its 13 dropped bits rounded to nearest even (a carry into the exponent is right; from the
  // largest it cannot happen below 65 520).
  if (x - 0x38800000u < 0x477ff000u - 0x38800000u) {
    const std::uint32_t h = (x >> 13) - (112u << 10);
    return static_cast<std::uint16_t>(sign | (h + ((x & 0x1fffu) + (h & 1) > 0x1000u)));
  }
  return x == 0 ? static_cast<std::uint16_t>(sign) : to_half_rare(x, sign);
}

inline float from_half(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  std::uint32_t x;
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: mant × 2^-24
      float f = static_cast<float>(mant) * (1.0f / 16777216.0f);
      return sign ? -f : f;
    }
  } else {
    x = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// One action packed, from its fields (the detector's hot path: no EvidenceEntry in between).
inline PackedEvidence pack(std::uint64_t seq, std::uint64_t tick, std::uint64_t client_ms,
                           std::uint64_t server_ms, float x, float z, float asked, float granted,
                           float reach, ActionKind kind, Limit limit, bool ok) {
  PackedEvidence p;
  p.seq = static_cast<std::uint32_t>(seq);
  p.tick = static_cast<std::uint32_t>(tick);
  p.server_ms = static_cast<std::uint32_t>(server_ms);
  // The offset in 64-bit two's complement, then saturated to 32 bits.
  const auto offset = static_cast<std::int64_t>(client_ms - server_ms);
  constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min(),
                         hi = std::numeric_limits<std::int32_t>::max();
  const bool saturated = offset < lo || offset > hi;
  p.client_offset_ms = static_cast<std::int32_t>(offset < lo ? lo : offset > hi ? hi : offset);
  p.x = x;
  p.z = z;
  p.asked_granted_reach = {to_half(asked), to_half(granted), to_half(reach)};
  p.kind = static_cast<std::uint8_t>(kind);
  const auto l = static_cast<unsigned>(limit);
  p.bits = static_cast<std::uint8_t>((l & 3u) | (ok ? 4u : 0u) | (client_ms == 0 ? 8u : 0u) |
                                     (server_ms == 0 ? 16u : 0u) | (saturated ? 32u : 0u) |
                                     (l & 4u ? 64u : 0u));
  return p;
}

inline PackedEvidence pack(const EvidenceEntry& e) {
  return pack(e.seq, e.tick, e.client_ms, e.server_ms, e.x, e.z, e.asked, e.granted, e.reach,
              e.kind, e.limit, e.ok);
}

// The entry, its 32-bit fields rebuilt as the latest value at or below the newest's (seq,
// tick, ms only grow along a player's stream).
inline EvidenceEntry unpack(const PackedEvidence& p, const EvidenceBase& newest) {
  const auto back = [](std::uint64_t top, std::uint32_t low) {
    return top - static_cast<std::uint32_t>(static_cast<std::uint32_t>(top) - low);
  };
  EvidenceEntry e;
  e.seq = back(newest.seq, p.seq);
  e.tick = back(newest.tick, p.tick);
  e.server_ms = p.bits & 16u ? 0 : back(newest.server_ms, p.server_ms);
  e.client_ms =
      p.bits & 8u
          ? 0
          : e.server_ms + static_cast<std::uint64_t>(static_cast<std::int64_t>(p.client_offset_ms));
  e.x = p.x;
  e.z = p.z;
  e.asked = from_half(p.asked_granted_reach[0]);
  e.granted = from_half(p.asked_granted_reach[1]);
  e.reach = from_half(p.asked_granted_reach[2]);
  e.kind = static_cast<ActionKind>(p.kind);
  e.limit = static_cast<Limit>((p.bits & 3u) | (p.bits & 64u ? 4u : 0u));
  e.ok = (p.bits & 4u) != 0;
  return e;
}

inline bool clock_saturated(const PackedEvidence& p) {
  return (p.bits & 32u) != 0;
}

struct alignas(64) EvidenceRing {
  std::array<PackedEvidence, kEvidenceWindow> entries{};
};

}  // namespace worldline::region::anticheat
