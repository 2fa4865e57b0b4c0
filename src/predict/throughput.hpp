// throughput: predictions for GEMM per dtype and memory bandwidth (a spec peak times an assumed share with
// a range, docs/predictor.md "Other workloads"), and the training figures the reports ask for (ResNet-50
// images/s and epoch time, a GPT-style transformer's tokens/s) in the shape they use, from the calibrated
// training predictor (training.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "predict/roofline.hpp"
#include "predict/training.hpp"

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


struct DataSet {
    std::string name;
    int64_t images = 0;
    int side_px = 0;
};
// imagenet-1k (1,281,167 images, 224 px), cifar-10 (50,000, 32 px, the CIFAR form of ResNet-50); UsageError
// otherwise.
DataSet data_set(const std::string& name);

// A training prediction in this shape (unit: images/s or tokens/s).
ThroughputPrediction to_throughput(const TrainingPrediction& t, const std::string& unit);

// ResNet-50 training on a data set at mixed precision (fp32 on CPUs) with the built-in calibration, as images/s
// with the epoch time and J/image.
ThroughputPrediction predict_resnet50_training(const Platform& p, const DataSet& d);
// A train-gpt model (training_model()) at a sequence length, mixed precision (fp32 on CPUs): tokens/s, J/token.
ThroughputPrediction predict_gpt_training(const Platform& p, const std::string& model, int64_t seq);

}  // namespace versus::predict
