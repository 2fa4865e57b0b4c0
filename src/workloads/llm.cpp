// llm: LLM inference in the manner of llama-bench. Each (prompt, gen) pair of the sweep becomes a
// prefill row (n_prompt tokens at context depth d: tokens/s, time to first token, MFU) and a decode
// row (n_gen tokens one at a time after depth d: tokens/s, ms/token, MBU). Models are synthetic
// presets generated in memory (--model llama-7b --type q4_0) or GGUF files (--gguf FILE).
//
// Offload (--gpu-layers N, llm/offload.hpp): on a GPU backend (-b cuda) blocks 0 .. N-1 run on the device and
// the rest on the CPU engine; N >= n_layer puts every block and the output there and is recorded as n_layer.
// A GPU row needs an explicit --gpu-layers (so `versus run` keeps its llm rows on the CPU); a CPU row with
// N > 0 is skipped with the reason. Memory is checked against the device's budget for the device part.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "core/params.hpp"
#include "llm/config.hpp"
#include "llm/model.hpp"
#include "llm/offload.hpp"
#include "system/sysinfo.hpp"
#include "workloads/fill.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

using llm::GgmlType;

constexpr int64_t PREFILL_BATCH = 512;  // tokens per forward pass in prefill, as llama-bench's -b

GgmlType type_of(const Params& p) {
    const auto* info = llm::ggml_type_info(p.str("type"));
    return info ? info->type : GgmlType::Q4_0;
}

bool is_gguf(const Params& p) { return p.find("gguf") != nullptr; }
bool is_prefill(const Params& p) { return p.str("phase") == "prefill"; }
int64_t n_tokens(const Params& p) { return is_prefill(p) ? p.integer("n_prompt") : p.integer("n_gen"); }
int64_t depth_of(const Params& p) { return p.integer("depth"); }
// Blocks on the device; 0 when the row has no gpu_layers (a CPU row).
int64_t gpu_layers_of(const Params& p) { return p.find("gpu_layers") ? p.integer("gpu_layers") : 0; }
int64_t batch_of(const Params& p) { return is_prefill(p) ? std::min(n_tokens(p), PREFILL_BATCH) : 1; }
int64_t ctx_of(const Params& p) { return depth_of(p) + n_tokens(p) + 1; }

// What a configuration's model looks like, without loading its weights (GGUF headers are cached).
struct Shape {
    llm::ModelConfig config;
    llm::WeightSummary weights;
    llm::LayerBytes layers;  // per block and output, for the offload plan
    std::string label;  // "llama-7b Q4_0", "mistral-7b.Q4_K_M.gguf"
};

Shape shape_of(const Params& p) {
    static std::map<std::string, Shape> cache;
    if (is_gguf(p)) {
        const std::string& path = p.str("gguf");
        if (auto it = cache.find(path); it != cache.end()) return it->second;
        const auto f = llm::GgufFile::open(path);
        Shape s;
        s.config = llm::config_from_gguf(f);
        for (const auto& t : f.tensors()) {
            s.weights.total_bytes += t.n_bytes;
            if (t.name == "token_embd.weight") s.weights.embd_bytes = t.n_bytes;
            if (t.name == "output.weight") s.weights.output_bytes = t.n_bytes;
        }
        s.layers = llm::layer_bytes(s.config, [&](const llm::TensorSpec& t) {
            const auto* info = f.find_tensor(t.name);
            return info ? info->n_bytes : uint64_t{0};
        });
        s.label = std::filesystem::path(path).filename().string();
        return cache[path] = s;
    }
    Shape s;
    s.config = llm::preset_config(p.str("model"));
    s.weights = llm::weight_summary(s.config, type_of(p));
    s.layers = llm::layer_bytes(s.config, type_of(p));
    s.label = p.str("model") + " " + llm::ggml_type_name(type_of(p));
    return s;
}

// The last model used stays loaded: a sweep over threads or lengths reuses it.
const llm::Model& model_for(const Params& p) {
    static std::string key;
    static std::unique_ptr<llm::Model> model;
    const std::string k = is_gguf(p) ? "gguf:" + p.str("gguf")
                                     : fmt::format("{}:{}:{}", p.str("model"), p.str("type"), p.integer("seed"));
    if (!model || key != k) {
        model.reset();  // free the previous one first: two 7B models may not fit together
        model = std::make_unique<llm::Model>(is_gguf(p) ? llm::Model::load(p.str("gguf"))
                                                        : llm::Model::synthetic(llm::preset_config(p.str("model")),
                                                                                type_of(p),
                                                                                static_cast<uint64_t>(p.integer("seed"))));
        key = k;
    }
    return *model;
}

