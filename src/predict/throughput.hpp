// throughput: predictions for the workloads besides LLM inference — GEMM per dtype, memory bandwidth,
// and training throughput (ResNet-50 images/s and epoch time, a GPT-style transformer's tokens/s) with
// energy per image or token. Each is a spec peak times an efficiency with a range; none is calibrated
// on measurements yet, and every prediction says so (docs/predictor.md, "Other workloads").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llm/config.hpp"
#include "predict/roofline.hpp"

namespace versus::predict {

struct ThroughputPrediction {
    std::string platform_id;
    std::string figure;  // "GFLOP/s", "GB/s", "images/s", "tokens/s"
    Estimate value;
    std::optional<Estimate> epoch_s;        // training: one pass over the data set
    std::optional<Estimate> joules_per_op;  // per image or per token
    std::string bound;                      // "compute" or "memory"
    std::vector<std::string> rests_on;
};

// GEMM of `dtype` (f32, f16, bf16, int8): the matching spec peak x 0.7 (0.5-0.85).
ThroughputPrediction predict_gemm(const Platform& p, const std::string& dtype);
// Triad-like bandwidth: spec x 0.8 (0.7-0.92).
ThroughputPrediction predict_bandwidth(const Platform& p);

// Training FLOPs per image of ResNet-50 at a square input side: 3 x the forward pass (forward, and the
// two products of the backward pass), the forward pass 4.1 GMAC at 224 px scaling with the pixel count.
double resnet50_train_flops_per_image(int side_px);

struct DataSet {
    std::string name;
    int64_t images = 0;
    int side_px = 0;
};
// imagenet-1k (1,281,167 images, 224 px), cifar-10 (50,000, 32 px); UsageError otherwise.
DataSet data_set(const std::string& name);

ThroughputPrediction predict_resnet50_training(const Platform& p, const DataSet& d);

// Training FLOPs per token of a decoder-only transformer: 6 x parameters (without the embedding
// lookup) + 12 x layers x width x sequence length (attention scores and their gradients).
double gpt_train_flops_per_token(const llm::ModelConfig& c, int64_t seq);
ThroughputPrediction predict_gpt_training(const Platform& p, const llm::ModelConfig& c, int64_t seq);

}  // namespace versus::predict
