// The fuzz cases of the CRDT decoders, one per type, compiled once (crdt_decode_cases.cc) and
// shared by the fuzz_decode_<type> targets: each target's own file only names its case, so the
// codec's templates are instantiated in one translation unit rather than fourteen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace worldline::crdt::fuzz {

enum class DecodeCase {
  kGCounter,
  kPNCounter,
  kBoundedCounter,
  kLwwInt,
  kLwwVec3,
  kMvText,
  kAwOrSetInt,
  kCausalCounter,
  kInventory,
  kNestedMap,
  kMaxWinsInt,
  kMinWinsInt,
  kEntityAuthority,
  kFirstClaim,
};

// Valid encodings of a few values of the case's type, for the standalone driver to mutate.
std::vector<std::string> decode_seeds(DecodeCase c);

// Decodes the input as the case's type; aborts with the value printed if an accepted input does
// not re-encode to itself or join with itself to itself, or if a refusal has no reason.
void decode_one(DecodeCase c, const std::uint8_t* data, std::size_t size);

}  // namespace worldline::crdt::fuzz
