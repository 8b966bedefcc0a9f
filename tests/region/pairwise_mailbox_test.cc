// PairwiseMailbox: what is posted from one worker to another is drained by the receiver alone, in
// sender then posting order, exactly once; every (sender, receiver) pair is a list of its own.
#include "region/pairwise_mailbox.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace worldline::region {
namespace {

// What drain(to) hands out, in order.
std::vector<std::string> drained(PairwiseMailbox<std::string>& box, int to) {
  std::vector<std::string> out;
  box.drain(to, [&out](std::string& m) { out.push_back(std::move(m)); });
  return out;
}

TEST(PairwiseMailbox, DrainHandsTheReceiverItsMessagesBySenderThenInPostingOrder) {
  PairwiseMailbox<std::string> box(3);
  EXPECT_EQ(box.parties(), 3);
  box.post(2, 1, "2→1 first");
  box.post(0, 1, "0→1 first");
  box.post(2, 1, "2→1 second");
  box.post(1, 1, "1→1");
  box.post(0, 1, "0→1 second");
  EXPECT_EQ(box.size(), 5u);
  EXPECT_EQ(drained(box, 1), (std::vector<std::string>{"0→1 first", "0→1 second", "1→1",
                                                       "2→1 first", "2→1 second"}));
}

TEST(PairwiseMailbox, DrainEmptiesWhatItHandedOut) {
  PairwiseMailbox<std::string> box(2);
  box.post(0, 1, "a");
  box.post(1, 1, "b");
  EXPECT_EQ(drained(box, 1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(box.size(), 0u);
  EXPECT_TRUE(drained(box, 1).empty());
  // The lists are used again, tick after tick.
  box.post(1, 1, "c");
  EXPECT_EQ(box.size(), 1u);
  EXPECT_EQ(drained(box, 1), (std::vector<std::string>{"c"}));
}

TEST(PairwiseMailbox, PairsAreIndependent) {
  PairwiseMailbox<std::string> box(2);
  box.post(0, 0, "0→0");
  box.post(0, 1, "0→1");
  box.post(1, 0, "1→0");
  box.post(1, 1, "1→1");
  // Draining one receiver leaves the other's messages, from every sender, where they are.
  EXPECT_EQ(drained(box, 0), (std::vector<std::string>{"0→0", "1→0"}));
  EXPECT_EQ(box.size(), 2u);
  EXPECT_TRUE(drained(box, 0).empty());
  EXPECT_EQ(drained(box, 1), (std::vector<std::string>{"0→1", "1→1"}));
  EXPECT_EQ(box.size(), 0u);
}

TEST(PairwiseMailbox, PostBuildsTheMessageInPlaceAndDrainMayMoveItOut) {
  PairwiseMailbox<std::pair<int, std::unique_ptr<int>>> box(2);
  auto& posted = box.post(1, 0, 7, std::make_unique<int>(42));  // a move-only message
  EXPECT_EQ(posted.first, 7);
  std::vector<std::pair<int, std::unique_ptr<int>>> got;
  box.drain(0, [&got](auto& m) { got.push_back(std::move(m)); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, 7);
  ASSERT_NE(got[0].second, nullptr);
  EXPECT_EQ(*got[0].second, 42);
  EXPECT_EQ(box.size(), 0u);
}

}  // namespace
}  // namespace worldline::region
