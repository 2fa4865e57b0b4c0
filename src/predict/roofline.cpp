#include "predict/roofline.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "predict/fit.hpp"

namespace versus::predict {

const char* phase_name(Phase p) { return p == Phase::PREFILL ? "prefill" : "decode"; }

double layer_passes(Phase phase, int64_t n_prompt) {
    if (phase == Phase::DECODE) return 1.0;
    return std::ceil(static_cast<double>(n_prompt) / static_cast<double>(PREFILL_BATCH));
}

std::optional<Estimate> load_power(const Platform& p) {
    const double pmax = p.power_max_W.value_or(0), ptyp = p.power_typical_W.value_or(pmax * 0.75);
    if (ptyp <= 0) return std::nullopt;
    return Estimate{ptyp, ptyp * 0.7, std::max(ptyp, pmax)};
}

const char* bound_name(Bound b) {
    switch (b) {
        case Bound::COMPUTE: return "compute";
        case Bound::MEMORY: return "memory";
        case Bound::LINK: return "link";
        case Bound::OVERHEAD: return "overhead";
    }
    return "?";
}

std::string format_number(double v) { return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v); }

std::string format_estimate(const Estimate& e) {
    return fmt::format("{} ({}-{})", format_number(e.value), format_number(e.low), format_number(e.high));
}

std::string type_class(const llm::FileType& ft) {
    switch (ft.base) {
        case llm::GgmlType::F32:
        case llm::GgmlType::F16:
        case llm::GgmlType::BF16: return "f16";
        case llm::GgmlType::Q8_0: return "q8";
        default: return "q4";
    }
}

namespace {

constexpr double TERA = 1e12, GIGA = 1e9;
// Offloaded layers' weights cross the host link: its spec rate, else a PCIe 4.0 x16 figure, of which
// copies reach this share.
constexpr double ASSUMED_HOST_LINK_GBPS = 16.0, HOST_LINK_SHARE = 0.8;

// The first of the candidates the spec row gives, with its name.
double first_peak(std::initializer_list<std::pair<const std::optional<double>*, const char*>> c, std::string* from) {
    for (const auto& [v, name] : c)
        if (*v && **v > 0) {
            *from = fmt::format("{} {:.4g} TFLOPS (spec)", name, **v);
            return **v * TERA;
        }
    *from = "no peak in the spec row";
    return 0;
}

}  // namespace

namespace {

// Apple publishes no GPU TFLOPS after the M2: an Apple GPU core has 128 FP32 lanes, each an FMA per clock at
// the FP16 rate too, so the rate is cores x 256 x clock; the clock is assumed (docs/predictor.md).
constexpr double APPLE_ASSUMED_GPU_GHZ = 1.5;

}  // namespace

DeviceRates device_rates(const Platform& p, Phase phase, const llm::FileType& ft) {
    if (p.vendor == "apple" && p.device_kind == DeviceKind::GPU && !p.fp32_TFLOPS && !p.fp16_TFLOPS && p.gpu_cores) {
        Platform derived = p;
        derived.fp32_TFLOPS = derived.fp16_TFLOPS = *p.gpu_cores * 256 * APPLE_ASSUMED_GPU_GHZ / 1e3;
        DeviceRates r = device_rates(derived, phase, ft);
        r.peak_from += fmt::format(", derived: {} cores x 256 x {} GHz assumed", *p.gpu_cores, APPLE_ASSUMED_GPU_GHZ);
        return r;
    }
    DeviceRates r;
    r.bandwidth_Bps = p.mem_bw_GBps * GIGA;
    r.bandwidth_from = fmt::format("memory bandwidth {:.4g} GB/s (spec)", p.mem_bw_GBps);
    const std::string tc = type_class(ft);
    if (phase == Phase::DECODE) {
        // One token: matrix-vector products on the plain vector units, never the matrix engines.
        r.peak_flops = first_peak({{&p.fp32_TFLOPS, "FP32"}, {&p.fp16_TFLOPS, "FP16"}}, &r.peak_from);
    } else if (tc == "f16") {
        r.peak_flops = first_peak({{&p.fp16_tensor_TFLOPS, "FP16 tensor"}, {&p.bf16_tensor_TFLOPS, "BF16 tensor"},
                                   {&p.fp16_TFLOPS, "FP16"}, {&p.fp32_TFLOPS, "FP32"}},
                                  &r.peak_from);
    } else {
        // Quantized prefill: llama.cpp dequantizes large batches to f16 for the matrix units (cuBLAS, Metal
        // simdgroup matrices) in the builds the calibration data comes from, so the f16 rate bounds it; a CPU
        // multiplies int8 blocks.
        if (p.device_kind == DeviceKind::CPU)
            r.peak_flops = first_peak({{&p.int8_TOPS, "INT8"}, {&p.fp32_TFLOPS, "FP32"}}, &r.peak_from);
        else
            r.peak_flops = first_peak({{&p.fp16_tensor_TFLOPS, "FP16 tensor"}, {&p.bf16_tensor_TFLOPS, "BF16 tensor"},
                                       {&p.fp16_TFLOPS, "FP16"}, {&p.fp32_TFLOPS, "FP32"}, {&p.int8_TOPS, "INT8"}},
                                      &r.peak_from);
    }
    return r;
}

