#include "replica/histogram.h"

#include <gtest/gtest.h>

#include <cmath>

namespace worldline::replica {
namespace {

TEST(Histogram, CountsPerBucketAndFindsTheQuantileBucket) {
  Histogram h({1, 10, 100});
  EXPECT_EQ(h.quantile_bound(0.99), 0);  // empty
  for (int i = 0; i < 90; ++i)
    h.record(0.5);
  for (int i = 0; i < 9; ++i)
    h.record(10);  // a value on a bound counts in that bucket
  h.record(5000);
  EXPECT_EQ(h.count(), 100u);
  const auto b = h.buckets();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0], (std::pair<double, std::uint64_t>{1, 90}));
  EXPECT_EQ(b[1], (std::pair<double, std::uint64_t>{10, 9}));
  EXPECT_EQ(b[2].second, 0u);
  EXPECT_TRUE(std::isinf(b[3].first));
  EXPECT_EQ(b[3].second, 1u);
  EXPECT_EQ(h.quantile_bound(0.5), 1);
  EXPECT_EQ(h.quantile_bound(0.99), 10);
  EXPECT_TRUE(std::isinf(h.quantile_bound(1.0)));
}

}  // namespace
}  // namespace worldline::replica
