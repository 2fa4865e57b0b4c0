// The GPT training engine as a whole: one `tiny` step (loss, every gradient, every updated weight) against the
// plain fp64 reference of train-reference.hpp at 1 and 2 threads, for the GPT-2 form and the llama form
// (RMSNorm, RoPE, SwiGLU, untied head, no biases), both attention paths, and bf16 within a looser tolerance;
// a learnable task whose loss must fall; and the memory-fit refusal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "train/gpt.hpp"
#include "train/rng.hpp"
#include "train-reference.hpp"

using namespace versus;
using namespace versus::train;

namespace {

struct Case {
    std::string name;
    GptConfig config;
    Precision precision;
    AttentionImpl attention;
    int threads;
};

// Tolerances, as a fraction of each tensor's largest reference value (gradients) or of the learning rate
// (updated weights: the first AdamW step moves each weight by about lr, so its error is measured in lr).
struct Tolerance {
    double loss_rel, grad, weight_lr;
};
Tolerance tolerance(Precision p) {
    // f32: single-precision rounding through a few thousand operations. bf16: 8-bit mantissas on every GEMM
    // operand; the sign of the smallest gradients may differ, and AdamW's first step turns that into a full lr.
    return p == Precision::F32 ? Tolerance{1e-5, 2e-4, 2e-3} : Tolerance{1e-2, 5e-2, 0};
}

class TrainStep : public ::testing::TestWithParam<Case> {};

TEST_P(TrainStep, MatchesFp64Reference) {
    const Case& k = GetParam();
    const int B = 2, T = 8;
    ThreadPool pool(k.threads);
    GptOptions o;
    o.batch = B;
    o.seq = T;
    o.precision = k.precision;
    o.attention = k.attention;
    o.adamw.lr = 1e-3;
    o.adamw.clip = 0.5;  // below the first step's gradient norm, so clipping takes part
    Gpt gpt(k.config, o, pool);
    const TokenBatch batch = synthetic_batch(k.config.vocab, B, T, 7);
    std::vector<int32_t> targets = batch.targets;
    targets[3] = -1;  // an ignored position
    const ParamLayout& layout = gpt.layout();
    std::vector<double> p0(gpt.params(), gpt.params() + layout.total);

    const auto ref = reference::step(k.config, p0, batch.tokens, targets, B, T, o.adamw);
    const double loss = gpt.forward_backward(batch.tokens.data(), targets.data());
    const Tolerance tol = tolerance(k.precision);
    EXPECT_NEAR(loss, ref.loss, tol.loss_rel * ref.loss);
    ASSERT_GT(ref.grad_norm, o.adamw.clip) << "the case should clip";

    for (const auto& t : layout.tensors) {
        double max_ref = 0, max_err = 0;
        for (int64_t i = t.offset; i < t.offset + t.size(); ++i) {
            max_ref = std::max(max_ref, std::fabs(ref.grads[static_cast<size_t>(i)]));
            max_err = std::max(max_err, std::fabs(gpt.grads()[i] - ref.grads[static_cast<size_t>(i)]));
        }
        EXPECT_LE(max_err, tol.grad * max_ref + 1e-9) << "gradient of " << t.name << " (largest " << max_ref << ")";
    }
    gpt.update();
    EXPECT_NEAR(gpt.last_grad_norm(), ref.grad_norm, tol.loss_rel * 10 * ref.grad_norm);
    int64_t off = 0;
    double worst = 0;
    std::string where;
    for (int64_t i = 0; i < layout.total; ++i) {
        const double e = std::fabs(gpt.params()[i] - ref.params[static_cast<size_t>(i)]);
        if (std::fabs(ref.params[static_cast<size_t>(i)] - p0[static_cast<size_t>(i)]) > 0 && e > worst) worst = e, off = i;
    }
    for (const auto& t : layout.tensors)
        if (off >= t.offset && off < t.offset + t.size()) where = t.name;
    if (k.precision == Precision::F32) {
        EXPECT_LE(worst, tol.weight_lr * o.adamw.lr) << "updated weight in " << where;
    } else {
        // bf16: 95% of the weights within 10% of lr of the reference update.
        int64_t close = 0;
        for (int64_t i = 0; i < layout.total; ++i)
            close += std::fabs(gpt.params()[i] - ref.params[static_cast<size_t>(i)]) <= 0.1 * o.adamw.lr;
        EXPECT_GE(static_cast<double>(close), 0.95 * static_cast<double>(layout.total));
    }
}

std::vector<Case> cases() {
    std::vector<Case> out;
    for (int threads : {1, 2}) {
        out.push_back({"gpt2_fused_t" + std::to_string(threads), gpt_preset("tiny"), Precision::F32, AttentionImpl::FUSED, threads});
        out.push_back({"llama_fused_t" + std::to_string(threads), tiny_llama(), Precision::F32, AttentionImpl::FUSED, threads});
    }
    out.push_back({"gpt2_naive_t2", gpt_preset("tiny"), Precision::F32, AttentionImpl::NAIVE, 2});
    out.push_back({"gpt2_bf16_t2", gpt_preset("tiny"), Precision::BF16, AttentionImpl::FUSED, 2});
    out.push_back({"llama_bf16_t2", tiny_llama(), Precision::BF16, AttentionImpl::FUSED, 2});
    return out;
}

INSTANTIATE_TEST_SUITE_P(Tiny, TrainStep, ::testing::ValuesIn(cases()), [](const auto& i) { return i.param.name; });

// Sequences that repeat with period 8 from random first 8 tokens: from position 8 on, the next token is the one 7
// positions back, which attention can learn; the first 7 targets are unpredictable and ignored.
TokenBatch periodic_batch(int vocab, int B, int T, int period, uint64_t seed) {
    Rng rng(seed);
    TokenBatch out;
    for (int b = 0; b < B; ++b) {
        std::vector<int32_t> row(static_cast<size_t>(T + 1));
        for (int t = 0; t <= T; ++t)
            row[static_cast<size_t>(t)] = t < period ? static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab)))
                                                     : row[static_cast<size_t>(t - period)];
        for (int t = 0; t < T; ++t) {
            out.tokens.push_back(row[static_cast<size_t>(t)]);
            out.targets.push_back(t + 1 >= period ? row[static_cast<size_t>(t + 1)] : -1);
        }
    }
    return out;
}

