// A libFuzzer-compatible driver for compilers without -fsanitize=fuzzer (gcc): replays files
// named on the command line, then feeds a fixed, seeded number of mutations of the target's seed
// encodings — byte flips, truncations, insertions, splices and pure noise. The same seed gives the
// same inputs, so a failure found here is found again on demand; the seed is printed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
std::vector<std::string> worldline_fuzz_seeds();

namespace {

std::string mutate(std::string s, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  const int rounds = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < rounds; ++i) {
    switch (pick(6)) {
      case 0:  // flip a byte
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 + pick(255));
        break;
      case 1:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 2:  // insert random bytes
        s.insert(pick(s.size() + 1), std::string(1 + pick(8), static_cast<char>(pick(256))));
        break;
      case 3: {  // duplicate a slice
        const std::size_t at = pick(s.size() + 1);
        s.insert(at, s.substr(pick(s.size() + 1), pick(16)));
        break;
      }
      case 4:  // set a byte to an interesting value
        if (!s.empty())
          s[pick(s.size())] = static_cast<char>(std::vector<int>{0, 1, 0x7f, 0x80, 0xff}[pick(5)]);
        break;
      default: {  // pure noise
        s.assign(pick(64), '\0');
        for (char& c : s)
          c = static_cast<char>(pick(256));
      }
    }
  }
  return s;
}

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iterations = 20000;
  std::uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) {
      iterations = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      files.emplace_back(argv[i]);
    }
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    run(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  std::printf("standalone fuzz driver: seed %llu, %llu iterations\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(iterations));
  const auto seeds = worldline_fuzz_seeds();
  for (const auto& s : seeds)
    run(s);
  std::mt19937_64 rng(seed);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    run(mutate(seeds[std::uniform_int_distribution<std::size_t>(0, seeds.size() - 1)(rng)], rng));
  }
  std::printf("done: no crash, no invariant broken\n");
  return 0;
}
