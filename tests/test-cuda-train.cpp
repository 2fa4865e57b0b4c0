// test-cuda-train: the CUDA plugin's training steps (backend-abi.h, train_*). With a GPU: one tiny GPT step
// (GPT-2's form and llama's: RMSNorm, RoPE, SwiGLU, untied head) against the CPU engine's, the loss, every
// gradient and the updated weights, f32 tightly and bf16 within a looser bound; fused attention against naive
// on the device; a fixed batch the GPU step learns; a narrow ResNet-50 through cuDNN overfitting its batch.
// Without a GPU those are skipped with the plugin's reason. Always: the table's configuration carries the
// engine's parameter layout.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "test-cuda.hpp"
#include "train/device-config.hpp"
#include "train/gpt.hpp"
#include "train/resnet.hpp"
#include "train-reference.hpp"

using namespace versus;
using namespace versus::train;

namespace {

// The CUDA backend when it can run `op`, else the test skips with the reason.
#define REQUIRE_TRAINING_GPU(var, op)                                                    \
    std::string skip_why_;                                                               \
    backend::Backend* var = test::cuda_backend(&skip_why_);                              \
    if (var && !var->supports(0, op, VERSUS_DTYPE_F32, &skip_why_)) var = nullptr;       \
    if (!var) VERSUS_SKIP_WITHOUT_GPU(skip_why_)

double nmse(const float* got, const float* ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        num += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
        den += double(ref[i]) * ref[i];
    }
    return den > 0 ? num / den : num;
}

// A device step of the engine's configuration, freed with the test.
struct DeviceGpt {
    backend::Backend& b;
    DeviceGptConfig cfg;
    void* h = nullptr;
    DeviceGpt(backend::Backend& be, const GptConfig& c, const GptOptions& o, const float* params) : b(be) {
        device_gpt_config(c, o, &cfg);
        h = b.train_gpt_create(0, cfg.abi, params);
    }
    ~DeviceGpt() { b.train_free(0, h); }
};

struct StepCase {
    const char* name;
    bool llama;
    Precision precision;
    double loss_rel, grad_nmse, param_nmse;
};

class CudaTrainStep : public ::testing::TestWithParam<StepCase> {};

// Tolerances: f32 differs from the CPU only in summation order (cuBLASLt's, atomics in the embedding and norm
// gradients); bf16 rounds the same operands on both sides, but an operand near a rounding boundary can round
// the other way after a last-bit difference, so its bound is looser. Updated weights: AdamW's m / sqrt(v)
// amplifies the differences of near-zero gradients to the learning rate, hence a looser bound than the gradients'.
TEST_P(CudaTrainStep, MatchesTheCpuEngine) {
    REQUIRE_TRAINING_GPU(gpu, VERSUS_OP_TRAIN_GPT);
    const StepCase& k = GetParam();
    const GptConfig c = k.llama ? tiny_llama() : gpt_preset("tiny");
    GptOptions o;
    o.batch = 2;
    o.seq = 32;
    o.precision = k.precision;
    cpu::ThreadPool pool(1);
    Gpt cpu(c, o, pool);
    const size_t n = size_t(cpu.layout().total);
    const std::vector<float> initial(cpu.params(), cpu.params() + n);
    const TokenBatch batch = synthetic_batch(c.vocab, o.batch, o.seq, 3);

    DeviceGpt dev(*gpu, c, o, initial.data());
    std::vector<float> grads(n), params(n);
    const float loss = gpu->train_gpt_step(0, dev.h, batch.tokens.data(), batch.targets.data(), grads.data());
    gpu->train_gpt_params(0, dev.h, params.data());

    const double ref_loss = cpu.forward_backward(batch.tokens.data(), batch.targets.data());
    EXPECT_NEAR(loss, ref_loss, k.loss_rel * ref_loss);
    EXPECT_LT(nmse(grads.data(), cpu.grads(), n), k.grad_nmse);
    cpu.update();
    EXPECT_LT(nmse(params.data(), cpu.params(), n), k.param_nmse);
    EXPECT_GT(gpu->train_memory(0, dev.h), n * 4 * sizeof(float));  // weights, gradients, two moments at least
}

INSTANTIATE_TEST_SUITE_P(Tiny, CudaTrainStep,
                         ::testing::Values(StepCase{"gpt2_f32", false, Precision::F32, 1e-5, 1e-9, 1e-6},
                                           StepCase{"llama_f32", true, Precision::F32, 1e-5, 1e-9, 1e-6},
                                           StepCase{"gpt2_bf16", false, Precision::BF16, 2e-3, 1e-3, 1e-4},
                                           StepCase{"llama_bf16", true, Precision::BF16, 2e-3, 1e-3, 1e-4}),
                         [](const auto& i) { return std::string(i.param.name); });

