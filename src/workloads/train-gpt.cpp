// train-gpt: one optimizer step of a GPT-style decoder (forward, backward, gradient clipping, AdamW) on a
// synthetic batch, the training engine of src/train on the CPU, or the device's own step (train-device.hpp). One op is
// one step on the same batch. Rows: step time, tokens/s, MFU against the device's measured peak, the share of the
// step spent in the linear layers' GEMMs, the loss, and the memory the step holds. --attention naive keeps the
// seq x seq scores for the backward pass instead of recomputing them per tile (the fused, FlashAttention form).
//
// --data-parallel (under a launcher): each rank steps on its own micro-batch of --batch sequences and the gradients
// are summed over the ranks every step (train-data-parallel.hpp); the rows add the tokens/s of all ranks, the
// all-reduce's share of the step and the scaling efficiency against one rank alone, measured in the same row.
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "system/memory.hpp"
#include "train/gpt.hpp"
#include "base/stats.hpp"
#include "workloads/train-data-parallel.hpp"
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

bool data_parallel(const Params& p) { return p.find("data_parallel") && p.str("data_parallel") == "on"; }

// What both rows share: the engine, its peak, and the step's timings and losses.
class GptRow : public Instance {
public:
    GptRow(const Target& t, const Params& p)
        : config_(config_of(p)), options_(options_of(p)), pool_(shared_pool(threads_of(p))),
          gpt_(config_, options_, pool_) {
        std::string method;
        peak_ = t.backend.peak_flops(t.device,
                                     options_.precision == train::Precision::BF16 ? VERSUS_DTYPE_BF16 : VERSUS_DTYPE_F32,
                                     &method);
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

    // One rank's figures (or the process's); `ranks` multiplies the tokens of a step.
    Metrics gpt_metrics(double median_s, int ranks) const {
        const double tokens = static_cast<double>(options_.batch) * options_.seq;
        const double flops = tokens * train::gpt_train_flops_per_token(config_, options_.seq);
        const train::GptMemory m = gpt_.memory();
        return {
            {"tokens_per_s", base::rate_per_s(ranks * tokens, median_s)},
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

protected:
    train::GptConfig config_;
    train::GptOptions options_;
    cpu::ThreadPool& pool_;
    train::Gpt gpt_;
    double peak_ = 0, step_s_ = 0, gemm_s_ = 0, first_loss_ = 0, last_loss_ = 0;
};

class TrainGptInstance : public GptRow {
public:
    TrainGptInstance(const Target& t, const Params& p)
        : GptRow(t, p), batch_(train::synthetic_batch(config_.vocab, options_.batch, options_.seq, options_.seed + 1)) {}

    void run() override {
        const auto t0 = std::chrono::steady_clock::now();
        const double loss = gpt_.step(batch_.tokens.data(), batch_.targets.data());
        step_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        gemm_s_ += gpt_.last_gemm_seconds();
        if (gpt_.steps() == 1) first_loss_ = loss;
        last_loss_ = loss;
    }
    Metrics metrics(double median_s) override { return gpt_metrics(median_s, 1); }

private:
    train::TokenBatch batch_;
};

// Timed steps of one rank alone (after one untimed) for the scaling efficiency's reference.
constexpr int ONE_RANK_STEPS = 3;

// Data-parallel steps over the ranks of a job. The global batch is ranks x --batch sequences drawn from the seed;
// rank r steps on its sequences [r x batch, (r + 1) x batch). Every rank runs as many steps (lockstep).
class DataParallelGptInstance : public GptRow {
public:
    DataParallelGptInstance(const Target& t, const Params& p, comm::Comm& c)
        : GptRow(t, p), comm_(c), ranks_(comm_rank_sum(c, c.timeout())) {
        const auto global =
            train::synthetic_batch(config_.vocab, options_.batch * c.size(), options_.seq, options_.seed + 1);
        micro_ = micro_batch(global, c.rank(), c.size());
        one_rank_s_ = measure_one_rank(micro_batch(global, 0, c.size()));
    }

    void run() override {
        const auto t0 = std::chrono::steady_clock::now();
        const DataParallelStep s = data_parallel_step(gpt_, *ranks_, pool_, micro_);
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        step_s_ += took;
        allreduce_s_.push_back(s.allreduce_s);
        allreduce_share_.push_back(took > 0 ? s.allreduce_s / took : 0.0);
        gemm_s_ += gpt_.last_gemm_seconds();
        last_loss_ = s.loss;
    }
    bool lockstep() const override { return true; }
    double agreed_seconds(double local_s) override { return comm_.max(local_s, comm_.timeout()); }

    Check check() override {
        Check c = GptRow::check();
        int differs = -1;
        const uint64_t fingerprint = weights_fingerprint(gpt_.params(), gpt_.layout().total);
        if (c.ok && !same_on_every_rank(comm_, fingerprint, comm_.timeout(), &differs))
            c = {false, c.checksum,
                 fmt::format("the weights of rank {} differ from rank {}'s after {} steps: the ranks' updates diverged",
                             differs, comm_.rank(), gpt_.steps())};
        return c;
    }

    Metrics metrics(double median_s) override {
        Metrics m = gpt_metrics(median_s, comm_.size());
        m.push_back({"ranks", static_cast<double>(comm_.size())});
        m.push_back({"one_rank_step_ms", one_rank_s_ * 1e3});
        m.push_back({"scaling_efficiency_pct", 100.0 * base::dp_scaling_efficiency(one_rank_s_, median_s)});
        // Medians over the steps, each step's share its own: the first steps also wait for the ranks to line up.
        m.push_back({"allreduce_ms", base::median(allreduce_s_) * 1e3});
        m.push_back({"allreduce_share_pct", 100.0 * base::median(allreduce_share_)});
        return m;
    }

    std::string note() const override {
        return fmt::format("{} ranks x batch {}; one rank alone: {:.3g} ms per step", comm_.size(), options_.batch,
                           one_rank_s_ * 1e3);
    }

private:
    // Rank 0 steps alone on its micro-batch while the others wait; then the others run the same steps on the same
    // tokens, untimed, so that every rank's weights stay what rank 0's are. Returns rank 0's median step, on every
    // rank.
    double measure_one_rank(const train::TokenBatch& solo) {
        comm_.barrier();  // under the group's timeout: ranks reach the row at different times
        std::vector<double> times;
        for (int i = 0; i <= ONE_RANK_STEPS; ++i) {
            for (int turn = 0; turn < 2; ++turn) {
                if ((turn == 0) == (comm_.rank() == 0)) {
                    const auto t0 = std::chrono::steady_clock::now();
                    const double loss = gpt_.step(solo.tokens.data(), solo.targets.data());
                    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                    if (i > 0) times.push_back(took);
                    if (i == 0) first_loss_ = loss;
                }
                if (comm_.size() > 1) comm_.barrier();
            }
        }
        return comm_.sum(comm_.rank() == 0 ? base::median(times) : 0.0, comm_.timeout());
    }

    comm::Comm& comm_;
    std::unique_ptr<RankSum> ranks_;
    train::TokenBatch micro_;
    double one_rank_s_ = 0;
    std::vector<double> allreduce_s_, allreduce_share_;  // per step: seconds, and their share of the step
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
        ParamSpec dp{"data-parallel", "data_parallel", core::ParamKind::CHOICE,
                     "under mpirun: each rank steps on its own --batch sequences, gradients all-reduced every step "
                     "(alone: on)",
                     {"off", "on"}, "off", "off"};
        dp.flag_value = "on";
        return {model, batch, seq, precision, attention, seed, dp};
    }
    double flops(const Params& p) const override {
        return static_cast<double>(p.integer("batch")) * static_cast<double>(p.integer("seq")) *
               train::gpt_train_flops_per_token(config_of(p), p.integer("seq"));
    }
    bool lockstep(const Params& p) const override { return data_parallel(p); }
    double memory_bytes(const Params& p) const override {
        const auto o = options_of(p);
        return train::gpt_memory(config_of(p), o, threads_of(p)).total() + 8.0 * o.batch * o.seq;
    }
    std::string memory_breakdown(const Params& p) const override {
        return train::gpt_memory_breakdown(config_of(p), options_of(p), threads_of(p));
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        const bool dp = data_parallel(p);
        if (dp && !t.comm)
            throw Skip("data-parallel training needs the ranks of a job: mpirun -np 2 versus bench train-gpt "
                       "--data-parallel");
        if (t.backend.name() != "cpu") {
            if (dp)
                throw Skip(fmt::format("the {} backend's training step keeps its gradients on the device and has no "
                                       "all-reduce (NCCL) between ranks: data-parallel training runs on the CPU engine",
                                       t.backend.name()));
            return device_gpt_instance(t, config_of(p), options_of(p));
        }
        if (!p.find("threads")) throw Skip("the training engine needs a thread count");
        if (dp) return std::make_unique<DataParallelGptInstance>(t, p, *t.comm);
        return std::make_unique<TrainGptInstance>(t, p);
    }
};

}  // namespace

std::unique_ptr<Workload> make_train_gpt() { return std::make_unique<TrainGpt>(); }

}  // namespace versus::workloads
