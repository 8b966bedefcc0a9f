// ActionObserver: a side tap on the region's ordered action stream (DESIGN.md: anticheat,
// director, metrics). The pipeline calls it with each action and the outcome of its actor's half,
// on the worker that ran it, in the order the actor's actions were processed.
#pragma once

#include <cstdint>

#include "region/action.h"

namespace worldline::region {

struct Outcome;

class ActionObserver {
 public:
  // REQUIRES: thread safe for different actors (workers call it at once for actors of different
  // cells); one actor's calls come from one thread per tick, in processing order. Called during
  // the tick's phase 1: keep it cheap, and never touch the world.
  virtual void observe(const Action& action, const Outcome& actor_half, std::uint64_t tick) = 0;

 protected:
  ~ActionObserver() = default;
};

}  // namespace worldline::region