std::vector<uint64_t> LlmQuery::layer_bytes() const {
    if (!file_weights) return llm::layer_weight_bytes(model, ftype);
    const auto& w = *file_weights;
    const uint64_t n = static_cast<uint64_t>(std::max<int64_t>(1, model.n_layer));
    return std::vector<uint64_t>(static_cast<size_t>(n), (w.total_bytes - w.embd_bytes - w.output_bytes) / n);
}

Roofline roofline_seconds(const DeviceRates& r, const LlmQuery& q, Phase phase) {
    const llm::WeightSummary w = q.weights();
    double flops = 0, bytes = 0;
    if (phase == Phase::PREFILL) {
        // FLOPs grow linearly with the position, so the mean position gives the exact sum.
        const int64_t mid = q.depth + q.n_prompt / 2;
        flops = static_cast<double>(q.n_prompt) * llm::flops_per_token(q.model, mid);
        bytes = llm::bytes_per_decode_token(q.model, w, q.depth + q.n_prompt);  // weights once per batch
    } else {
        const int64_t mid = q.depth + q.n_gen / 2;
        flops = llm::flops_per_token(q.model, mid);
        bytes = llm::bytes_per_decode_token(q.model, w, mid);
    }
    const double t_compute = r.peak_flops > 0 ? flops / r.peak_flops : 0;
    const double t_memory = r.bandwidth_Bps > 0 ? bytes / r.bandwidth_Bps : 0;
    return {std::max(t_compute, t_memory), t_compute > t_memory ? Bound::COMPUTE : Bound::MEMORY};
}

// ---- calibration table ----------------------------------------------------------------------------

void Calibration::set(const std::string& scope, Phase phase, const std::string& tclass, const Efficiency& e) {
    for (auto& x : entries_)
        if (x.scope == scope && x.phase == phase && x.tclass == tclass) {
            x.e = e;
            return;
        }
    entries_.push_back({scope, phase, tclass, e});
    entries_.back().e.scope = scope;
}

Efficiency Calibration::lookup(const Platform& p, Phase phase, const std::string& tclass) const {
    const std::string vendor = p.device_kind == DeviceKind::CPU ? "cpu" : p.vendor;
    auto find = [&](const std::string& scope, const std::string& tc) -> const Efficiency* {
        for (const auto& x : entries_)
            if (x.scope == scope && x.phase == phase && x.tclass == tc) return &x.e;
        return nullptr;
    };
    if (const auto* e = find(p.family, tclass)) return *e;
    if (const auto* e = find(vendor, tclass)) return *e;
    // Another format of the same family or vendor, its range widened: the kernels differ by format.
    for (const std::string& scope : {p.family, vendor})
        for (const char* tc : {"q4", "q8", "f16"})
            if (const auto* e = find(scope, tc)) {
                Efficiency w = *e;
                w.ratio_lo *= BORROWED_LOW;
                w.ratio_hi *= BORROWED_HIGH;
                w.scope = scope + " (" + tc + " rows, range widened)";
                return w;
            }
    Efficiency none;
    none.ratio_lo = 0.3;  // the bare roofline is an upper bound; real code reaches a fraction of it
    none.ratio_hi = 1.0;
    return none;
}

const Calibration& Calibration::builtin() {
    static const Calibration c = [] {
        const auto files = detail::embedded_calibration_files();
        return files.empty() ? Calibration{} : from_csv(files.front().text, "data/calibration/llm.csv");
    }();
    return c;
}

