// roofline: the LLM inference model of the predictor. Per phase,
//   time = a * max(FLOPs / peak, bytes / bandwidth) + c * n_layer
// where FLOPs and bytes come from llm/config (the functions the llm workload reports with), peak and
// bandwidth from the spec database (or this machine's measurements), and (a, c) from a calibration
// table fitted on measurements: a >= 1 is the inverse of the efficiency reached, c the fixed cost per
// layer per step (kernel launches, synchronisation) that makes small models slower than bandwidth alone.
// Formulas: docs/metrics.md ("Prediction"); choices and evidence: docs/predictor.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llm/config.hpp"
#include "predict/specs.hpp"

namespace versus::predict {

enum class Phase { PREFILL, DECODE };
const char* phase_name(Phase p);

enum class Bound { COMPUTE, MEMORY, LINK, OVERHEAD };
const char* bound_name(Bound b);

// A figure and the range the calibration's residuals give it.
struct Estimate {
    double value = 0, low = 0, high = 0;
};

// llama.cpp's default prefill batch (-b 512): prefill passes over the layers once per this many tokens,
// and sizes its compute buffer for it.
inline constexpr int64_t PREFILL_BATCH = 512;
// Passes over the layers a phase makes: one per token in decode, one per PREFILL_BATCH tokens in prefill.
double layer_passes(Phase phase, int64_t n_prompt);

// Load power from the spec (not measured): typical board power, else 3/4 of the maximum; the range runs
// from 70% of it to the maximum. Nothing when the spec gives neither.
std::optional<Estimate> load_power(const Platform& p);

// A calibration borrowed from another weight format or precision of the same family or vendor carries
// over less surely: its range is widened by these factors.
inline constexpr double BORROWED_LOW = 0.8, BORROWED_HIGH = 1.2;

// "7139" / "94.5" / "0.0123": whole numbers from 100 up, else three significant digits.
std::string format_number(double v);
// "7139 (6430-8740)".
std::string format_estimate(const Estimate& e);

// Weight formats grouped by how the kernels treat them: "f16" (16-32 bit floats, GEMM on floats),
// "q8" (8-bit blocks), "q4" (4-6 bit blocks, legacy and K-quants, dequantized on the fly).
std::string type_class(const llm::FileType& ft);

// The rates a device offers one LLM phase, and where each came from.
struct DeviceRates {
    double bandwidth_Bps = 0;  // memory the weights live in
    double peak_flops = 0;     // the arithmetic the phase's matmuls use
    std::string bandwidth_from, peak_from;
};
DeviceRates device_rates(const Platform& p, Phase phase, const llm::FileType& ft);

// One calibration entry: time = a * roofline + c_layer_s * n_layer; measured/predicted tokens/s of the
// rows it was fitted on fall between ratio_lo and ratio_hi (10th and 90th percentiles).
struct Efficiency {
    double a = 1.0, c_layer_s = 0.0;
    double ratio_lo = 1.0, ratio_hi = 1.0;
    int n_rows = 0;
    std::string scope = "uncalibrated";  // the family, vendor or "local" it came from
};

// The table of entries by (scope, phase, type class). Lookup goes from the platform's family to its
// vendor (device kind for CPUs) to "any"; nothing found gives the bare roofline (a = 1, c = 0), an upper
// bound, with a range of [0.3, 1] x.
class Calibration {
public:
    // The table fitted on data/backtest/fit.csv, embedded at build time.
    static const Calibration& builtin();
    static Calibration none() { return {}; }
    // Reads the CSV written by to_csv(); throws UsageError naming the place and line.
    static Calibration from_csv(std::string_view text, const std::string& place);
    std::string to_csv() const;

    void set(const std::string& scope, Phase phase, const std::string& tclass, const Efficiency& e);
    Efficiency lookup(const Platform& p, Phase phase, const std::string& tclass) const;
    bool empty() const { return entries_.empty(); }

private:
    struct Entry {
        std::string scope;
        Phase phase;
        std::string tclass;
        Efficiency e;
    };
    std::vector<Entry> entries_;
};

// A llama-bench style test: n_prompt tokens of prefill or n_gen of decode after `depth` tokens.
struct LlmQuery {
    std::string model_name;
    llm::ModelConfig model;
    llm::FileType ftype;
    int64_t n_prompt = 512;
    int64_t n_gen = 128;
    int64_t depth = 0;
    int64_t n_ctx = 0;  // KV cache allocated; 0: depth + n_prompt + n_gen
    // The bytes of a real file (--gguf) instead of what `ftype` gives the shape.
    std::optional<llm::WeightSummary> file_weights;
    int64_t ctx() const { return n_ctx > 0 ? n_ctx : depth + n_prompt + n_gen; }
    llm::WeightSummary weights() const { return file_weights ? *file_weights : llm::weight_summary(model, ftype); }
    // Each block's weights: the file type's mix, or even shares of a real file's blocks.
    std::vector<uint64_t> layer_bytes() const;
};

// Where the model's layers go (see fit.hpp for how the budget is found).
struct MemoryPlan {
    double budget_bytes = 0;  // usable by the accelerator (all RAM for a CPU)
    std::string budget_rule;
    double host_bytes = 0;  // host RAM for the offloaded part (discrete GPUs; 0 elsewhere)
    std::string host_rule;
    double weight_bytes = 0, kv_bytes = 0, working_bytes = 0;
    double device_bytes = 0, host_used_bytes = 0;  // where they went
    int64_t n_layer = 0, layers_on_device = 0;
    bool fits_device = false;  // everything on the accelerator
    bool fits = false;         // on the accelerator and, offloaded, in host RAM
    std::string summary;       // "all 80 layers on the GPU", "62/80 layers on the GPU, 18 in host RAM", ...
    double need_bytes() const { return weight_bytes + kv_bytes + working_bytes; }
};

struct PhaseEstimate {
    Estimate tokens_per_s;
    Bound bound = Bound::MEMORY;
    Efficiency calibration;
};

struct LlmPrediction {
    std::string platform_id;
    MemoryPlan plan;
    std::optional<PhaseEstimate> prefill, decode;  // absent when the model does not fit
    std::optional<Estimate> ttft_ms, joules_per_token, watts;
    std::vector<std::string> rests_on;  // which inputs were specs, measured, calibrated or assumed
};

struct PredictOptions {
    double host_ram_GB = 0;          // host RAM beside a discrete GPU; 0: the default (fit.hpp)
    double apple_wired_limit_GB = 0;  // iogpu.wired_limit_mb raised by the user; 0: macOS's default
};

LlmPrediction predict_llm(const Platform& p, const LlmQuery& q, const Calibration& cal, const PredictOptions& opt = {});

// The bare roofline seconds of one phase (a = 1, c = 0) and what bounds it — the quantity the
// calibration scales. Prefill: the whole prompt; decode: one token at the mean depth of the n_gen tokens.
struct Roofline {
    double seconds = 0;
    Bound bound = Bound::MEMORY;
};
Roofline roofline_seconds(const DeviceRates& r, const LlmQuery& q, Phase phase);

namespace detail {
// data/calibration/llm.csv, compiled in (generated embedded-calibration.cpp).
std::span<const EmbeddedFile> embedded_calibration_files();
}  // namespace detail

}  // namespace versus::predict
