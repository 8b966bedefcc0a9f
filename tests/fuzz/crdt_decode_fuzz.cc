// Fuzz target for one CRDT decoder, chosen at build time by WORLDLINE_FUZZ_T (a DecodeCase name
// without its k); the checks are in crdt_decode_cases.cc.
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/crdt_decode_cases.h"

#define WORLDLINE_CONCAT2(a, b) a##b
#define WORLDLINE_CONCAT(a, b) WORLDLINE_CONCAT2(a, b)

namespace {
constexpr auto kCase = worldline::crdt::fuzz::DecodeCase::WORLDLINE_CONCAT(k, WORLDLINE_FUZZ_T);
}

std::vector<std::string> worldline_fuzz_seeds() {
  return worldline::crdt::fuzz::decode_seeds(kCase);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  worldline::crdt::fuzz::decode_one(kCase, data, size);
  return 0;
}
