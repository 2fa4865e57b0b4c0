#include "predict/throughput.hpp"

#include <fmt/format.h>

#include "base/error.hpp"

namespace versus::predict {

namespace {

// Shares of a spec peak that tuned code sustains. Not fitted on measurements (there are none of these
// workloads in the back-test data yet): typical figures, with ranges wide enough to say so.
struct Share {
    double value, low, high;
};
constexpr Share GEMM{0.7, 0.5, 0.85};
constexpr Share BANDWIDTH{0.8, 0.7, 0.92};
// Model FLOPs utilisation of mixed-precision training: ResNet-50 is held back by its memory-bound layers
// (batch norm, activations), a GPT by attention and optimizer steps; Apple's MPS path reaches less.
constexpr Share RESNET_NVIDIA{0.2, 0.1, 0.3}, RESNET_OTHER{0.15, 0.07, 0.25};
constexpr Share GPT_NVIDIA{0.35, 0.2, 0.5}, GPT_OTHER{0.25, 0.1, 0.4};

Estimate scale(double peak, Share s) { return {peak * s.value, peak * s.low, peak * s.high}; }

// Load power for energy: typical board power, else 3/4 of the maximum; range 70% of it to the maximum.
std::optional<Estimate> load_power(const Platform& p) {
    const double pmax = p.power_max_W.value_or(0), ptyp = p.power_typical_W.value_or(pmax * 0.75);
    if (ptyp <= 0) return std::nullopt;
    return Estimate{ptyp, ptyp * 0.7, std::max(ptyp, pmax)};
}

void add_energy(ThroughputPrediction& t, const Platform& p) {
    if (auto w = load_power(p)) {
        t.joules_per_op = Estimate{w->value / t.value.value, w->low / t.value.high, w->high / t.value.low};
        t.rests_on.push_back(fmt::format("power {:.0f} W (spec, assumed under load)", w->value));
    }
}

// The training peak: the matrix units at FP16/BF16 where the spec gives them, else the FP16 vector rate.
double training_peak(const Platform& p, std::string* from) {
    for (const auto& [v, name] : {std::pair{&p.bf16_tensor_TFLOPS, "BF16 tensor"}, {&p.fp16_tensor_TFLOPS, "FP16 tensor"},
                                  {&p.fp16_TFLOPS, "FP16"}, {&p.fp32_TFLOPS, "FP32"}})
        if (*v && **v > 0) {
            *from = fmt::format("{} {:.4g} TFLOPS (spec)", name, **v);
            return **v * 1e12;
        }
    *from = "no peak in the spec row";
    return 0;
}

// A training figure: the training peak x the utilisation over the FLOPs of one image or token, with energy.
ThroughputPrediction training_prediction(const Platform& p, const char* figure, Share s, double flops,
                                         const std::string& what) {
    ThroughputPrediction t;
    t.platform_id = p.id;
    t.figure = figure;
    t.bound = "compute";
    std::string from;
    const double peak = training_peak(p, &from);
    if (peak <= 0) throw UsageError(p.id, "the spec database has no peak for it", "choose another platform");
    t.value = scale(peak / flops, s);
    t.rests_on.push_back(fmt::format("{}; {:.3g} GFLOP per {}; utilisation {:.3g} ({:.3g}-{:.3g}, assumed)", from,
                                     flops / 1e9, what, s.value, s.low, s.high));
    add_energy(t, p);
    return t;
}

}  // namespace

ThroughputPrediction predict_gemm(const Platform& p, const std::string& dtype) {
    ThroughputPrediction t;
    t.platform_id = p.id;
    t.figure = "GFLOP/s";
    t.bound = "compute";
    std::optional<double> peak;
    const char* name = "";
    if (dtype == "f32") peak = p.fp32_TFLOPS, name = "FP32";
    else if (dtype == "f16") peak = p.fp16_tensor_TFLOPS ? p.fp16_tensor_TFLOPS : p.fp16_TFLOPS, name = "FP16";
    else if (dtype == "bf16") peak = p.bf16_tensor_TFLOPS ? p.bf16_tensor_TFLOPS : p.fp16_TFLOPS, name = "BF16";
    else if (dtype == "int8") peak = p.int8_TOPS, name = "INT8";
    else throw UsageError("--dtype", fmt::format("no GEMM prediction for '{}'", dtype), "f32, f16, bf16 or int8");
    if (!peak) throw UsageError(p.id, fmt::format("the spec database has no {} peak for it", name), "choose another dtype");
    t.value = scale(*peak * 1e3, GEMM);
    t.rests_on.push_back(fmt::format("{} {:.4g} TFLOPS (spec) x {} ({}-{}, assumed)", name, *peak, GEMM.value, GEMM.low, GEMM.high));
    return t;
}

ThroughputPrediction predict_bandwidth(const Platform& p) {
    ThroughputPrediction t;
    t.platform_id = p.id;
    t.figure = "GB/s";
    t.bound = "memory";
    t.value = scale(p.mem_bw_GBps, BANDWIDTH);
    t.rests_on.push_back(fmt::format("memory bandwidth {:.4g} GB/s (spec) x {} ({}-{}, assumed)", p.mem_bw_GBps,
                                     BANDWIDTH.value, BANDWIDTH.low, BANDWIDTH.high));
    return t;
}

double resnet50_train_flops_per_image(int side_px) {
    const double forward_224 = 2 * 4.1e9;  // 4.1 GMAC
    const double s = static_cast<double>(side_px) / 224.0;
    return 3 * forward_224 * s * s;
}

DataSet data_set(const std::string& name) {
    if (name == "imagenet-1k") return {name, 1281167, 224};
    if (name == "cifar-10") return {name, 50000, 32};
    throw UsageError("--dataset", fmt::format("unknown data set '{}'", name), "imagenet-1k or cifar-10");
}

ThroughputPrediction predict_resnet50_training(const Platform& p, const DataSet& d) {
    Share s = p.vendor == "nvidia" ? RESNET_NVIDIA : RESNET_OTHER;
    // Small images leave the device mostly idle (launches and memory-bound layers dominate): utilisation
    // scaled by side / 224 below 224 px (assumed), so CIFAR-10 at 32 px runs at a few percent of peak.
    if (d.side_px < 224) {
        const double k = static_cast<double>(d.side_px) / 224.0;
        s = {s.value * k, s.low * k, s.high * k};
    }
    ThroughputPrediction t = training_prediction(p, "images/s", s, resnet50_train_flops_per_image(d.side_px),
                                                 fmt::format("training image at {} px", d.side_px));
    const double n = static_cast<double>(d.images);
    t.epoch_s = Estimate{n / t.value.value, n / t.value.high, n / t.value.low};
    return t;
}

double gpt_train_flops_per_token(const llm::ModelConfig& c, int64_t seq) {
    double params = 0;
    for (const auto& t : llm::model_tensors(c))
        if (t.name != "token_embd.weight") params += static_cast<double>(t.ne0) * static_cast<double>(t.ne1);
    return 6 * params + 12.0 * static_cast<double>(c.n_layer) * static_cast<double>(c.n_embd) * static_cast<double>(seq);
}

ThroughputPrediction predict_gpt_training(const Platform& p, const llm::ModelConfig& c, int64_t seq) {
    return training_prediction(p, "tokens/s", p.vendor == "nvidia" ? GPT_NVIDIA : GPT_OTHER,
                               gpt_train_flops_per_token(c, seq), fmt::format("training token at sequence {}", seq));
}

}  // namespace versus::predict