std::string Calibration::to_csv() const {
    std::string out = "scope,phase,type_class,a,c_layer_us,ratio_lo,ratio_hi,n_rows\n";
    for (const auto& x : entries_)
        out += fmt::format("{},{},{},{:.4f},{:.3f},{:.3f},{:.3f},{}\n", x.scope, phase_name(x.phase), x.tclass, x.e.a,
                           x.e.c_layer_s * 1e6, x.e.ratio_lo, x.e.ratio_hi, x.e.n_rows);
    return out;
}

Calibration Calibration::from_csv(std::string_view text, const std::string& place) {
    base::CsvTable t(text, place);
    t.require({"scope", "phase", "type_class", "a", "c_layer_us", "ratio_lo", "ratio_hi", "n_rows"},
              "write it with versus calibrate");
    Calibration c;
    for (const auto& row : t.rows()) {
        const std::string where = fmt::format("{}:{}", place, row.line);
        auto num = [&](const char* col) {
            const std::string s(t.cell(row, col));
            char* end = nullptr;
            const double v = std::strtod(s.c_str(), &end);
            if (s.empty() || *end || !std::isfinite(v) || v < 0)
                throw UsageError(where, fmt::format("{} '{}' is not a number >= 0", col, s), "write it with versus calibrate");
            return v;
        };
        const std::string phase(t.cell(row, "phase"));
        if (phase != "prefill" && phase != "decode")
            throw UsageError(where, fmt::format("phase '{}'", phase), "prefill or decode");
        Efficiency e;
        e.a = num("a");
        e.c_layer_s = num("c_layer_us") * 1e-6;
        e.ratio_lo = num("ratio_lo");
        e.ratio_hi = num("ratio_hi");
        e.n_rows = static_cast<int>(num("n_rows"));
        if (e.a <= 0 || e.ratio_lo > e.ratio_hi) throw UsageError(where, "a must be > 0 and ratio_lo <= ratio_hi");
        c.set(std::string(t.cell(row, "scope")), phase == "prefill" ? Phase::PREFILL : Phase::DECODE,
              std::string(t.cell(row, "type_class")), e);
    }
    return c;
}

// ---- prediction ------------------------------------------------------------------------------------

namespace {

Estimate tps_estimate(double seconds, double tokens, const Efficiency& e) {
    const double v = tokens / seconds;
    return {v, v * e.ratio_lo, v * e.ratio_hi};
}

// The rates of the CPU that runs offloaded layers: the host beside a discrete GPU, or the CPU cores of an
// Apple chip (which reach about half the chip's bandwidth; docs/predictor.md).
const Platform& host_cpu(const Platform& p) {
    static const Platform fallback = [] {
        Platform h;
        h.id = "host-cpu";
        h.vendor = "cpu";
        h.family = "cpu";
        h.device_kind = DeviceKind::CPU;
        h.mem_bw_GBps = 60.0;
        h.fp32_TFLOPS = 1.0;
        return h;
    }();
    const char* id = p.vendor == "apple" ? nullptr : (p.host_link.find("pcie") != std::string::npos &&
                                                              (p.family.find("geforce") != std::string::npos ||
                                                               p.id.starts_with("rtx-"))
                                                          ? "ryzen-7950x"
                                                          : "xeon-spr");
    if (id)
        for (const auto& x : platforms())
            if (x.id == id) return x;
    return fallback;
}

}  // namespace

