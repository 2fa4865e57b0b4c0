#include "predict/throughput.hpp"

#include <fmt/format.h>

#include "base/error.hpp"
#include "predict/training.hpp"

namespace versus::predict {

namespace {

// Shares of a spec peak that tuned code sustains. Not fitted on measurements (there are none of these
// workloads in the back-test data yet): typical figures, with ranges wide enough to say so.
struct Share {
    double value, low, high;
};
constexpr Share GEMM{0.7, 0.5, 0.85};
constexpr Share BANDWIDTH{0.8, 0.7, 0.92};
Estimate scale(double peak, Share s) { return {peak * s.value, peak * s.low, peak * s.high}; }


// A calibrated training prediction in the shape the reports read.
ThroughputPrediction from_training(const Platform& p, const TrainingModel& m) {
    TrainingQuery q;
    q.model = m;
    q.precision = p.device_kind == DeviceKind::CPU ? TrainPrecision::FP32 : TrainPrecision::MIXED;
    return to_throughput(predict_training(p, q, TrainingCalibration::builtin()), m.unit);
}

}  // namespace

ThroughputPrediction to_throughput(const TrainingPrediction& t, const std::string& unit) {
    ThroughputPrediction out;
    out.platform_id = t.platform_id;
    out.figure = unit;
    out.value = t.per_s;
    out.epoch_s = t.epoch_s;
    out.joules_per_op = t.joules_per_item;
    out.bound = "compute";
    out.rests_on = t.rests_on;
    return out;
}

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

DataSet data_set(const std::string& name) {
    if (name == "imagenet-1k") return {name, 1281167, 224};
    if (name == "cifar-10") return {name, 50000, 32};
    throw UsageError("--dataset", fmt::format("unknown data set '{}'", name), "imagenet-1k or cifar-10");
}

ThroughputPrediction predict_resnet50_training(const Platform& p, const DataSet& d) {
    return from_training(p, training_model("train-resnet50", d.name));
}

ThroughputPrediction predict_gpt_training(const Platform& p, const std::string& model, int64_t seq) {
    return from_training(p, training_model("train-gpt", model, seq));
}

}  // namespace versus::predict