cpu::ThreadPool& pool_for(int threads) {
    static std::unique_ptr<cpu::ThreadPool> pool;
    if (!pool || pool->size() != threads) {
        pool.reset();
        pool = std::make_unique<cpu::ThreadPool>(threads);
    }
    return *pool;
}

// STREAM triad bandwidth of the device at this thread count, measured once: MBU's denominator.
double measured_bandwidth(const Target& t, int threads) {
    static std::map<std::pair<std::string, int>, double> cache;
    const auto key = std::make_pair(std::string(t.info.name), threads);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    const uint64_t n = 8u << 20;  // 3 arrays x 64 MiB: far beyond any cache
    auto a = t.backend.alloc(t.device, n * 8), b = t.backend.alloc(t.device, n * 8), c = t.backend.alloc(t.device, n * 8);
    std::vector<double> init(n, 1.0);
    t.backend.copy_h2d(t.device, b.get(), init.data(), n * 8);
    t.backend.copy_h2d(t.device, c.get(), init.data(), n * 8);
    double best = 0;
    for (int i = 0; i < 6; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        t.backend.stream(t.device, VERSUS_STREAM_TRIAD, a.get(), b.get(), c.get(), 3.0, n);
        t.backend.synchronize(t.device);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (i > 0) best = std::max(best, base::rate_per_s(24.0 * static_cast<double>(n), s));
    }
    return cache[key] = best;
}

double rss_peak_bytes() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
#if defined(__APPLE__)
    return static_cast<double>(ru.ru_maxrss);
#else
    return static_cast<double>(ru.ru_maxrss) * 1024.0;
#endif
}

// The device part of a row with gpu_layers > 0, or null.
std::unique_ptr<llm::LayerRunner> front_for(const Target& t, const Params& p, const llm::Model& m) {
    const int64_t n = gpu_layers_of(p);
    if (n == 0) return nullptr;
    return llm::make_device_layers(t.backend, t.device, m, std::min(n, m.config().n_layer), ctx_of(p), batch_of(p));
}

class LlmInstance : public Instance {
public:
    // threads: the CPU engine's (the runner's axis on the CPU backend; every core behind a GPU's blocks).
    LlmInstance(const Target& t, const Params& p, int threads)
        : t_(t), model_(model_for(p)), prefill_(is_prefill(p)), n_(n_tokens(p)), depth_(depth_of(p)),
          threads_(threads), pool_(pool_for(threads_)),
          session_(model_, ctx_of(p), batch_of(p), pool_, front_for(t, p, model_)) {
        const auto& c = model_.config();
        // Prompt ids: a fixed pseudo-random sequence, the same on every machine.
        Rng rng(0x6c6c6d);
        prompt_.resize(static_cast<size_t>(prefill_ ? n_ : 1));
        for (auto& id : prompt_) id = static_cast<int32_t>(rng.range(0, c.n_vocab - 1));
        bandwidth_ = measured_bandwidth(t, threads_);
        std::string method;
        const bool quantized = llm::ggml_type_info(model_.layers[0].wq.type).block_elements > 1;
        // The CPU multiplies int8 activations for quantized weights; the GPU's prefill GEMM runs f16 tensor cores.
        const versus_dtype dtype = session_.front_layers() > 0
                                       ? (model_.layers[0].wq.type == GgmlType::F32 ? VERSUS_DTYPE_F32 : VERSUS_DTYPE_F16)
                                       : (quantized ? VERSUS_DTYPE_I8 : VERSUS_DTYPE_F32);
        peak_ = t.backend.peak_flops(t.device, dtype, &method);
    }

    void run() override {
        session_.seek(depth_);
        if (prefill_) {
            last_ = llm::argmax(session_.eval(prompt_));
            return;
        }
        tokens_.clear();
        int32_t tok = prompt_[0];
        for (int64_t i = 0; i < n_; ++i) {
            tok = llm::argmax(session_.eval(std::span<const int32_t>(&tok, 1)));
            tokens_.push_back(tok);
        }
        if (first_.empty()) first_ = tokens_;
    }

    Check check() override {
        Check out;
        if (prefill_) {
            out.checksum = std::to_string(last_);
            return out;
        }
        // Greedy decoding from the same state must give the same tokens every repetition.
        if (tokens_ != first_) out = {false, "", "greedy tokens differ between repetitions"};
        uint64_t h = 1469598103934665603ull;
        for (int32_t id : tokens_) h = (h ^ static_cast<uint32_t>(id)) * 1099511628211ull;
        out.checksum = fmt::format("{:016x}", h);
        return out;
    }

