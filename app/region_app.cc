#include "app/region_app.h"

namespace worldline::app {

RegionApp::RegionApp(RegionAppOptions options, crdt::PhysicalClock& wall)
    : options_(std::move(options)), wall_(wall), rules_(options_.game) {}

RegionApp::~RegionApp() = default;

bool RegionApp::start(replica::Replica& world) {
  clock_ = std::make_unique<crdt::HlcClock>(world.id(), wall_, options_.max_clock_skew_ms);
  world.set_clock(clock_.get());  // peers' stamps merge into it (the app outlives the replica)
  pipeline_ = std::make_unique<region::RegionPipeline>(options_.pipeline, options_.rules, rules_,
                                                       world, *clock_);
  host_ = std::make_unique<gateway::RegionHost>(options_.host, *pipeline_, rules_, world, *clock_);
  return true;
}

void RegionApp::tick(replica::Replica&, std::uint64_t now_ms) {
  host_->tick(++tick_, now_ms);
}

void RegionApp::after_commit(const replica::Replica&, bool durable, std::optional<std::uint64_t>,
                             std::uint64_t now_ms) {
  // Acks only for what is durable: on a journal failure the group stays open and the next
  // successful commit publishes these outcomes.
  if (durable) host_->publish(now_ms);
}

}  // namespace worldline::app
