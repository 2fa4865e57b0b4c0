// train-gpt: one optimizer step of a GPT-style decoder (forward, backward, gradient clipping, AdamW) on a
// synthetic batch, the training engine of src/train on the CPU, or the device's own step (train-device.hpp). One op = one step on the same batch. Rows:
// step time, tokens/s, MFU against the device's measured peak, the share of the step spent in the linear
// layers' GEMMs, the loss, and the memory the step holds. --attention naive keeps the seq x seq scores for the
// backward pass instead of recomputing them per tile (the fused, FlashAttention form).
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "system/memory.hpp"
#include "train/gpt.hpp"
#include "workloads/train-device.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

train::GptConfig config_of(const Params& p) { return train::gpt_preset(p.str("model")); }

train::GptOptions options_of(const Params& p) {
    train::GptOptions o;
    o.batch = static_cast<int>(p.integer("batch"));
    o.seq = static_cast<int>(p.integer("seq"));
    o.precision = train::parse_precision(p.str("precision"));
    o.attention = train::parse_attention(p.str("attention"));
    o.seed = static_cast<uint64_t>(p.integer("seed"));
    return o;
}

int threads_of(const Params& p) {
    return p.find("threads") ? static_cast<int>(p.integer("threads")) : cpu::ThreadPool::available_threads();
}

class TrainGptInstance : public Instance {
public:
    TrainGptInstance(const Target& t, const Params& p)
        : config_(config_of(p)), options_(options_of(p)), gpt_(config_, options_, shared_pool(threads_of(p))),
          batch_(train::synthetic_batch(config_.vocab, options_.batch, options_.seq, options_.seed + 1)) {
        std::string method;
        peak_ = t.backend.peak_flops(t.device,
                                     options_.precision == train::Precision::BF16 ? VERSUS_DTYPE_BF16 : VERSUS_DTYPE_F32,
                                     &method);
    }

    void run() override {
        const auto t0 = std::chrono::steady_clock::now();
        const double loss = gpt_.step(batch_.tokens.data(), batch_.targets.data());
        step_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        gemm_s_ += gpt_.last_gemm_seconds();
        if (gpt_.steps() == 1) first_loss_ = loss;
        last_loss_ = loss;
    }

    Check check() override {
        Check c;
        // Random tokens under a fresh model: the first loss is about ln(vocab); any step after stays finite.
        const double expect = std::log(static_cast<double>(config_.vocab));
        if (!std::isfinite(last_loss_) || std::fabs(first_loss_ - expect) > 0.5)
            c = {false, "", fmt::format("loss {} then {}: the first step should give about ln({}) = {:.3f}", first_loss_,
                                        last_loss_, config_.vocab, expect)};
        c.checksum = fmt::format("{:.4f}", first_loss_);
        return c;
    }

    Metrics metrics(double median_s) override {
        const double tokens = static_cast<double>(options_.batch) * options_.seq;
        const double flops = tokens * train::gpt_train_flops_per_token(config_, options_.seq);
        const train::GptMemory m = gpt_.memory();
        return {
            {"tokens_per_s", base::rate_per_s(tokens, median_s)},
            {"step_ms", median_s * 1e3},
            {"mfu_pct", base::percent_of_peak(base::rate_per_s(flops, median_s), peak_)},
            {"peak_gflops", peak_ / 1e9},
            {"gemm_share_pct", step_s_ > 0 ? 100.0 * gemm_s_ / step_s_ : 0.0},
            {"loss_first", first_loss_},
            {"loss_last", last_loss_},
            {"weight_bytes", m.weights},
            {"grad_bytes", m.grads},
            {"optimizer_bytes", m.optimizer},
            {"activation_bytes", m.activations},
            {"rss_peak_bytes", system::rss_peak_bytes()},
        };
    }

private:
    train::GptConfig config_;
    train::GptOptions options_;
    train::Gpt gpt_;
    train::TokenBatch batch_;
    double peak_ = 0, step_s_ = 0, gemm_s_ = 0, first_loss_ = 0, last_loss_ = 0;
};

class TrainGpt : public Workload {
public:
    std::string_view key() const override { return "train-gpt"; }
    std::string_view description() const override {
        return "GPT training step (forward, backward, AdamW) on synthetic tokens: tokens/s, MFU, GEMM share, memory";
    }
    std::vector<ParamSpec> params() const override {
        std::string presets;
        for (const auto& n : train::gpt_preset_names()) presets += (presets.empty() ? "" : ", ") + n;
        ParamSpec model{"model", "model", core::ParamKind::TEXT, "preset: " + presets, {}, "small", "gpt2-124m"};
        ParamSpec batch{"batch", "batch", core::ParamKind::INT, "sequences per step", {}, "4", "4", 1, 1 << 16};
        batch.flags = "-B";
        ParamSpec seq{"seq", "seq", core::ParamKind::INT, "tokens per sequence", {}, "128", "256", 1, 1 << 20};
        ParamSpec precision{"precision", "precision", core::ParamKind::CHOICE,
                            "f32, or bf16 GEMM operands with f32 master weights", {"f32", "bf16"}, "f32", "f32,bf16"};
        ParamSpec attention{"attention", "attention", core::ParamKind::CHOICE,
                            "fused (per-tile recompute, FlashAttention) or naive (seq x seq scores kept)",
                            {"fused", "naive"}, "fused", "fused"};
        ParamSpec seed{"seed", "seed", core::ParamKind::INT, "seed of the weights and tokens", {}, "1", "1", 0, INT64_MAX};
        return {model, batch, seq, precision, attention, seed};
    }
    double flops(const Params& p) const override {
        return static_cast<double>(p.integer("batch")) * static_cast<double>(p.integer("seq")) *
               train::gpt_train_flops_per_token(config_of(p), p.integer("seq"));
    }
    double memory_bytes(const Params& p) const override {
        const auto o = options_of(p);
        return train::gpt_memory(config_of(p), o, threads_of(p)).total() + 8.0 * o.batch * o.seq;
    }
    std::string memory_breakdown(const Params& p) const override {
        return train::gpt_memory_breakdown(config_of(p), options_of(p), threads_of(p));
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        if (t.backend.name() != "cpu") return device_gpt_instance(t, config_of(p), options_of(p));
        if (!p.find("threads")) throw Skip("the training engine needs a thread count");
        return std::make_unique<TrainGptInstance>(t, p);
    }
};

}  // namespace

std::unique_ptr<Workload> make_train_gpt() { return std::make_unique<TrainGpt>(); }

}  // namespace versus::workloads