    Metrics metrics(double median_s) override {
        const auto& c = model_.config();
        const auto& w = model_.weights_summary();
        Metrics m;
        const double tps = base::rate_per_s(static_cast<double>(n_), median_s);
        m.emplace_back("tokens_per_s", tps);
        m.emplace_back("ms_per_token", median_s * 1e3 / static_cast<double>(n_));
        if (prefill_) {
            m.emplace_back("ttft_ms", median_s * 1e3);
            double flops = 0;
            for (int64_t i = 0; i < n_; ++i) flops += llm::flops_per_token(c, depth_ + i);
            m.emplace_back("mfu_pct", base::percent_of_peak(base::rate_per_s(flops, median_s), peak_));
        } else {
            double bytes = 0;
            for (int64_t i = 0; i < n_; ++i) bytes += llm::bytes_per_decode_token(c, w, depth_ + i);
            m.emplace_back("mbu_pct", base::percent_of_peak(base::rate_per_s(bytes, median_s), bandwidth_));
        }
        m.emplace_back("weight_bytes", static_cast<double>(w.total_bytes));
        m.emplace_back("kv_bytes", static_cast<double>(llm::kv_cache_bytes(c, session_.n_ctx())));
        m.emplace_back("rss_peak_bytes", rss_peak_bytes());
        m.emplace_back("bandwidth_gbps", bandwidth_ / 1e9);
        return m;
    }

private:
    Target t_;
    const llm::Model& model_;
    bool prefill_;
    int64_t n_, depth_;
    int threads_;
    cpu::ThreadPool& pool_;
    llm::Session session_;
    std::vector<int32_t> prompt_, tokens_, first_;
    int32_t last_ = -1;
    double bandwidth_ = 0, peak_ = 0;
};

