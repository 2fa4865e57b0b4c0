#include "workloads/train-data-parallel.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

namespace versus::workloads {
namespace {

// MPI counts are ints: larger buffers go in pieces of this many elements.
constexpr int64_t MAX_ELEMS_PER_CALL = int64_t{1} << 30;
constexpr int64_t SCALE_GRAIN = 1 << 16;

class CommRankSum : public RankSum {
public:
    CommRankSum(comm::Comm& c, double timeout_s) : c_(c), timeout_s_(timeout_s) {}
    int rank() const override { return c_.rank(); }
    int size() const override { return c_.size(); }
    void sum(float* data, int64_t n) override { reduce(VERSUS_COLL_F32, data, n, sizeof(float)); }
    void sum(double* data, int64_t n) override { reduce(VERSUS_COLL_F64, data, n, sizeof(double)); }

private:
    void reduce(versus_coll_dtype dtype, void* data, int64_t n, size_t elem) {
        auto* bytes = static_cast<char*>(data);
        for (int64_t at = 0; at < n; at += MAX_ELEMS_PER_CALL) {
            const auto count = static_cast<uint64_t>(std::min(MAX_ELEMS_PER_CALL, n - at));
            void* p = bytes + static_cast<size_t>(at) * elem;
            // send == recv: in place (comm-abi.h).
            c_.collective({VERSUS_COLL_ALL_REDUCE, dtype, 0, 0, count, p, p}, timeout_s_);
        }
    }

    comm::Comm& c_;
    double timeout_s_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::unique_ptr<RankSum> comm_rank_sum(comm::Comm& c, double timeout_s) {
    return std::make_unique<CommRankSum>(c, timeout_s);
}

train::TokenBatch micro_batch(const train::TokenBatch& global, int rank, int ranks) {
    const size_t per_rank = global.tokens.size() / static_cast<size_t>(std::max(1, ranks));
    const size_t lo = static_cast<size_t>(rank) * per_rank;
    train::TokenBatch out;
    out.tokens.assign(global.tokens.begin() + static_cast<std::ptrdiff_t>(lo),
                      global.tokens.begin() + static_cast<std::ptrdiff_t>(lo + per_rank));
    out.targets.assign(global.targets.begin() + static_cast<std::ptrdiff_t>(lo),
                       global.targets.begin() + static_cast<std::ptrdiff_t>(lo + per_rank));
    return out;
}

DataParallelStep data_parallel_step(train::Gpt& gpt, RankSum& ranks, cpu::ThreadPool& pool,
                                    const train::TokenBatch& micro) {
    DataParallelStep out;
    const double loss = gpt.forward_backward(micro.tokens.data(), micro.targets.data());
    const double counted = static_cast<double>(
        std::count_if(micro.targets.begin(), micro.targets.end(), [](int32_t t) { return t >= 0; }));
    const auto t0 = std::chrono::steady_clock::now();
    // The whole batch's counted targets and summed loss (exact in f64: counts and sums of a few values).
    double head[2] = {counted, loss * counted};
    ranks.sum(head, 2);
    out.allreduce_s += seconds_since(t0);
    out.loss = head[0] > 0 ? head[1] / head[0] : 0.0;
    // This rank's gradient is of its own mean loss: weighted by its share of the targets, the sum over the ranks is
    // the gradient of the mean over the whole batch.
    const float w = head[0] > 0 ? static_cast<float>(counted / head[0]) : 0.0f;
    float* g = gpt.grads();
    const int64_t n = gpt.layout().total;
    if (w != 1.0f)
        pool.parallel_for(n, SCALE_GRAIN, [=](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) g[i] *= w;
        });
    const auto t1 = std::chrono::steady_clock::now();
    ranks.sum(g, n);
    out.allreduce_s += seconds_since(t1);
    gpt.update();
    return out;
}

uint64_t weights_fingerprint(const float* p, int64_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(n);
    for (int64_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, p + i, sizeof bits);
        h = (h ^ bits) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

bool same_on_every_rank(comm::Comm& c, uint64_t fingerprint, double timeout_s, int* differs) {
    // Two 32-bit halves, each exact in a double (the all-gather moves f64).
    const double mine[2] = {static_cast<double>(fingerprint >> 32), static_cast<double>(fingerprint & 0xffffffffu)};
    std::vector<double> all(2 * static_cast<size_t>(c.size()));
    c.collective({VERSUS_COLL_ALL_GATHER, VERSUS_COLL_F64, 0, 0, 2, mine, all.data()}, timeout_s);
    for (int r = 0; r < c.size(); ++r)
        if (all[2 * r] != mine[0] || all[2 * r + 1] != mine[1]) {
            *differs = r;
            return false;
        }
    return true;
}

}  // namespace versus::workloads
