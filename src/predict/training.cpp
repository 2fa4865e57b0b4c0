#include "predict/training.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "base/stats.hpp"
#include "core/printers.hpp"
#include "predict/backtest.hpp"
#include "predict/throughput.hpp"
#include "train/gpt-config.hpp"
#include "train/resnet-config.hpp"

namespace versus::predict {

namespace {

// Transformers the engine does not build, for public results: the multiplied weights per token (blocks and
// head), layers, width, and the keys a query attends to on average with the number of score products.
struct PublicTransformer {
    const char* name;
    double matmul_params;
    int n_layer, d_attn;
    int64_t seq;        // the model's usual training sequence
    int64_t mem = 0;    // Transformer-XL's cached segment
    bool causal = true;
    int score_products = 1;  // Transformer-XL adds relative-position scores
};

// BERT: 12 (base) or 24 (large) blocks of 4 d^2 + 2 d ff; its span or classifier head is negligible. DistilBERT:
// 6 blocks of BERT-base. Transformer-XL as NVIDIA's DeepLearningExamples train it on WikiText-103: blocks of
// 4 d^2 + 2 d ff plus the d x d relative-position projection, and an adaptive softmax over 267,735 words whose
// head cluster (20,000 words + 3 tails) dominates: about 27,000 x d multiply-adds per token for base (tails at
// full width) and 21,000 x d for large (tails at d/4 and below).
constexpr PublicTransformer PUBLIC_TRANSFORMERS[] = {
    {"bert-base", 12 * 7077888.0, 12, 768, 384, 0, false, 1},
    {"bert-large", 24 * 12582912.0, 24, 1024, 384, 0, false, 1},
    {"distilbert", 6 * 7077888.0, 6, 768, 128, 0, false, 1},
    {"transformer-xl-base", 16 * (3145728.0 + 262144.0) + 27000.0 * 512, 16, 512, 192, 192, true, 2},
    {"transformer-xl-large", 18 * (12582912.0 + 1048576.0) + 21000.0 * 1024, 18, 1024, 384, 384, true, 2},
};

// Ampere and later NVIDIA GPUs run TF32 on their tensor cores at half the FP16 (FP32-accumulate) rate.
bool has_tf32(const Platform& p) {
    if (p.vendor != "nvidia" || !p.fp16_tensor_TFLOPS) return false;
    for (const char* old : {"Volta", "Turing", "Pascal"})
        if (p.family.find(old) != std::string::npos) return false;
    return true;
}

// Default when no entry applies: a third of the peak, 0.1-0.6 of it.
constexpr double DEFAULT_UTILISATION = 1.0 / 3, DEFAULT_LO = 0.3, DEFAULT_HI = 1.8;

}  // namespace

const char* train_precision_name(TrainPrecision p) {
    return p == TrainPrecision::FP32 ? "fp32" : p == TrainPrecision::TF32 ? "tf32" : "mixed";
}

TrainPrecision parse_train_precision(std::string_view s) {
    if (s == "fp32" || s == "f32") return TrainPrecision::FP32;
    if (s == "tf32") return TrainPrecision::TF32;
    if (s == "amp" || s == "mixed" || s == "fp16" || s == "bf16") return TrainPrecision::MIXED;
    throw UsageError("precision", fmt::format("'{}' is not a training precision", s), "fp32, tf32, amp, fp16 or bf16");
}

std::vector<std::string> training_model_names(const std::string& workload) {
    if (workload == "train-resnet50") return {"resnet50", "resnet50-cifar"};
    std::vector<std::string> out = train::gpt_preset_names();
    for (const auto& m : PUBLIC_TRANSFORMERS) out.emplace_back(m.name);
    return out;
}

TrainingModel training_model(const std::string& workload, const std::string& model, int64_t seq) {
    TrainingModel m;
    m.workload = workload;
    m.name = model;
    if (workload == "train-resnet50") {
        const bool cifar = model == "resnet50-cifar" || model == "cifar-10";
        if (!cifar && model != "resnet50" && model != "imagenet-1k")
            throw UsageError("model", fmt::format("no ResNet '{}'", model), "resnet50 (ImageNet) or resnet50-cifar");
        const auto c = train::resnet50_config(cifar ? "cifar-10" : "imagenet-1k");
        m.name = cifar ? "resnet50-cifar" : "resnet50";
        m.unit = "images/s";
        m.flops_per_item = train::resnet50_train_flops_per_image(c);
        m.epoch_items = c.epoch_images;
        return m;
    }
    if (workload != "train-gpt")
        throw UsageError("workload", fmt::format("no training workload '{}'", workload), "train-resnet50 or train-gpt");
    m.unit = "tokens/s";
    for (const auto& t : PUBLIC_TRANSFORMERS) {
        if (model != t.name) continue;
        m.seq = seq > 0 ? seq : t.seq;
        // Attention per token and layer: d multiply-adds per key for each product (QK^T, PV, and Transformer-XL's
        // position scores), 2 FLOPs each, x 3 for training.
        const double keys = static_cast<double>(t.mem) + (t.causal ? m.seq / 2.0 : static_cast<double>(m.seq));
        m.flops_per_item = 6 * t.matmul_params + 6.0 * (t.score_products + 1) * t.n_layer * t.d_attn * keys;
        m.params = t.matmul_params;
        return m;
    }
    const auto c = train::gpt_preset(model);  // UsageError names the presets
    m.seq = seq > 0 ? seq : c.max_seq;
    m.flops_per_item = train::gpt_train_flops_per_token(c, m.seq);
    m.params = static_cast<double>(train::param_layout(c).total);
    return m;
}

double training_peak(const Platform& p, TrainPrecision prec, std::string* from) {
    auto pick = [&](const std::optional<double>& v, const char* name, double k = 1) {
        *from = fmt::format("{} {:.4g} TFLOPS (spec)", name, *v * k);
        return *v * k * 1e12;
    };
    if (prec == TrainPrecision::TF32 && has_tf32(p)) return pick(p.fp16_tensor_TFLOPS, "TF32 tensor (half of FP16)", 0.5);
    if (prec == TrainPrecision::MIXED) {
        if (p.bf16_tensor_TFLOPS) return pick(p.bf16_tensor_TFLOPS, "BF16 tensor");
        if (p.fp16_tensor_TFLOPS) return pick(p.fp16_tensor_TFLOPS, "FP16 tensor");
        if (p.fp16_TFLOPS) return pick(p.fp16_TFLOPS, "FP16");
    }
    if (p.fp32_TFLOPS && *p.fp32_TFLOPS > 0)
        return pick(p.fp32_TFLOPS, p.id == "local" ? "FP32 (measured FMA peak)" : "FP32");
    *from = "no peak in the spec row";
    return 0;
}

// ---- calibration table ----------------------------------------------------------------------------------

void TrainingCalibration::set(const std::string& scope, const std::string& workload, TrainPrecision prec,
                              const TrainingEfficiency& e) {
    for (auto& x : entries_)
        if (x.scope == scope && x.workload == workload && x.prec == prec) {
            x.e = e;
            return;
        }
    entries_.push_back({scope, workload, prec, e});
}

void TrainingCalibration::set_scaling(const std::string& vendor, int gpus, double efficiency) {
    scaling_[{vendor, gpus}] = efficiency;
}

std::optional<TrainingEfficiency> TrainingCalibration::lookup(const Platform& p, const std::string& workload,
                                                              TrainPrecision prec) const {
    auto find = [&](const std::string& scope, TrainPrecision pr) -> const TrainingEfficiency* {
        for (const auto& x : entries_)
            if (x.scope == scope && x.workload == workload && x.prec == pr) return &x.e;
        return nullptr;
    };
    const std::string vendor = p.id == "local" ? "local" : vendor_group(p);
    for (const std::string& scope : {p.family, vendor})
        if (const auto* e = find(scope, prec)) return *e;
    // Another precision of the same family or vendor: the utilisation carries over, less surely.
    for (const std::string& scope : {p.family, vendor})
        for (TrainPrecision other : {TrainPrecision::MIXED, TrainPrecision::TF32, TrainPrecision::FP32})
            if (const auto* e = find(scope, other)) {
                TrainingEfficiency w = *e;
                w.ratio_lo *= BORROWED_LOW;
                w.ratio_hi *= BORROWED_HIGH;
                w.scope = e->scope + fmt::format(" ({})", train_precision_name(other));
                return w;
            }
    return std::nullopt;
}

double TrainingCalibration::model_factor(const std::string& model) const {
    const auto it = model_factor_.find(model);
    return it == model_factor_.end() ? 1.0 : it->second;
}

double TrainingCalibration::scaling(const Platform& p, int gpus) const {
    if (gpus <= 1) return 1.0;
    const std::string vendor = vendor_group(p);
    int best = 0;
    double eff = 1;
    for (const auto& [key, e] : scaling_)
        if (key.first == vendor && (best == 0 || std::abs(std::log2(key.second) - std::log2(gpus)) <
                                                     std::abs(std::log2(best) - std::log2(gpus))))
            best = key.second, eff = e;
    if (best == 0) return 0.9;  // no multi-GPU row of the vendor: 10% lost to communication, assumed
    // Carried to another count in log2(gpus): each doubling costs the same share.
    return std::pow(eff, std::log2(static_cast<double>(gpus)) / std::log2(static_cast<double>(best)));
}

const TrainingCalibration& TrainingCalibration::builtin() {
    static const TrainingCalibration c = [] {
        const auto files = detail::embedded_training_calibration_files();
        return files.empty() ? TrainingCalibration{} : from_csv(files.front().text, "data/calibration/training.csv");
    }();
    return c;
}

std::string TrainingCalibration::to_csv() const {
    std::string out = "scope,workload,precision,utilisation,ratio_lo,ratio_hi,n_rows\n";
    for (const auto& x : entries_)
        out += fmt::format("{},{},{},{:.4f},{:.3f},{:.3f},{}\n", x.scope, x.workload, train_precision_name(x.prec),
                           x.e.utilisation, x.e.ratio_lo, x.e.ratio_hi, x.e.n_rows);
    for (const auto& [key, e] : scaling_) out += fmt::format("{},scaling,{},{:.4f},,,\n", key.first, key.second, e);
    for (const auto& [model, k] : model_factor_) out += fmt::format("{},model,any,{:.4f},,,\n", model, k);
    return out;
}

TrainingCalibration TrainingCalibration::from_csv(std::string_view text, const std::string& place) {
    base::CsvTable t(text, place);
    t.require({"scope", "workload", "precision", "utilisation"}, "write it with versus calibrate");
    TrainingCalibration c;
    for (const auto& row : t.rows()) {
        const std::string where = fmt::format("{}:{}", place, row.line);
        auto num = [&](std::string_view col, bool required) {
            const std::string s(t.cell(row, col));
            if (s.empty() && !required) return 0.0;
            char* end = nullptr;
            const double v = std::strtod(s.c_str(), &end);
            if (s.empty() || *end || !std::isfinite(v)) throw UsageError(where, fmt::format("{} '{}' is not a number", col, s));
            return v;
        };
        const std::string scope(t.cell(row, "scope")), workload(t.cell(row, "workload")), prec(t.cell(row, "precision"));
        if (workload == "scaling") {
            c.set_scaling(scope, std::atoi(prec.c_str()), num("utilisation", true));
            continue;
        }
        if (workload == "model") {
            c.set_model_factor(scope, num("utilisation", true));
            continue;
        }
        TrainingEfficiency e;
        e.utilisation = num("utilisation", true);
        e.ratio_lo = num("ratio_lo", true);
        e.ratio_hi = num("ratio_hi", true);
        e.n_rows = static_cast<int>(num("n_rows", false));
        e.scope = scope;
        c.set(scope, workload, parse_train_precision(prec), e);
    }
    return c;
}

// ---- prediction -------------------------------------------------------------------------------------------

TrainingPrediction predict_training(const Platform& p, const TrainingQuery& q, const TrainingCalibration& cal) {
    TrainingPrediction t;
    t.platform_id = p.id;
    std::string from;
    const double peak = training_peak(p, q.precision, &from);
    if (peak <= 0) throw UsageError(p.id, "the spec database has no peak for it", "choose another platform");
    const int gpus = std::max(1, q.gpus);
    const double scale = gpus * cal.scaling(p, gpus);
    t.bare_per_s = scale * peak / q.model.flops_per_item;
    const auto e = cal.lookup(p, q.model.workload, q.precision);
    if (e) {
        t.calibration = *e;
    } else {
        t.calibration.utilisation = DEFAULT_UTILISATION;
        t.calibration.ratio_lo = DEFAULT_LO;
        t.calibration.ratio_hi = DEFAULT_HI;
    }
    const double k = cal.model_factor(q.model.name);
    const double v = t.bare_per_s * t.calibration.utilisation * k;
    t.per_s = {v, v * t.calibration.ratio_lo, v * t.calibration.ratio_hi};
    t.rests_on.push_back(fmt::format("{}; {:.3g} GFLOP per {} ({} {})", from, q.model.flops_per_item / 1e9,
                                     q.model.unit == "images/s" ? "image" : "token", q.model.name,
                                     q.model.seq ? fmt::format("at sequence {}", q.model.seq) : std::string("training")));
    t.rests_on.push_back(e ? fmt::format("utilisation {:.3g} of the {} peak{}, calibrated on {} row{} ({}; "
                                         "measured/predicted {:.2f}-{:.2f})",
                                         e->utilisation * k, train_precision_name(q.precision),
                                         k != 1 ? fmt::format(" ({:.3g} x {} factor {:.2f})", e->utilisation, q.model.name, k) : "",
                                         e->n_rows, e->n_rows == 1 ? "" : "s", e->scope, e->ratio_lo, e->ratio_hi)
                           : fmt::format("utilisation {:.2f} assumed: no calibration entry for {} {} {}",
                                         DEFAULT_UTILISATION, p.family, q.model.workload, train_precision_name(q.precision)));
    if (gpus > 1)
        t.rests_on.push_back(fmt::format("{} GPUs at {:.0f}% scaling efficiency", gpus, 100 * cal.scaling(p, gpus)));
    if (q.model.epoch_items > 0) {
        const double n = static_cast<double>(q.model.epoch_items);
        t.epoch_s = Estimate{n / t.per_s.value, n / t.per_s.high, n / t.per_s.low};
    }
    if (auto w = load_power(p)) {
        const Estimate watts{w->value * gpus, w->low * gpus, w->high * gpus};
        t.joules_per_item = Estimate{watts.value / t.per_s.value, watts.low / t.per_s.high, watts.high / t.per_s.low};
        t.rests_on.push_back(fmt::format("power {:.0f} W per device (spec, assumed under load)", w->value));
    }
    return t;
}

}  // namespace versus::predict
