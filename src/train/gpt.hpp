// gpt: a GPT-style decoder trained on the CPU, the way llm.c does it: one flat buffer each for the
// parameters, their gradients and AdamW's moments (layout: gpt-config.hpp), one arena for the activations
// the backward pass needs, and a step = forward, backward, gradient clipping, AdamW. Layers: layers.hpp.
//
// Precision: F32 computes in f32. BF16 rounds every GEMM operand to bf16 (the weights once per step from
// the f32 masters, activations as they are made, gradients as they enter a product); products accumulate
// in f32, as do norms, softmax, the loss and the optimizer (docs/training.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/thread-pool.hpp"
#include "train/gpt-config.hpp"
#include "train/layers.hpp"

namespace versus::train {

struct GptOptions {
    int batch = 4, seq = 64;
    Precision precision = Precision::F32;
    AttentionImpl attention = AttentionImpl::FUSED;
    AdamWConfig adamw;
    uint64_t seed = 1;  // weights
};

// The bytes one training step holds, as the engine allocates them (docs/metrics.md "train-gpt").
struct GptMemory {
    double weights = 0;      // f32 master weights (+ their bf16-rounded working copy in bf16)
    double grads = 0;        // f32
    double optimizer = 0;    // AdamW's two moments, f32
    double activations = 0;  // saved for the backward pass, scratch and one chunk of logits
    double total() const { return weights + grads + optimizer + activations; }
};
// `threads`: the pool the step runs on (each thread has its own attention tiles).
GptMemory gpt_memory(const GptConfig& c, const GptOptions& o, int threads);
// "gpt2-350m bf16 batch 64 seq 1024: weights 2.6, grads 1.3, Adam 2.6, activations 101.3 GiB".
std::string gpt_memory_breakdown(const GptConfig& c, const GptOptions& o, int threads);

// A batch of token sequences and their next-token targets (batch, seq) each; a negative target is ignored.
struct TokenBatch {
    std::vector<int32_t> tokens, targets;
};
// Deterministic synthetic tokens, uniform in [0, vocab): each row's targets are its tokens shifted by one.
TokenBatch synthetic_batch(int vocab, int batch, int seq, uint64_t seed);

struct GptPlan;  // the activation arena's offsets (gpt.cpp)

class Gpt {
public:
    // Allocates every buffer and initialises the weights as GPT-2 does: N(0, 0.02), the projections into the
    // residual stream scaled by 1/sqrt(2 n_layer), norm weights 1, biases 0. Throws UsageError when seq >
    // max_seq or a dimension does not divide.
    Gpt(const GptConfig& c, const GptOptions& o, ThreadPool& pool);
    ~Gpt();
    Gpt(const Gpt&) = delete;
    Gpt& operator=(const Gpt&) = delete;

    // One optimizer step on tokens (batch, seq) and targets (batch, seq), a negative target being ignored.
    // Returns the mean loss over the counted targets (before the update).
    double step(const int32_t* tokens, const int32_t* targets);
    // The two halves of step(), for tests: gradients of the mean loss, then clipping and AdamW.
    double forward_backward(const int32_t* tokens, const int32_t* targets);
    void update();

    const GptConfig& config() const { return c_; }
    const GptOptions& options() const { return o_; }
    const ParamLayout& layout() const { return layout_; }
    float* params() { return params_.get(); }
    const float* grads() const { return grads_.get(); }
    // The gradients between forward_backward() and update(), for a caller that combines them with other
    // processes' (data-parallel training averages them over the ranks of a job).
    float* grads() { return grads_.get(); }
    double last_grad_norm() const { return grad_norm_; }
    int steps() const { return t_; }
    GptMemory memory() const { return gpt_memory(c_, o_, pool_.size()); }
    // Seconds the last step spent in the GEMMs of its linear layers and head (not the attention tiles), in
    // attention (forward and backward), and in clipping and AdamW.
    double last_gemm_seconds() const { return gemm_s_; }
    double last_attention_seconds() const { return attention_s_; }
    double last_optimizer_seconds() const { return optimizer_s_; }

private:
    void forward(const int32_t* tokens);
    double head(const int32_t* targets);  // chunked logits, loss and the head's backward pass
    void backward(const int32_t* tokens);
    // The weights the forward pass multiplies by: the masters, or their bf16-rounded copy.
    const float* w(const std::string& name) const;
    float* g(const std::string& name);
    const float* p(const std::string& name) const;
    void refresh_working_weights();
    // In bf16, the GEMM operand x rounded (a copy in the dy scratch when `copy`, else in place).
    const float* operand(float* x, int64_t n, bool copy);

    GptConfig c_;
    GptOptions o_;
    ThreadPool& pool_;
    ParamLayout layout_;
    std::unique_ptr<GptPlan> plan_;
    std::unique_ptr<float[]> params_, grads_, m_, v_, working_, arena_;
    int t_ = 0;
    int n_targets_ = 0;
    double grad_norm_ = 0, gemm_s_ = 0, attention_s_ = 0, optimizer_s_ = 0;
};

}  // namespace versus::train
