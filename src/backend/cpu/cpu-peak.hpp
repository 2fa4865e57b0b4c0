// cpu-peak: the f32 FMA peak of the CPU backend's threads, the figure every CPU row's % of peak is
// measured against. A descheduled thread in a short timing window halves a one-shot measurement (and
// rows then print far above 100%), so the peak is the best each thread has shown over many short
// rounds in the group, and it is topped up with a few more rounds every time it is asked for: it only
// rises, towards what the cores can do.
#pragma once

#include <span>
#include <vector>

#include "backend/cpu/thread-pool.hpp"

namespace versus::cpu {

class FmaPeak {
public:
    // One round: each thread's FMA rate in FLOP/s, measured while every thread ran the loop.
    void add_round(std::span<const double> thread_rates);
    // Sum over threads of each thread's best rate.
    double total() const;
    int rounds() const { return rounds_; }
    // At least MIN_ROUNDS rounds, and the last SETTLE_ROUNDS raised the total by less than SETTLE_GAIN.
    bool settled() const;

    static constexpr int MIN_ROUNDS = 5;
    static constexpr int MAX_ROUNDS = 40;
    static constexpr int SETTLE_ROUNDS = 3;
    static constexpr double SETTLE_GAIN = 0.005;
    static constexpr int TOP_UP_ROUNDS = 3;  // added at every later query

private:
    std::vector<double> best_;
    std::vector<double> totals_;  // total() after each round
    int rounds_ = 0;
};

// Runs rounds on every pool thread until the peak is settled (at most MAX_ROUNDS), or TOP_UP_ROUNDS
// when it already is.
void measure_fma_peak(ThreadPool& pool, FmaPeak& peak);

}  // namespace versus::cpu