class Llm : public Workload {
public:
    std::string_view key() const override { return "llm"; }
    std::string_view description() const override {
        return "LLM inference (llama, qwen2): prefill and decode tokens/s, TTFT, MBU, MFU; presets or GGUF files";
    }
    std::vector<ParamSpec> params() const override {
        std::string presets;
        for (const auto& n : llm::preset_names()) presets += (presets.empty() ? "" : ", ") + n;
        ParamSpec model{"model", "model", core::ParamKind::TEXT, "synthetic preset: " + presets, {}, "small", "llama-7b"};
        ParamSpec gguf{"gguf", "gguf", core::ParamKind::TEXT, "GGUF model file(s) instead of a preset", {}, "", ""};
        ParamSpec type{"type", "type", core::ParamKind::CHOICE, "weight type of a preset",
                       {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"}, "q4_0", "q4_0,q8_0,q4_k"};
        ParamSpec prompt{"prompt", "n_prompt", core::ParamKind::INT, "prompt tokens (prefill row; 0: none)", {}, "128",
                         "512", 0, 1 << 20};
        prompt.flags = "-p";
        ParamSpec gen{"gen", "n_gen", core::ParamKind::INT, "generated tokens (decode row; 0: none)", {}, "32", "128", 0,
                      1 << 20};
        gen.flags = "-n";
        ParamSpec depth{"depth", "depth", core::ParamKind::INT, "context depth before the test", {}, "0", "0,512", 0,
                        1 << 24};
        depth.flags = "-d";
        ParamSpec seed{"seed", "seed", core::ParamKind::INT, "seed of a preset's weights", {}, "1", "1", 0, INT64_MAX};
        ParamSpec gpu{"gpu-layers", "gpu_layers", core::ParamKind::INT,
                      "blocks on the GPU (-b cuda), the rest on the CPU; >= n_layer: all and the output", {}, "", "",
                      0, 1 << 20};
        gpu.flags = "--ngl";
        return {model, gguf, type, prompt, gen, depth, seed, gpu};
    }

    std::vector<Params> expand(std::vector<Params> jobs) const override {
        std::vector<Params> out;
        std::vector<std::string> seen;
        for (auto& p : jobs) {
            if (is_gguf(p)) {  // the file fixes the model, its type and its weights
                p.erase("model");
                p.erase("type");
                p.erase("seed");
            }
            // More blocks than the model has means all of them: record what runs.
            if (p.find("gpu_layers")) p.set("gpu_layers", std::min(p.integer("gpu_layers"), shape_of(p).config.n_layer));
            const int64_t np = p.integer("n_prompt"), ng = p.integer("n_gen");
            Params base = p;
            base.erase("n_prompt");
            base.erase("n_gen");
            base.erase("depth");
            auto add = [&](const char* phase, const char* field, int64_t n) {
                Params r = base;
                r.set("phase", std::string(phase));
                r.set(field, n);
                r.set("depth", p.integer("depth"));
                const std::string k = r.key();
                if (std::find(seen.begin(), seen.end(), k) != seen.end()) return;
                seen.push_back(k);
                out.push_back(std::move(r));
            };
            if (np > 0) add("prefill", "n_prompt", np);
            if (ng > 0) add("decode", "n_gen", ng);
        }
        return out;
    }

    double flops(const Params& p) const override {
        const Shape s = shape_of(p);
        double f = 0;
        for (int64_t i = 0; i < n_tokens(p); ++i) f += llm::flops_per_token(s.config, depth_of(p) + i);
        return f;
    }
    double bytes(const Params& p) const override {
        const Shape s = shape_of(p);
        if (is_prefill(p))
            return static_cast<double>(s.weights.total_bytes) +
                   static_cast<double>(llm::kv_cache_bytes(s.config, depth_of(p) + n_tokens(p)));
        double b = 0;
        for (int64_t i = 0; i < n_tokens(p); ++i) b += llm::bytes_per_decode_token(s.config, s.weights, depth_of(p) + i);
        return b;
    }
    // With gpu_layers > 0 the device part (the runner checks it against the device's budget); the host part
    // is checked in prepare().
    double memory_bytes(const Params& p) const override {
        const Shape s = shape_of(p);
        if (gpu_layers_of(p) > 0) return static_cast<double>(plan_of(s, p).total());
        const int64_t ctx = ctx_of(p);
        return static_cast<double>(s.weights.total_bytes + llm::kv_cache_bytes(s.config, ctx) +
                                   llm::working_bytes(s.config, batch_of(p), ctx));
    }
    std::string memory_breakdown(const Params& p) const override {
        const Shape s = shape_of(p);
        if (gpu_layers_of(p) > 0) {
            const auto plan = plan_of(s, p);
            return fmt::format("{}: {} of {} blocks{} on the device: weights {:.1f} GB + KV {:.1f} GB + buffers {:.1f} GB",
                               s.label, plan.n_layers, s.config.n_layer, plan.output ? " + output" : "",
                               static_cast<double>(plan.weight_bytes) / 1e9, static_cast<double>(plan.kv_bytes) / 1e9,
                               static_cast<double>(plan.working_bytes) / 1e9);
        }
        const int64_t ctx = ctx_of(p);
        return fmt::format("{}: weights {:.1f} GB + KV {:.1f} GB + buffers {:.1f} GB", s.label,
                           static_cast<double>(s.weights.total_bytes) / 1e9,
                           static_cast<double>(llm::kv_cache_bytes(s.config, ctx)) / 1e9,
                           static_cast<double>(llm::working_bytes(s.config, PREFILL_BATCH, ctx)) / 1e9);
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        const int64_t ngl = gpu_layers_of(p);
        if (t.backend.name() == "cpu") {
            if (ngl > 0) throw Skip(llm::no_gpu_message(ngl, "this row runs on the cpu backend: add -b cuda"));
            if (!p.find("threads")) throw Skip("the LLM engine needs a thread count");
            return std::make_unique<LlmInstance>(t, p, static_cast<int>(p.integer("threads")));
        }
        if (!t.backend.has_llm()) throw Skip(fmt::format("no LLM engine for the {} backend yet", t.backend.name()));
        if (!p.find("gpu_layers"))
            throw Skip(fmt::format("the LLM runs on {} with --gpu-layers N only (N >= n_layer: every block); `versus "
                                   "run` keeps its llm rows on the CPU",
                                   t.backend.name()));
        if (ngl == 0) throw Skip("--gpu-layers 0 runs on the CPU: use -b cpu");
        const Shape s = shape_of(p);
        std::string why;
        for (GgmlType type : matrix_types(p))
            if (!t.backend.llm_supports(t.device, static_cast<int32_t>(type), &why)) throw Skip(why);
        // The host part: every weight stays in host memory (the mapped file or the preset's buffer) plus the KV
        // cache of the blocks left on the CPU.
        const auto plan = plan_of(s, p);
        const uint64_t host_kv = llm::kv_cache_bytes(s.config, ctx_of(p)) - plan.kv_bytes;
        llm::check_fit(s.label, s.weights, host_kv, llm::working_bytes(s.config, batch_of(p), ctx_of(p)),
                       system::memory_available_bytes());
        return std::make_unique<LlmInstance>(t, p, cpu::ThreadPool::available_threads());
    }

private:
    static llm::OffloadPlan plan_of(const Shape& s, const Params& p) {
        return llm::plan_offload(s.config, s.layers, gpu_layers_of(p), ctx_of(p), batch_of(p));
    }
    // The matrix types of a row's model: the preset's one, or every type in the file.
    static std::vector<GgmlType> matrix_types(const Params& p) {
        if (!is_gguf(p)) return {type_of(p)};
        std::vector<GgmlType> out;
        const auto f = llm::GgufFile::open(p.str("gguf"));
        for (const auto& t : f.tensors())
            if (std::find(out.begin(), out.end(), t.type) == out.end()) out.push_back(t.type);
        return out;
    }
};

}  // namespace

std::unique_ptr<Workload> make_llm() { return std::make_unique<Llm>(); }

}  // namespace versus::workloads
