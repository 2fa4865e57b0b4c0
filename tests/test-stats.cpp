// Statistics on inputs whose answers are worked out by hand.
#include <gtest/gtest.h>

#include <vector>

#include "base/stats.hpp"

using namespace versus::base;

TEST(Stats, MedianOddAndEven) {
    const std::vector<double> odd = {5, 1, 3};
    EXPECT_DOUBLE_EQ(median(odd), 3);
    const std::vector<double> even = {4, 1, 3, 2};
    EXPECT_DOUBLE_EQ(median(even), 2.5);
    EXPECT_DOUBLE_EQ(median(std::vector<double>{}), 0);
}

TEST(Stats, MdapeByHand) {
    // median 10; |dev|/10*100 = 10, 0, 20, 0, 5 -> sorted 0,0,5,10,20 -> median 5
    const std::vector<double> xs = {9, 10, 12, 10, 10.5};
    EXPECT_DOUBLE_EQ(median(xs), 10);
    EXPECT_NEAR(mdape_pct(xs), 5.0, 1e-12);
}

TEST(Stats, MdapeIgnoresOneOutlier) {
    const std::vector<double> xs = {100, 100, 100, 100, 1000};
    EXPECT_DOUBLE_EQ(mdape_pct(xs), 0);
}

TEST(Stats, SummaryAndUnstableFlag) {
    const std::vector<double> steady = {100, 101, 99, 100, 100};
    Summary s = summarize(steady);
    EXPECT_EQ(s.n, 5);
    EXPECT_DOUBLE_EQ(s.median, 100);
    EXPECT_DOUBLE_EQ(s.min, 99);
    EXPECT_DOUBLE_EQ(s.max, 101);
    EXPECT_DOUBLE_EQ(s.mean, 100);
    EXPECT_FALSE(s.unstable());
    const std::vector<double> noisy = {100, 130, 70, 100, 115};  // deviations 0,30,30,0,15 -> 15%
    EXPECT_NEAR(summarize(noisy).mdape_pct, 15, 1e-12);
    EXPECT_TRUE(summarize(noisy).unstable());
}

TEST(Stats, SingleSampleHasNoSpread) {
    const std::vector<double> one = {42};
    EXPECT_DOUBLE_EQ(mdape_pct(one), 0);
    EXPECT_DOUBLE_EQ(summarize_ns(std::vector<int64_t>{42}).median, 42);
}
