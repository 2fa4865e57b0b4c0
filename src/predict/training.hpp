// training: the predictor for training throughput — ResNet-50 images/s (and epoch time) and a transformer's
// tokens/s — on platforms you do not have. One step's FLOPs per image or token come from the training engine's
// own shapes (train/resnet-config, train/gpt-config: the functions the workloads report with) or, for public
// models the engine does not build (BERT, Transformer-XL), from the same formula on their shapes; the
// utilisation of the platform's peak for the precision is calibrated on public training results
// (data/backtest/training.csv) per family, as the LLM predictor is (docs/predictor.md, "Training").
//
//   images or tokens/s = gpus x scaling(gpus) x utilisation x peak(precision) / FLOPs per item
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "predict/roofline.hpp"

namespace versus::predict {

// fp32: the vector units (or, on a CPU, its f32 FMA rate); tf32: tensor cores on f32 data (NVIDIA Ampere and
// later; fp32 elsewhere); mixed: fp16 or bf16 matrix units with f32 master weights (amp, fp16, bf16).
enum class TrainPrecision { FP32, TF32, MIXED };
const char* train_precision_name(TrainPrecision p);
// "fp32", "f32", "tf32", "amp", "mixed", "fp16", "bf16"; UsageError otherwise.
TrainPrecision parse_train_precision(std::string_view s);

// A model one can ask about: the FLOPs of one training item (image or token) and what it is.
struct TrainingModel {
    std::string workload;  // train-resnet50 or train-gpt
    std::string name;      // resnet50, resnet50-cifar, gpt2-124m, bert-large, transformer-xl-base, ...
    std::string unit;      // images/s or tokens/s
    int64_t seq = 0;       // tokens per sequence (train-gpt)
    double flops_per_item = 0;
    double params = 0;        // trained parameters (train-gpt; the public models: their matmul weights)
    int64_t epoch_items = 0;  // images of the data set (train-resnet50)
};
// train-resnet50: resnet50 (ImageNet, 224 px) or resnet50-cifar (the CIFAR-10 form); the data set names
// imagenet-1k and cifar-10 are accepted too. train-gpt: the engine's presets and bert-base, bert-large,
// distilbert, transformer-xl-base, transformer-xl-large; seq 0 takes the model's own. UsageError otherwise.
TrainingModel training_model(const std::string& workload, const std::string& model, int64_t seq = 0);
std::vector<std::string> training_model_names(const std::string& workload);

// The platform's peak for a precision, FLOP/s, and where it came from; 0 when the spec row has none.
double training_peak(const Platform& p, TrainPrecision prec, std::string* from);

// One calibration entry: utilisation of the peak, and the 10th-90th percentile of measured/predicted.
struct TrainingEfficiency {
    double utilisation = 0;
    double ratio_lo = 1, ratio_hi = 1;
    int n_rows = 0;
    std::string scope = "uncalibrated";
};

// Entries by (scope, workload, precision class); scope is a family, a vendor ("cpu" for CPUs) or "local". A
// factor per model says how much more or less of the peak that model reaches than the workload's typical one (1
// for models without rows). Data-parallel scaling by (vendor, GPU count): n GPUs over n x one GPU.
class TrainingCalibration {
public:
    // Fitted on the `fit` rows of data/backtest/training.csv, embedded at build time.
    static const TrainingCalibration& builtin();
    static TrainingCalibration from_csv(std::string_view text, const std::string& place);
    std::string to_csv() const;

    void set(const std::string& scope, const std::string& workload, TrainPrecision prec, const TrainingEfficiency& e);
    void set_scaling(const std::string& vendor, int gpus, double efficiency);
    void set_model_factor(const std::string& model, double factor) { model_factor_[model] = factor; }
    double model_factor(const std::string& model) const;
    // Family, then vendor, then the other precisions of the family and vendor (range widened by 20%); empty when
    // nothing applies.
    std::optional<TrainingEfficiency> lookup(const Platform& p, const std::string& workload, TrainPrecision prec) const;
    // 1 for one GPU; the nearest fitted count's efficiency carried in log2(gpus) otherwise.
    double scaling(const Platform& p, int gpus) const;
    bool empty() const { return entries_.empty(); }

private:
    struct Entry {
        std::string scope, workload;
        TrainPrecision prec;
        TrainingEfficiency e;
    };
    std::vector<Entry> entries_;
    std::map<std::pair<std::string, int>, double> scaling_;
    std::map<std::string, double> model_factor_;
};

struct TrainingQuery {
    TrainingModel model;
    TrainPrecision precision = TrainPrecision::MIXED;
    int64_t batch = 0;  // recorded, not modelled: public rows use batches that fill the device
    int gpus = 1;
};

struct TrainingPrediction {
    std::string platform_id;
    Estimate per_s;                        // images/s or tokens/s
    std::optional<Estimate> epoch_s;       // train-resnet50
    std::optional<Estimate> joules_per_item;
    double bare_per_s = 0;                 // at 100% of the peak: the uncalibrated upper bound
    TrainingEfficiency calibration;
    std::vector<std::string> rests_on;
};

// Throws UsageError when the platform has no peak for the precision. Without a calibration entry the
// prediction takes a third of the peak with a range of 0.1-0.6x of it, and says so.
TrainingPrediction predict_training(const Platform& p, const TrainingQuery& q, const TrainingCalibration& cal);

// ---- back-test ----------------------------------------------------------------------------------------------

// A row of a training back-test CSV: platform,workload,model,precision,batch,measured and optional gpus, seq,
// set, system, source, notes. `measured` is images/s or tokens/s of all GPUs together; `system` names the machine
// so that its one-GPU and n-GPU rows can be paired.
struct TrainingRow {
    int line = 0;
    std::string platform, workload, model, precision, set, system, source;
    int64_t batch = 0, seq = 0;
    int gpus = 1;
    double measured = 0;
    std::string error;
    std::optional<Platform> spec;
    TrainingQuery query;
    TrainingPrediction predicted;  // by evaluate_training_backtest
};

// True when the CSV's header is a training back-test's (it has the workload and measured columns).
bool is_training_backtest(std::string_view text);
std::vector<TrainingRow> parse_training_backtest(std::string_view text, const std::string& place,
                                                 const std::string& only_set = "");
void evaluate_training_backtest(std::vector<TrainingRow>& rows, const TrainingCalibration& cal);
// Utilisation per (family, workload, precision) and a factor per model from the single-GPU rows, scaling from
// the multi-GPU ones paired with their one-GPU row (docs/predictor.md, "Training"). A non-empty scope puts every
// row under that one name (a machine's own).
TrainingCalibration fit_training_calibration(const std::vector<TrainingRow>& rows, const std::string& scope = "");

struct TrainingSummary {
    std::string group;  // "nvidia train-resnet50", "fit", "holdout", "family Data center (Ampere)", ...
    int n = 0;
    double median_ape = 0, mean_ape = 0, median_ape_bare = 0;
};
std::vector<TrainingSummary> summarise_training_backtest(const std::vector<TrainingRow>& rows);
// One entry per input row (prediction and error, or the row's error), then the summary.
nlohmann::ordered_json training_backtest_json(const std::vector<TrainingRow>& rows);
std::string training_backtest_table(const std::vector<TrainingRow>& rows, bool markdown);

namespace detail {
// data/calibration/training.csv, compiled in (generated embedded-training-calibration.cpp).
std::span<const EmbeddedFile> embedded_training_calibration_files();
}  // namespace detail

}  // namespace versus::predict
