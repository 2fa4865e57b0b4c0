// What the data-parallel tests compare: the weights of N ranks after a few data-parallel steps of the `tiny` GPT,
// each rank on its micro-batch, against one process stepping on the concatenated batch. The unit test runs the
// ranks as threads over a fake sum (test-data-parallel.cpp), the MPI test as processes (mpi-data-parallel.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/thread-pool.hpp"
#include "train/gpt.hpp"
#include "workloads/train-data-parallel.hpp"

namespace versus::dptest {

constexpr int STEPS = 3;
constexpr int BATCH_PER_RANK = 2, SEQ = 16;
// The ranks' weights against the one-process reference, in units of the learning rate. They differ only in the
// order f32 sums are taken (a weight's gradient summed over each micro-batch's tokens, then over the ranks, against
// one sum over all tokens): a relative 1e-7 of a typical gradient. AdamW moves a weight by about lr x g / sqrt(v),
// so that rounding costs ~1e-7 lr, except on the few weights whose gradient cancels to near zero, where a rounding
// of the same absolute size is a large part of g: measured, 1.2e-3 lr at most after 3 steps (2 ranks). The limit,
// 1e-2 lr, is f32's; a micro-batch left out or weighted wrongly moves weights by ~1 lr (the tests check that too).
constexpr double TOLERANCE_LR = 1e-2;

inline train::GptOptions options(int batch) {
    train::GptOptions o;
    o.batch = batch;
    o.seq = SEQ;
    o.adamw.lr = 1e-3;
    o.adamw.clip = 0.5;  // below the first steps' gradient norm: clipping acts on the summed gradient
    return o;
}

// The global batch of `ranks` micro-batches; the first targets of rank 0's are ignored, so the ranks count
// different numbers of targets and the weighting of their gradients matters.
inline train::TokenBatch global_batch(int ranks) {
    train::TokenBatch b = train::synthetic_batch(train::gpt_preset("tiny").vocab, ranks * BATCH_PER_RANK, SEQ, 11);
    for (int i = 0; i < 5; ++i) b.targets[static_cast<size_t>(i)] = -1;
    return b;
}

// One process on the whole batch: the weights after STEPS steps, and each step's loss.
inline std::vector<float> reference_weights(int ranks, std::vector<double>* losses) {
    cpu::ThreadPool pool(1);
    train::Gpt gpt(train::gpt_preset("tiny"), options(ranks * BATCH_PER_RANK), pool);
    const train::TokenBatch b = global_batch(ranks);
    for (int s = 0; s < STEPS; ++s) losses->push_back(gpt.step(b.tokens.data(), b.targets.data()));
    return std::vector<float>(gpt.params(), gpt.params() + gpt.layout().total);
}

// One rank: STEPS data-parallel steps on its micro-batch; returns its weights and each step's loss.
inline std::vector<float> rank_weights(workloads::RankSum& sum, std::vector<double>* losses) {
    cpu::ThreadPool pool(1);
    train::Gpt gpt(train::gpt_preset("tiny"), options(BATCH_PER_RANK), pool);
    const train::TokenBatch micro = workloads::micro_batch(global_batch(sum.size()), sum.rank(), sum.size());
    for (int s = 0; s < STEPS; ++s) losses->push_back(workloads::data_parallel_step(gpt, sum, pool, micro).loss);
    return std::vector<float>(gpt.params(), gpt.params() + gpt.layout().total);
}

// max |w - ref| / lr.
inline double max_error_lr(const std::vector<float>& w, const std::vector<float>& ref) {
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i) e = std::max(e, std::fabs(static_cast<double>(w[i]) - ref[i]));
    return e / options(1).adamw.lr;
}

}  // namespace versus::dptest