TEST(CudaTrain, FusedAttentionMatchesNaive) {
    REQUIRE_TRAINING_GPU(gpu, VERSUS_OP_TRAIN_GPT);
    const GptConfig c = gpt_preset("tiny");
    const std::vector<float> initial = [&] {
        cpu::ThreadPool pool(1);
        Gpt g(c, GptOptions{}, pool);
        return std::vector<float>(g.params(), g.params() + g.layout().total);
    }();
    const TokenBatch batch = synthetic_batch(c.vocab, 3, 32, 5);
    std::vector<std::vector<float>> grads;
    for (AttentionImpl a : {AttentionImpl::FUSED, AttentionImpl::NAIVE}) {
        GptOptions o;
        o.batch = 3;
        o.seq = 32;
        o.attention = a;
        DeviceGpt dev(*gpu, c, o, initial.data());
        grads.emplace_back(initial.size());
        gpu->train_gpt_step(0, dev.h, batch.tokens.data(), batch.targets.data(), grads.back().data());
    }
    EXPECT_LT(nmse(grads[0].data(), grads[1].data(), initial.size()), 1e-10);
}

TEST(CudaTrain, GptLearnsAFixedBatch) {
    REQUIRE_TRAINING_GPU(gpu, VERSUS_OP_TRAIN_GPT);
    const GptConfig c = gpt_preset("tiny");
    GptOptions o;
    o.batch = 4;
    o.seq = 32;
    o.adamw.lr = 3e-3;
    cpu::ThreadPool pool(1);
    Gpt init(c, o, pool);
    DeviceGpt dev(*gpu, c, o, init.params());
    const TokenBatch batch = synthetic_batch(c.vocab, o.batch, o.seq, 9);
    const float first = gpu->train_gpt_step(0, dev.h, batch.tokens.data(), batch.targets.data());
    float last = first;
    for (int i = 0; i < 60; ++i) last = gpu->train_gpt_step(0, dev.h, batch.tokens.data(), batch.targets.data());
    EXPECT_LT(last, 0.5f * first) << "first " << first << ", after 60 steps " << last;
}

TEST(CudaTrain, ResnetOverfitsItsBatch) {
    REQUIRE_TRAINING_GPU(gpu, VERSUS_OP_TRAIN_RESNET);
    const ResnetConfig c = resnet50_config("cifar-10", 16);
    SgdConfig sgd;
    sgd.lr = 0.05;
    const auto cfg = device_resnet_config(c, 8, 1, sgd);
    void* h = gpu->train_resnet_create(0, cfg);
    const float first = gpu->train_resnet_step(0, h);
    float last = first;
    for (int i = 0; i < 30; ++i) last = gpu->train_resnet_step(0, h);
    const uint64_t bytes = gpu->train_memory(0, h);
    gpu->train_free(0, h);
    EXPECT_TRUE(std::isfinite(first));
    EXPECT_LT(last, 0.3f * first) << "first " << first << ", after 30 steps " << last;
    EXPECT_GT(bytes, uint64_t(resnet50_parameters(c)) * 3 * sizeof(float));
}

// Runs everywhere: the offsets the table reads are the engine's, absent tensors -1.
TEST(CudaTrain, DeviceConfigCarriesTheLayout) {
    for (const GptConfig& c : {gpt_preset("gpt2-124m"), tiny_llama()}) {
        GptOptions o;
        o.precision = Precision::BF16;
        DeviceGptConfig d;
        device_gpt_config(c, o, &d);
        const ParamLayout l = param_layout(c);
        ASSERT_EQ(d.offsets.size(), 5 + 12 * size_t(c.n_layer)) << c.name;
        EXPECT_EQ(d.abi.offsets, d.offsets.data());
        EXPECT_EQ(d.abi.n_params, uint64_t(l.total));
        EXPECT_EQ(d.abi.n_decayed, uint64_t(l.decayed));
        EXPECT_EQ(d.abi.precision, 1);
        EXPECT_EQ(d.offsets[0], l.get("wte").offset);
        EXPECT_EQ(d.offsets[5 + 2], l.get("h0.qkv.w").offset);                   // block 0, qkv.w
        EXPECT_EQ(d.offsets[5 + 12 + 10], l.get("h1.fcproj.w").offset);          // block 1, fcproj.w
        if (c.position == Position::ROPE) {
            EXPECT_EQ(d.offsets[1], -1) << "no wpe with RoPE";
            EXPECT_EQ(d.offsets[4], l.get("head.w").offset);
            EXPECT_EQ(d.offsets[5 + 1], -1) << "no ln1.b with RMSNorm";
        } else {
            EXPECT_EQ(d.offsets[1], l.get("wpe").offset);
            EXPECT_EQ(d.offsets[4], -1) << "tied head";
        }
    }
}

}  // namespace
