#include "llm/offload.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/error.hpp"
#include "llm/model.hpp"

namespace versus::llm {

namespace {

// "blk.12.attn_q.weight" -> 12; -1 for tensors outside the blocks.
int64_t block_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    return std::stoll(name.substr(4, name.find('.', 4) - 4));
}

double gb(uint64_t b) { return static_cast<double>(b) / 1e9; }

versus_llm_weight abi_weight(const Weight& w) {
    versus_llm_weight out{};
    out.type = static_cast<int32_t>(w.type);
    out.ne0 = w.ne0;
    out.ne1 = w.ne1;
    out.data = w.data;
    return out;
}

class DeviceLayers : public LayerRunner {
public:
    DeviceLayers(backend::Backend& b, int device, const Model& m, int64_t n_layers, int64_t n_ctx, int64_t n_batch)
        : b_(b), device_(device), n_layers_(n_layers), output_(n_layers == m.config().n_layer) {
        const ModelConfig& c = m.config();
        for (int64_t l = 0; l < n_layers; ++l) {
            const LayerWeights& L = m.layers[static_cast<size_t>(l)];
            for (const Weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) require(*w);
        }
        if (output_) require(m.output);
        versus_llm_hparams hp{};
        hp.n_embd = static_cast<int32_t>(c.n_embd);
        hp.n_head = static_cast<int32_t>(c.n_head);
        hp.n_head_kv = static_cast<int32_t>(c.n_head_kv);
        hp.head_dim = static_cast<int32_t>(c.head_dim);
        hp.n_ff = static_cast<int32_t>(c.n_ff);
        hp.n_vocab = static_cast<int32_t>(c.n_vocab);
        hp.rope_neox = c.rope_style == RopeStyle::NEOX ? 1 : 0;
        hp.qkv_bias = c.qkv_bias ? 1 : 0;
        hp.rms_eps = c.rms_eps;
        hp.rope_base = c.rope_base;
        hp.rope_pos_scale = c.rope_scaling == "linear" ? c.rope_scale : 1.0f;
        hp.rope_freq_factors = m.rope_freq_factors.empty() ? nullptr : m.rope_freq_factors.data();
        std::vector<versus_llm_layer> layers(static_cast<size_t>(n_layers));
        for (int64_t l = 0; l < n_layers; ++l) {
            const LayerWeights& L = m.layers[static_cast<size_t>(l)];
            versus_llm_layer& d = layers[static_cast<size_t>(l)];
            d = {abi_weight(L.attn_norm), abi_weight(L.wq), abi_weight(L.wk),       abi_weight(L.wv),
                 abi_weight(L.bq),        abi_weight(L.bk), abi_weight(L.bv),       abi_weight(L.wo),
                 abi_weight(L.ffn_norm),  abi_weight(L.w_gate), abi_weight(L.w_up), abi_weight(L.w_down)};
        }
        const versus_llm_weight out_norm = abi_weight(m.out_norm), output = abi_weight(m.output);
        handle_ = b.llm_load(device, hp, layers, output_ ? &out_norm : nullptr, output_ ? &output : nullptr,
                             static_cast<int>(n_ctx), static_cast<int>(n_batch));
        where_ = fmt::format("{}:{} ({})", b.name(), device, b.device_info(device).name);
    }
    ~DeviceLayers() override { b_.llm_free(device_, handle_); }

    int64_t n_layers() const override { return n_layers_; }
    bool has_output() const override { return output_; }
    void eval(const float* x, int64_t n, int64_t pos0, float* out, bool all_logits) override {
        b_.llm_eval(device_, handle_, static_cast<int>(n), static_cast<int>(pos0), x, out, all_logits);
    }
    std::string where() const override { return where_; }

private:
    void require(const Weight& w) {
        std::string why;
        if (!b_.llm_supports(device_, static_cast<int32_t>(w.type), &why))
            throw UsageError("--gpu-layers", fmt::format("{} weights cannot go to {}: {}", ggml_type_name(w.type),
                                                         b_.name(), why),
                             "run those layers on the CPU (a smaller --gpu-layers) or use another weight type");
    }

    backend::Backend& b_;
    int device_;
    int64_t n_layers_;
    bool output_;
    void* handle_ = nullptr;
    std::string where_;
};

}  // namespace

std::unique_ptr<LayerRunner> make_device_layers(backend::Backend& b, int device, const Model& m, int64_t n_layers,
                                                int64_t n_ctx, int64_t n_batch) {
    if (n_layers < 1 || n_layers > m.config().n_layer)
        throw UsageError("--gpu-layers", fmt::format("{} blocks of {}", n_layers, m.config().n_layer),
                         "plan_offload() clamps the count");
    if (!b.has_llm())
        throw UsageError("--gpu-layers", no_gpu_message(n_layers, fmt::format("the {} backend keeps no LLM layers", b.name())),
                         "use -b cuda");
    return std::make_unique<DeviceLayers>(b, device, m, n_layers, n_ctx, n_batch);
}

LayerBytes layer_bytes(const ModelConfig& c, const std::function<uint64_t(const TensorSpec&)>& bytes) {
    LayerBytes lb;
    lb.layers.assign(static_cast<size_t>(c.n_layer), 0);
    for (const auto& spec : model_tensors(c)) {
        const int64_t l = block_of(spec.name);
        if (l >= 0) lb.layers[static_cast<size_t>(l)] += bytes(spec);
        else if (spec.name == "output_norm.weight" || spec.name == "output.weight") lb.output += bytes(spec);
        else if (spec.name == "token_embd.weight" && c.tied_output) lb.output += bytes(spec);
    }
    return lb;
}

