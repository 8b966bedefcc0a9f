// Runs the whole-node simulation (node_simulation.h) over many seeds. Each failing seed prints the
// invariant it broke and the line that replays it, with logs:
//   WORLDLINE_SIM_SEED=<seed> WORLDLINE_SIM_LOG=1 ./tests/node/node_tests --gtest_filter=<test>
// More seeds by hand: WORLDLINE_SIM_SEEDS=<count> runs that many from each shard's first seed.
#include <gtest/gtest.h>

#include <tuple>

#include <cstdio>
#include <cstdlib>

#include "tests/node/node_simulation.h"
#include "tests/support/sim_seeds.h"

namespace worldline::testing {
namespace {

void run_seeds(std::uint64_t from, std::uint64_t count) {
  std::tie(from, count) = sim_seeds(from, count);
  NodeSimResult total;
  std::uint64_t k_runs = 0;
  for (std::uint64_t seed = from; seed < from + count; ++seed) {
    const NodeSimResult r = run_node_simulation(seed);
    ASSERT_TRUE(r.ok) << "node simulation seed " << seed << " failed: " << r.detail
                      << "\n  replay: WORLDLINE_SIM_SEED=" << seed
                      << " WORLDLINE_SIM_LOG=1 ./tests/node/node_tests --gtest_filter="
                      << ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()
                      << "." << ::testing::UnitTest::GetInstance()->current_test_info()->name();
    total.actions += r.actions;
    total.acked += r.acked;
    total.applied_twice += r.applied_twice;
    total.told_lost += r.told_lost;
    total.crashes += r.crashes;
    total.corruptions += r.corruptions;
    total.failovers += r.failovers;
    total.second_device += r.second_device;
    total.messages += r.messages;
    total.acks_checked += r.acks_checked;
    total.player_acks_checked += r.player_acks_checked;
    total.sim_ms += r.sim_ms;
    total.late_copies += r.late_copies;
    total.repair_rushes += r.repair_rushes;
    total.long_partitions += r.long_partitions;
    k_runs += r.replicated_k > 0 ? 1 : 0;
  }
  if (count >= 100) {  // a shard exercises every fault it is meant to, and checks acks
    EXPECT_GT(k_runs, 0u);
    EXPECT_GT(total.crashes, 0u);
    EXPECT_GT(total.corruptions, 0u);
    EXPECT_GT(total.failovers, 0u);
    EXPECT_GT(total.told_lost, 0u);
    EXPECT_GT(total.late_copies, 0u);
    EXPECT_GT(total.repair_rushes, 0u);
    EXPECT_GT(total.long_partitions, 0u);
    EXPECT_GT(total.acks_checked, 0u);
    EXPECT_GT(total.player_acks_checked, 0u);
  }
  std::printf(
      "node simulation seeds %llu..%llu (%llu under replicated:k): %llu s simulated, %llu actions "
      "(%llu acknowledged, %llu resent ones applied in two regions, %llu lost claims told), "
      "%llu crashes, %llu damaged records (%llu with players rushing back), %llu long partitions, "
      "%llu failovers, %llu actions from second devices, %llu messages (%llu late copies), "
      "%llu replica acks and %llu player acks checked\n",
      static_cast<unsigned long long>(from), static_cast<unsigned long long>(from + count - 1),
      static_cast<unsigned long long>(k_runs), static_cast<unsigned long long>(total.sim_ms / 1000),
      static_cast<unsigned long long>(total.actions), static_cast<unsigned long long>(total.acked),
      static_cast<unsigned long long>(total.applied_twice),
      static_cast<unsigned long long>(total.told_lost),
      static_cast<unsigned long long>(total.crashes),
      static_cast<unsigned long long>(total.corruptions),
      static_cast<unsigned long long>(total.repair_rushes),
      static_cast<unsigned long long>(total.long_partitions),
      static_cast<unsigned long long>(total.failovers),
      static_cast<unsigned long long>(total.second_device),
      static_cast<unsigned long long>(total.messages),
      static_cast<unsigned long long>(total.late_copies),
      static_cast<unsigned long long>(total.acks_checked),
      static_cast<unsigned long long>(total.player_acks_checked));
}

// 1 000 seeds in eight shards, so ctest runs them side by side.
TEST(NodeSimulation, Seeds1To125) {
  run_seeds(1, 125);
}
TEST(NodeSimulation, Seeds126To250) {
  run_seeds(126, 125);
}
TEST(NodeSimulation, Seeds251To375) {
  run_seeds(251, 125);
}
TEST(NodeSimulation, Seeds376To500) {
  run_seeds(376, 125);
}
TEST(NodeSimulation, Seeds501To625) {
  run_seeds(501, 125);
}
TEST(NodeSimulation, Seeds626To750) {
  run_seeds(626, 125);
}
TEST(NodeSimulation, Seeds751To875) {
  run_seeds(751, 125);
}
TEST(NodeSimulation, Seeds876To1000) {
  run_seeds(876, 125);
}

}  // namespace
}  // namespace worldline::testing
