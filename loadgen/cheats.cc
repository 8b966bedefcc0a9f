#include "loadgen/cheats.h"

#include <algorithm>
#include <charconv>

namespace worldline::loadgen {
namespace {

constexpr Behaviour kAll[] = {
    Behaviour::kHonest,     Behaviour::kSpeed10,   Behaviour::kSpeed50,
    Behaviour::kTeleport,   Behaviour::kFastClock, Behaviour::kRapidFire,
    Behaviour::kRegularBot, Behaviour::kLagSpikes, Behaviour::kSkilled,
};

crdt::Error bad(std::string message) {
  return crdt::Error{crdt::ErrorCode::kInvalidArgument, std::move(message)};
}

// Just under the region's longest single move (move_max_step_ticks, 3): a step of exactly three
// ticks' worth, written with two decimals, may come out a hair longer, and longer is a jump.
constexpr double kLongestStepTicks = 2.9;

}  // namespace

const char* to_string(Behaviour b) {
  switch (b) {
    case Behaviour::kHonest:
      return "honest";
    case Behaviour::kSpeed10:
      return "speed10";
    case Behaviour::kSpeed50:
      return "speed50";
    case Behaviour::kTeleport:
      return "teleport";
    case Behaviour::kFastClock:
      return "clock5";
    case Behaviour::kRapidFire:
      return "rapid_fire";
    case Behaviour::kRegularBot:
      return "regular_bot";
    case Behaviour::kLagSpikes:
      return "lag_spikes";
    case Behaviour::kSkilled:
      return "skilled";
  }
  return "?";
}

bool is_cheat(Behaviour b) {
  return b != Behaviour::kHonest && b != Behaviour::kLagSpikes && b != Behaviour::kSkilled;
}

crdt::Result<Population> parse_population(std::string_view text, bool cheats) {
  Population out;
  std::string want;
  for (Behaviour b : kAll) {
    if (b != Behaviour::kHonest && is_cheat(b) == cheats)
      want += std::string(want.empty() ? "" : ", ") + to_string(b);
  }
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return bad("'" + std::string(item) + "': want kind=count (kinds: " + want + ")");
    const std::string_view name = item.substr(0, eq), number = item.substr(eq + 1);
    std::optional<Behaviour> kind;
    for (Behaviour b : kAll) {
      if (b != Behaviour::kHonest && is_cheat(b) == cheats && name == to_string(b)) kind = b;
    }
    if (!kind) return bad("unknown kind '" + std::string(name) + "' (kinds: " + want + ")");
    std::uint64_t count = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc() || end != number.data() + number.size() || number.empty())
      return bad("'" + std::string(item) + "': the count is not a whole number");
    if (count > 0) out.push_back({*kind, count});
  }
  return out;
}

Behaviour behaviour_of(const Population& population, std::uint64_t index) {
  for (const PopulationGroup& g : population) {
    if (index < g.count) return g.behaviour;
    index -= g.count;
  }
  return Behaviour::kHonest;
}

std::string labels(const Population& population, std::uint64_t first_player) {
  std::string out;
  std::uint64_t next = first_player;
  for (const PopulationGroup& g : population) {
    out += std::string(to_string(g.behaviour)) + ": players " + std::to_string(next) + "-" +
           std::to_string(next + g.count - 1) + "\n";
    next += g.count;
  }
  return out;
}

double Conduct::step(double elapsed_ms, double speed_per_tick, double tick_ms) const {
  const double ticks = std::max(0.0, elapsed_ms) / tick_ms;
  switch (behaviour_) {
    case Behaviour::kSkilled:
      return speed_per_tick * std::min(ticks, kLongestStepTicks);
    case Behaviour::kSpeed10:
      return 1.1 * speed_per_tick * std::min(ticks, kLongestStepTicks);
    case Behaviour::kSpeed50:
      return 1.5 * speed_per_tick * std::min(ticks, kLongestStepTicks);
    default:
      return speed_per_tick * std::min(ticks, 1.0);
  }
}

double Conduct::next_wait_ms(double period_ms) {
  switch (behaviour_) {
    case Behaviour::kRegularBot:
      return period_ms;
    case Behaviour::kFastClock:
      return period_ms / 1.05 * std::uniform_real_distribution<double>(0.6, 1.4)(rng_);
    default:
      return period_ms * std::uniform_real_distribution<double>(0.6, 1.4)(rng_);
  }
}

std::uint64_t Conduct::claimed_ms(std::uint64_t now_ms, std::uint64_t start_ms) const {
  if (behaviour_ != Behaviour::kFastClock || now_ms < start_ms) return now_ms;
  return start_ms + (now_ms - start_ms) * 105 / 100;
}

std::optional<double> Conduct::jump_due(std::uint64_t now_ms) {
  if (behaviour_ != Behaviour::kTeleport) return std::nullopt;
  std::uniform_int_distribution<std::uint64_t> every(3000, 6000);
  if (next_jump_ms_ == 0) next_jump_ms_ = now_ms + every(rng_);
  if (now_ms < next_jump_ms_) return std::nullopt;
  next_jump_ms_ = now_ms + every(rng_);
  return std::uniform_real_distribution<double>(40, 80)(rng_);
}

bool Conduct::stalled(std::uint64_t now_ms) {
  if (behaviour_ != Behaviour::kLagSpikes) return false;
  if (now_ms >= stall_until_ms_) {  // plan the next stall
    stall_from_ms_ = now_ms + std::uniform_int_distribution<std::uint64_t>(3000, 15000)(rng_);
    stall_until_ms_ =
        stall_from_ms_ + std::uniform_int_distribution<std::uint64_t>(300, 1000)(rng_);
  }
  return now_ms >= stall_from_ms_;
}

}  // namespace worldline::loadgen
