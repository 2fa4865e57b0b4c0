#include "backend/cpu/cpu-peak.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu {

namespace {

// Iterations of the best rung's FMA loop per thread and round: about a millisecond, short enough that
// most rounds see no time slice end on a busy machine.
constexpr int64_t ROUND_ITERS = 200'000;

void run_round(ThreadPool& pool, FmaPeak& peak) {
    const auto& k = kernels_best();
    std::vector<double> rate(pool.size());
    pool.run([&](int t, int) {
        const auto t0 = std::chrono::steady_clock::now();
        const double flops = k.fma_loop(ROUND_ITERS);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rate[t] = s > 0 ? flops / s : 0;
    });
    peak.add_round(rate);
}

}  // namespace

void FmaPeak::add_round(std::span<const double> thread_rates) {
    if (best_.size() < thread_rates.size()) best_.resize(thread_rates.size(), 0.0);
    for (size_t t = 0; t < thread_rates.size(); ++t) best_[t] = std::max(best_[t], thread_rates[t]);
    ++rounds_;
    totals_.push_back(total());
}

double FmaPeak::total() const { return std::accumulate(best_.begin(), best_.end(), 0.0); }

bool FmaPeak::settled() const {
    if (rounds_ < MIN_ROUNDS || totals_.size() <= SETTLE_ROUNDS) return false;
    const double before = totals_[totals_.size() - 1 - SETTLE_ROUNDS];
    return before > 0 && totals_.back() <= before * (1 + SETTLE_GAIN);
}

void measure_fma_peak(ThreadPool& pool, FmaPeak& peak) {
    if (peak.settled()) {
        for (int i = 0; i < FmaPeak::TOP_UP_ROUNDS; ++i) run_round(pool, peak);
        return;
    }
    // The first rounds also warm up clocks and the pool.
    for (int i = 0; i < FmaPeak::MAX_ROUNDS && !peak.settled(); ++i) run_round(pool, peak);
}

}  // namespace versus::cpu
