// SendQueue (replica/send_queue.h): the rules of a peer link's queue, with exact outcomes — a
// transmission of more parts than the window goes out whole and in order; a newer transmission
// supersedes the parts of an older one still waiting; control messages pass waiting parts; a
// session's end counts everything it held.
#include "replica/send_queue.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace worldline::replica {
namespace {

SendQueue::Message part(std::uint64_t transmission, int n) {
  return {transmission, "t" + std::to_string(transmission) + "p" + std::to_string(n)};
}
SendQueue::Message control(const std::string& what) {
  return {0, what};
}

// Everything next() lets out now.
std::vector<std::string> take(SendQueue& q) {
  std::vector<std::string> out;
  while (auto m = q.next())
    out.push_back(m->bytes);
  return out;
}

SendLimits small() {
  SendLimits l;
  l.parts_in_flight = 2;
  l.control_in_flight = 1;
  return l;
}

TEST(SendQueue, ATransmissionOfMorePartsThanTheWindowGoesOutWholeInOrderAsAnswersComeBack) {
  SendQueue q(small());
  for (int i = 0; i < 5; ++i)
    q.push(part(1, i));
  EXPECT_EQ(take(q), (std::vector<std::string>{"t1p0", "t1p1"}));
  EXPECT_EQ(q.parts_waiting(), 3u);
  EXPECT_EQ(q.undelivered(), 5u);
  q.answered(true);
  EXPECT_EQ(take(q), (std::vector<std::string>{"t1p2"}));
  q.answered(true);
  q.answered(true);
  EXPECT_EQ(take(q), (std::vector<std::string>{"t1p3", "t1p4"}));
  q.answered(true);
  q.answered(true);
  EXPECT_EQ(q.undelivered(), 0u);
  EXPECT_EQ(q.counts().answered, 5u);
  EXPECT_EQ(q.counts().superseded + q.counts().dropped + q.counts().failed, 0u);
}

TEST(SendQueue, ANewerTransmissionSupersedesThePartsOfAnOlderOneStillWaitingOnly) {
  SendQueue q(small());
  std::vector<std::string> sent;
  for (int round = 1; round <= 10; ++round) {  // a busy region: a new transmission every round
    for (int i = 0; i < 4; ++i) {
      q.push(part(static_cast<std::uint64_t>(round), i));
      for (auto& m : take(q))  // as the link does after each push
        sent.push_back(m);
    }
  }
  // Round 1's first two parts went out at once; of the rest only round 10's parts wait.
  EXPECT_EQ(sent, (std::vector<std::string>{"t1p0", "t1p1"}));
  EXPECT_EQ(q.parts_waiting(), 4u);
  EXPECT_EQ(q.counts().superseded, 2u + 8 * 4);
  q.answered(true);
  q.answered(true);
  EXPECT_EQ(take(q), (std::vector<std::string>{"t10p0", "t10p1"}));
  // Parts of the transmission that waits, arriving later (a delayed link), join it.
  q.push(part(10, 4));
  EXPECT_EQ(q.parts_waiting(), 3u);
  EXPECT_EQ(q.counts().superseded, 34u);
}

TEST(SendQueue, ControlMessagesPassWaitingPartsWithinAWindowOfTheirOwn) {
  SendQueue q(small());
  for (int i = 0; i < 6; ++i)
    q.push(part(1, i));
  EXPECT_EQ(take(q).size(), 2u);  // the parts' window is full; four wait
  q.push(control("ack"));
  q.push(control("heartbeat"));
  EXPECT_EQ(take(q), (std::vector<std::string>{"ack"}));  // at once, past the waiting parts
  q.answered(true);  // a part's answer: the heartbeat waits for its own lane's window
  EXPECT_EQ(take(q), (std::vector<std::string>{"t1p2"}));
  q.answered(false);
  q.answered(true);
  EXPECT_EQ(take(q), (std::vector<std::string>{"heartbeat", "t1p3"}));
  EXPECT_EQ(q.control_waiting(), 0u);
  EXPECT_EQ(q.parts_waiting(), 2u);
}

TEST(SendQueue, TheEndOfASessionCountsWhatWaitedAsDroppedAndWhatWasInFlightAsFailed) {
  SendQueue q(small());
  for (int i = 0; i < 5; ++i)
    q.push(part(1, i));
  q.push(control("digest"));
  q.push(control("ack"));
  EXPECT_EQ(take(q).size(), 3u);  // two parts and the digest
  q.failed(true);                 // the first answer is a failure: the session is gone
  q.reset();
  EXPECT_EQ(q.counts().failed, 3u);   // that one, the other part and the digest in flight
  EXPECT_EQ(q.counts().dropped, 4u);  // three parts and the ack waiting
  EXPECT_EQ(q.counts().answered, 0u);
  EXPECT_EQ(q.undelivered(), 0u);
  EXPECT_FALSE(q.next().has_value());
  EXPECT_THROW(q.answered(true), std::logic_error);  // nothing of a reset session counts
}

TEST(SendQueue, EachLaneDropsWhatExceedsItsWaitingBudget) {
  SendLimits l = small();
  l.parts_waiting_bytes = 8;    // two parts of four bytes
  l.control_waiting_bytes = 3;  // one "ack"
  SendQueue q(l);
  q.push(part(1, 0));
  q.push(part(1, 1));
  EXPECT_EQ(take(q).size(), 2u);
  for (int i = 2; i < 5; ++i)
    q.push(part(1, i));  // two waiting, one dropped
  q.push(control("ack"));
  EXPECT_EQ(take(q).size(), 1u);  // out at once: room for one more to wait
  q.push(control("ack"));
  q.push(control("ack"));  // over the budget
  EXPECT_EQ(q.parts_waiting(), 2u);
  EXPECT_EQ(q.control_waiting(), 1u);
  EXPECT_EQ(q.counts().dropped, 2u);
}

}  // namespace
}  // namespace worldline::replica