LlmPrediction predict_llm(const Platform& p, const LlmQuery& q, const Calibration& cal, const PredictOptions& opt) {
    LlmPrediction out;
    out.platform_id = p.id;
    out.plan = plan_memory(p, q, opt);
    out.rests_on.push_back(fmt::format("{}: {}", p.id, p.source.empty() ? "spec database" : p.source));
    if (!out.plan.fits) return out;

    const std::string tc = type_class(q.ftype);
    const int64_t L = q.model.n_layer, L_dev = out.plan.layers_on_device, L_host = L - L_dev;
    Platform apple_cpu;
    const Platform* host = nullptr;
    if (L_host > 0) {
        if (p.memory_kind == MemoryKind::UNIFIED) {
            apple_cpu = p;
            apple_cpu.device_kind = DeviceKind::CPU;
            apple_cpu.mem_bw_GBps = p.mem_bw_GBps * 0.5;
            apple_cpu.fp16_tensor_TFLOPS.reset();
            apple_cpu.int8_TOPS.reset();
            apple_cpu.fp32_TFLOPS = p.fp32_TFLOPS.value_or(1) * 0.1;
            host = &apple_cpu;
        } else {
            host = &host_cpu(p);
        }
    }

    for (Phase phase : {Phase::PREFILL, Phase::DECODE}) {
        const Efficiency e = cal.lookup(p, phase, tc);
        const DeviceRates r = device_rates(p, phase, q.ftype);
        const double tokens = phase == Phase::PREFILL ? static_cast<double>(q.n_prompt) : 1.0;
        const double passes = layer_passes(phase, q.n_prompt);  // fixed costs come once per pass
        double t = 0;
        Bound bound;
        if (L_host == 0 || L_dev == L) {
            const Roofline roof = roofline_seconds(r, q, phase);
            const double compute = e.a * roof.seconds, fixed = e.c_layer_s * static_cast<double>(L) * passes;
            t = compute + fixed;
            bound = fixed > compute ? Bound::OVERHEAD : roof.bound;
        } else if (phase == Phase::PREFILL && p.memory_kind == MemoryKind::DISCRETE) {
            // llama.cpp runs a large batch on the GPU for every layer and streams the host layers' weights
            // over the link once per prefill batch.
            const Roofline roof = roofline_seconds(r, q, phase);
            const double host_w = static_cast<double>(L_host) / static_cast<double>(L) * out.plan.weight_bytes;
            const double link_GBps = p.host_link_GBps.value_or(ASSUMED_HOST_LINK_GBPS);
            const double link = link_GBps * GIGA * HOST_LINK_SHARE;
            const double t_link = host_w * passes / link;
            const double compute = e.a * roof.seconds + e.c_layer_s * static_cast<double>(L) * passes;
            t = compute + t_link;
            bound = t_link > compute ? Bound::LINK : roof.bound;
            out.rests_on.push_back(fmt::format("link {:.4g} GB/s x {} for {} offloaded layers (assumed)", link_GBps,
                                               HOST_LINK_SHARE, L_host));
        } else {
            // The layers in host memory run on the CPU, one after the other with the device's: each side
            // takes its share of the layers of the whole model's roofline.
            const double f_dev = static_cast<double>(L_dev) / static_cast<double>(L), f_host = 1.0 - f_dev;
            const Roofline roof_dev = roofline_seconds(r, q, phase);
            const Efficiency eh = cal.lookup(*host, phase, tc);
            const Roofline roof_host = roofline_seconds(device_rates(*host, phase, q.ftype), q, phase);
            const double t_dev = f_dev * e.a * roof_dev.seconds + e.c_layer_s * static_cast<double>(L_dev);
            const double t_host = f_host * eh.a * roof_host.seconds + eh.c_layer_s * static_cast<double>(L_host);
            t = t_dev + t_host;
            bound = roof_host.bound;
            out.rests_on.push_back(fmt::format("{} layers on {} ({:.4g} GB/s, assumed)", L_host, host->id,
                                               host->mem_bw_GBps));
        }
        PhaseEstimate pe{tps_estimate(t, tokens, e), bound, e};
        out.rests_on.push_back(fmt::format("{} {} on {}: {}; calibration {} ({} rows, a={:.3g}, {:.3g} us/layer)",
                                           phase_name(phase), tc, r.peak_from, r.bandwidth_from, e.scope, e.n_rows,
                                           e.a, e.c_layer_s * 1e6));
        (phase == Phase::PREFILL ? out.prefill : out.decode) = pe;
    }
    const auto& pp = out.prefill->tokens_per_s;
    const double n = static_cast<double>(q.n_prompt);
    out.ttft_ms = Estimate{n / pp.value * 1e3, n / pp.high * 1e3, n / pp.low * 1e3};

    // Load power from the spec, not measured: docs/predictor.md.
    if (const auto power = load_power(p)) {
        const Estimate w = *power;
        const auto& tg = out.decode->tokens_per_s;
        out.watts = w;
        out.joules_per_token = Estimate{w.value / tg.value, w.low / tg.high, w.high / tg.low};
        out.rests_on.push_back(fmt::format("power {:.0f} W typical, {:.0f} W max (spec, assumed under load)", w.value,
                                           w.high));
    }
    return out;
}

}  // namespace versus::predict
