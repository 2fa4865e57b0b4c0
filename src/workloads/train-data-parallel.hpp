// train-data-parallel: data-parallel training of the GPT engine over the ranks of a job. Each rank runs the
// forward and backward pass on its own micro-batch, the gradients are summed over the ranks (each weighted by its
// share of the counted targets, so the sum is the gradient of the mean loss over the whole batch), and every rank
// applies the same clipping and AdamW update to the same summed gradient.
//
// The weights stay bit-identical across ranks because every rank updates them from the same bytes: the sum is
// one all-reduce whose result every rank receives (MPI forms each element's sum once and copies it, or as a + b on
// one rank and b + a on the other, which IEEE addition makes equal), and the update is elementwise with a
// gradient norm summed in fixed chunks, the same on every rank. weights_fingerprint() lets a run verify it.
#pragma once

#include <cstdint>
#include <memory>

#include "comm/comm.hpp"
#include "train/gpt.hpp"

namespace versus::workloads {

// Sums over the ranks of a job, in place; every rank gets the same bytes. Tests give their own.
class RankSum {
public:
    virtual ~RankSum() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual void sum(float* data, int64_t n) = 0;
    virtual void sum(double* data, int64_t n) = 0;
};

// All-reduces through the job's comm layer; each call waits at most `timeout_s` for the other ranks (a rank
// that died is noticed at once on this host), then throws comm::PeerLost.
std::unique_ptr<RankSum> comm_rank_sum(comm::Comm& c, double timeout_s);

// This rank's micro-batch: sequences [rank x b, (rank + 1) x b) of `global` (ranks x b sequences), so that the
// ranks' micro-batches concatenated are the global batch.
train::TokenBatch micro_batch(const train::TokenBatch& global, int rank, int ranks);

struct DataParallelStep {
    double loss = 0;         // mean loss over the whole batch's counted targets, before the update
    double allreduce_s = 0;  // wall time in the sums, including the wait for the slowest rank
};
// One step: forward and backward on `micro` (this rank's batch x seq tokens), gradients weighted and summed over
// the ranks, then gpt.update() (clipping on the summed gradient, AdamW).
DataParallelStep data_parallel_step(train::Gpt& gpt, RankSum& ranks, cpu::ThreadPool& pool,
                                    const train::TokenBatch& micro);

// A 64-bit hash of n weights' bits: equal on every rank while the weights are bit-identical.
uint64_t weights_fingerprint(const float* weights, int64_t n);
// Whether every rank holds the same fingerprint (an all-gather); the first rank that differs in *differs.
bool same_on_every_rank(comm::Comm& c, uint64_t fingerprint, double timeout_s, int* differs);

}  // namespace versus::workloads