TEST(TrainGpt, LearnsAPeriodicSequence) {
    // From ln(64) = 4.16 to below 0.5 within 300 steps (each on a fresh batch), on the `tiny` preset.
    const GptConfig c = gpt_preset("tiny");
    ThreadPool pool(2);
    GptOptions o;
    o.batch = 8;
    o.seq = 32;
    o.adamw.lr = 1e-2;
    o.adamw.weight_decay = 0.0;
    Gpt gpt(c, o, pool);
    double first = 0, loss = 0;
    int steps = 0;
    for (; steps < 300; ++steps) {
        const TokenBatch b = periodic_batch(c.vocab, o.batch, o.seq, 8, 100 + static_cast<uint64_t>(steps));
        loss = gpt.step(b.tokens.data(), b.targets.data());
        if (steps == 0) first = loss;
        if (loss < 0.5) break;
    }
    EXPECT_NEAR(first, std::log(64.0), 0.3);
    EXPECT_LT(loss, 0.5) << "after " << steps << " steps";
    std::printf("periodic task: loss %.3f -> %.3f in %d steps\n", first, loss, steps + 1);
}

TEST(TrainGpt, MemoryOfThePresets) {
    GptOptions o;
    o.batch = 4;
    o.seq = 256;
    const GptConfig c = gpt_preset("gpt2-124m");
    const ParamLayout l = param_layout(c);
    EXPECT_EQ(l.total, 124439808);  // GPT-2 small: 124.44M parameters with its biases and position table
    const GptMemory m = gpt_memory(c, o, 2);
    EXPECT_DOUBLE_EQ(m.weights, 4.0 * l.total);
    EXPECT_DOUBLE_EQ(m.optimizer, 8.0 * l.total);
    o.precision = Precision::BF16;
    EXPECT_DOUBLE_EQ(gpt_memory(c, o, 2).weights, 8.0 * l.total);  // masters and the rounded working copy
    // The fused attention keeps a number per query; the naive one seq of them.
    o.batch = 8;
    o.seq = 1024;
    o.attention = AttentionImpl::NAIVE;
    const double naive = gpt_memory(c, o, 2).activations;
    o.attention = AttentionImpl::FUSED;
    EXPECT_GT(naive - gpt_memory(c, o, 2).activations, 12.0 * 8 * 12 * 1023 * 1024 * 4);
    // MFU's numerator: 6 x matmul parameters (blocks + the tied head) + attention.
    EXPECT_EQ(l.n_matmul, 12 * 7077888 + 50257 * 768);
    EXPECT_DOUBLE_EQ(gpt_train_flops_per_token(c, 1024), 6.0 * static_cast<double>(l.n_matmul) + 6.0 * 12 * 768 * 1024);
}

TEST(TrainGpt, RefusesSeqBeyondContext) {
    ThreadPool pool(1);
    GptOptions o;
    o.seq = 33;
    EXPECT_THROW(Gpt(gpt_preset("tiny"), o, pool), UsageError);
    EXPECT_THROW(gpt_preset("gpt-5"), UsageError);
}

}  // namespace
