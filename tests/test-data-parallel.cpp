// Data-parallel training without MPI: the ranks are threads summing through a fake RankSum (every rank receives
// the same bytes, summed in rank order, as an all-reduce gives them). N ranks on N micro-batches end with
// bit-identical weights, within data-parallel-check.hpp's tolerance of one process on the concatenated batch;
// micro-batches concatenate to the global batch; the workload says why it skips without ranks.
#include <gtest/gtest.h>

#include <barrier>
#include <cstring>
#include <thread>

#include "core/runner.hpp"
#include "data-parallel-check.hpp"
#include "record-rows.hpp"
#include "workloads/workload.hpp"

using namespace versus;

namespace {

// n ranks as threads of one process.
class ThreadWorld {
public:
    explicit ThreadWorld(int n) : n_(n), sync_(n), in_(static_cast<size_t>(n)) {}

    // Every rank passes its buffer; rank 0 sums them in rank order; every rank copies the sum.
    template <typename T>
    void sum(int rank, T* data, int64_t n) {
        in_[static_cast<size_t>(rank)] = data;
        sync_.arrive_and_wait();
        if (rank == 0) {
            out_.assign(static_cast<size_t>(n) * sizeof(T), 0);
            auto* acc = reinterpret_cast<T*>(out_.data());
            for (int r = 0; r < n_; ++r)
                for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<const T*>(in_[static_cast<size_t>(r)])[i];
        }
        sync_.arrive_and_wait();
        std::memcpy(data, out_.data(), static_cast<size_t>(n) * sizeof(T));
        sync_.arrive_and_wait();
    }
    int size() const { return n_; }

private:
    int n_;
    std::barrier<> sync_;
    std::vector<const void*> in_;
    std::vector<char> out_;
};

class ThreadRankSum : public workloads::RankSum {
public:
    ThreadRankSum(ThreadWorld& w, int rank) : w_(w), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return w_.size(); }
    void sum(float* data, int64_t n) override { w_.sum(rank_, data, n); }
    void sum(double* data, int64_t n) override { w_.sum(rank_, data, n); }

private:
    ThreadWorld& w_;
    int rank_;
};

}  // namespace

TEST(DataParallelTraining, MicroBatchesConcatenateToTheGlobalBatch) {
    const train::TokenBatch global = train::synthetic_batch(64, 6, 5, 3);
    train::TokenBatch joined;
    for (int r = 0; r < 3; ++r) {
        const train::TokenBatch m = workloads::micro_batch(global, r, 3);
        EXPECT_EQ(m.tokens.size(), 10u);
        joined.tokens.insert(joined.tokens.end(), m.tokens.begin(), m.tokens.end());
        joined.targets.insert(joined.targets.end(), m.targets.begin(), m.targets.end());
    }
    EXPECT_EQ(joined.tokens, global.tokens);
    EXPECT_EQ(joined.targets, global.targets);
}

class DataParallelRanks : public ::testing::TestWithParam<int> {};

TEST_P(DataParallelRanks, MatchOneProcessOnTheConcatenatedBatch) {
    const int n = GetParam();
    std::vector<double> ref_losses;
    const std::vector<float> ref = dptest::reference_weights(n, &ref_losses);
    ThreadWorld world(n);
    std::vector<std::vector<float>> weights(static_cast<size_t>(n));
    std::vector<std::vector<double>> losses(static_cast<size_t>(n));
    std::vector<std::thread> ranks;
    for (int r = 0; r < n; ++r)
        ranks.emplace_back([&, r] {
            ThreadRankSum sum(world, r);
            weights[static_cast<size_t>(r)] = dptest::rank_weights(sum, &losses[static_cast<size_t>(r)]);
        });
    for (auto& t : ranks) t.join();
    for (int r = 0; r < n; ++r) {
        // The same summed gradient, the same update: the same bits on every rank.
        EXPECT_EQ(std::memcmp(weights[r].data(), weights[0].data(), weights[0].size() * sizeof(float)), 0)
            << "rank " << r;
        for (int s = 0; s < dptest::STEPS; ++s) EXPECT_NEAR(losses[r][s], ref_losses[s], 1e-5 * ref_losses[s]);
    }
    const double err = dptest::max_error_lr(weights[0], ref);
    EXPECT_LT(err, dptest::TOLERANCE_LR) << n << " ranks against one process: " << err << " lr";
    // A rank that sat out (its gradient never added) is caught: the check is not vacuous.
    std::vector<double> one_losses;
    ThreadWorld alone(1);
    ThreadRankSum solo(alone, 0);
    EXPECT_GT(dptest::max_error_lr(dptest::rank_weights(solo, &one_losses), ref), 10 * dptest::TOLERANCE_LR);
}

INSTANTIATE_TEST_SUITE_P(Ranks, DataParallelRanks, ::testing::Values(2, 3));