LayerBytes layer_bytes(const ModelConfig& c, GgmlType type) {
    return layer_bytes(c, [&](const TensorSpec& s) {
        const int64_t ne[2] = {s.ne0, s.ne1};
        return ggml_tensor_bytes(s.f32_only ? GgmlType::F32 : type, ne).value_or(0);
    });
}

LayerBytes layer_bytes(const Model& m) {
    auto size = [](const Weight& w) {
        const int64_t ne[2] = {w.ne0, w.ne1};
        return w ? ggml_tensor_bytes(w.type, ne).value_or(0) : 0;
    };
    LayerBytes lb;
    for (const auto& L : m.layers) {
        uint64_t b = 0;
        for (const Weight* w : {&L.attn_norm, &L.wq, &L.wk, &L.wv, &L.bq, &L.bk, &L.bv, &L.wo, &L.ffn_norm, &L.w_gate,
                                &L.w_up, &L.w_down})
            b += size(*w);
        lb.layers.push_back(b);
    }
    lb.output = size(m.out_norm) + size(m.output);
    return lb;
}

uint64_t device_working_bytes(const ModelConfig& c, const LayerBytes& lb, int64_t n_layers, bool output,
                              int64_t n_batch) {
    if (n_layers == 0) return 0;
    const uint64_t B = static_cast<uint64_t>(n_batch), E = static_cast<uint64_t>(c.n_embd),
                   Q = static_cast<uint64_t>(c.n_embd_q()), KV = static_cast<uint64_t>(c.n_embd_kv()),
                   F = static_cast<uint64_t>(c.n_ff), W = std::max({E, Q, F});
    // f32: residual, normed input, q, k, v, attention out, projection out, gate, up, rope tables; logits.
    uint64_t bytes = 4 * B * (2 * E + W + 2 * Q + 2 * KV + 2 * F + static_cast<uint64_t>(c.head_dim)) +
                     (output ? 4 * B * static_cast<uint64_t>(c.n_vocab) : 0);
    // Prefill: activations in f16 and the largest block matrix dequantized to f16 for the GEMM.
    if (n_batch > 1) bytes += 2 * B * W + 2 * std::max({E * F, E * Q});
    return bytes + (1u << 20);  // split-attention partials and alignment
}

OffloadPlan plan_offload(const ModelConfig& c, const LayerBytes& lb, int64_t requested, int64_t n_ctx,
                         int64_t n_batch) {
    if (requested < 0)
        throw UsageError("--gpu-layers", fmt::format("{} is not a block count", requested),
                         fmt::format("give 0 .. {} (more means all)", c.n_layer));
    OffloadPlan p;
    p.n_layers = std::min(requested, c.n_layer);
    p.output = p.n_layers == c.n_layer && c.n_layer > 0;
    for (int64_t l = 0; l < p.n_layers && l < static_cast<int64_t>(lb.layers.size()); ++l)
        p.weight_bytes += lb.layers[static_cast<size_t>(l)];
    if (p.output) p.weight_bytes += lb.output;
    if (c.n_layer > 0) p.kv_bytes = kv_cache_bytes(c, n_ctx) / static_cast<uint64_t>(c.n_layer) * static_cast<uint64_t>(p.n_layers);
    p.working_bytes = device_working_bytes(c, lb, p.n_layers, p.output, n_batch);
    return p;
}

int64_t layers_that_fit(const ModelConfig& c, const LayerBytes& lb, int64_t n_ctx, int64_t n_batch,
                        uint64_t budget_bytes) {
    int64_t best = 0;
    for (int64_t n = 1; n <= c.n_layer; ++n)
        if (plan_offload(c, lb, n, n_ctx, n_batch).total() <= budget_bytes) best = n;
    return best;
}

void check_offload_fit(const std::string& label, const ModelConfig& c, const LayerBytes& lb, const OffloadPlan& p,
                       int64_t n_ctx, int64_t n_batch, const std::string& device, uint64_t budget_bytes) {
    if (p.total() <= budget_bytes) return;
    const int64_t fit = layers_that_fit(c, lb, n_ctx, n_batch, budget_bytes);
    throw UsageError("memory",
                     fmt::format("{}: {} of {} blocks{} on {} need {:.1f} GB (weights {:.1f} + KV {:.1f} + buffers "
                                 "{:.1f}), {:.1f} GB available; {} blocks fit",
                                 label, p.n_layers, c.n_layer, p.output ? " + output" : "", device, gb(p.total()),
                                 gb(p.weight_bytes), gb(p.kv_bytes), gb(p.working_bytes), gb(budget_bytes), fit),
                     fit > 0 ? fmt::format("use --gpu-layers {} (the rest runs on the CPU), or a smaller --ctx", fit)
                             : "use a smaller --ctx or a smaller type");
}

std::string no_gpu_message(int64_t n_layers, const std::string& why) {
    return fmt::format("--gpu-layers {} needs the CUDA backend, which is not available ({})", n_layers, why);
}

}  // namespace versus::llm
