#include "llm/config.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "base/error.hpp"

namespace versus::llm {
namespace {

struct Preset {
    const char* name;
    const char* arch;
    int64_t vocab, embd, layer, head, head_kv, ff, ctx;
    float eps, rope_base;
    const char* scaling;
};

// Shapes of the public checkpoints (config.json of each release).
constexpr Preset PRESETS[] = {
    {"tiny", "llama", 512, 256, 2, 4, 2, 512, 256, 1e-5f, 10000.0f, "none"},
    // ~110M parameters: the quick suite's model, large enough that threads and caches behave as on 7B.
    {"small", "llama", 32000, 768, 12, 12, 4, 2048, 2048, 1e-5f, 10000.0f, "none"},
    {"tinyllama-1.1b", "llama", 32000, 2048, 22, 32, 4, 5632, 2048, 1e-5f, 10000.0f, "none"},
    {"llama-7b", "llama", 32000, 4096, 32, 32, 32, 11008, 4096, 1e-5f, 10000.0f, "none"},
    {"llama-13b", "llama", 32000, 5120, 40, 40, 40, 13824, 4096, 1e-5f, 10000.0f, "none"},
    {"llama-70b", "llama", 32000, 8192, 80, 64, 8, 28672, 4096, 1e-5f, 10000.0f, "none"},
    {"llama3-8b", "llama", 128256, 4096, 32, 32, 8, 14336, 8192, 1e-5f, 500000.0f, "none"},
    {"llama3-70b", "llama", 128256, 8192, 80, 64, 8, 28672, 8192, 1e-5f, 500000.0f, "none"},
    {"mistral-7b", "llama", 32000, 4096, 32, 32, 8, 14336, 32768, 1e-5f, 1000000.0f, "none"},
    {"qwen2-7b", "qwen2", 152064, 3584, 28, 28, 4, 18944, 32768, 1e-6f, 1000000.0f, "none"},
};

// Rejects values no real model has, before anything is sized from them.
void check_range(const std::string& place, const char* key, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
        throw UsageError(place, fmt::format("{} = {} is outside [{}, {}]", key, v, lo, hi),
                         "the file's metadata is damaged or not a decoder-only transformer");
}

}  // namespace

std::vector<std::string> preset_names() {
    std::vector<std::string> out;
    for (const auto& p : PRESETS) out.emplace_back(p.name);
    return out;
}

ModelConfig preset_config(std::string_view name) {
    for (const auto& p : PRESETS) {
        if (name != p.name) continue;
        ModelConfig c;
        c.arch = p.arch;
        c.name = p.name;
        c.n_vocab = p.vocab;
        c.n_embd = p.embd;
        c.n_layer = p.layer;
        c.n_head = p.head;
        c.n_head_kv = p.head_kv;
        c.head_dim = p.embd / p.head;
        c.n_ff = p.ff;
        c.n_ctx_train = p.ctx;
        c.rms_eps = p.eps;
        c.rope_base = p.rope_base;
        c.rope_scaling = p.scaling;
        c.rope_style = c.arch == "qwen2" ? RopeStyle::NEOX : RopeStyle::NORM;
        c.qkv_bias = c.arch == "qwen2";
        c.bos_id = 1;
        c.eos_id = 2;
        return c;
    }
    std::string list;
    for (const auto& p : PRESETS) list += (list.empty() ? "" : ", ") + std::string(p.name);
    throw UsageError("--model", fmt::format("unknown preset '{}'", name), "choose from " + list);
}

ModelConfig config_from_gguf(const GgufFile& f) {
    const std::string place = "gguf " + f.name();
    ModelConfig c;
    c.arch = std::string(f.require_string("general.architecture"));
    if (c.arch != "llama" && c.arch != "qwen2")
        throw UsageError(place, fmt::format("architecture '{}' is not supported", c.arch),
                         "versus runs llama (Llama 2/3, Mistral, TinyLlama) and qwen2 models");
    const std::string a = c.arch + ".";
    auto u = [&](const char* key) -> int64_t {
        const GgufValue* v = f.find(a + key);
        if (!v) throw UsageError(place, fmt::format("missing key '{}{}'", a, key), "the file is not a complete model");
        if (auto x = v->to<uint64_t>()) return static_cast<int64_t>(std::min<uint64_t>(*x, INT64_MAX));
        if (auto x = v->to<int64_t>()) return *x;
        throw UsageError(place, fmt::format("key '{}{}' is not an integer", a, key), "the metadata is damaged");
    };
    if (auto n = f.get_string("general.name")) c.name = std::string(*n);
    c.n_embd = u("embedding_length");
    c.n_layer = u("block_count");
    c.n_head = u("attention.head_count");
    c.n_head_kv = f.has(a + "attention.head_count_kv") ? u("attention.head_count_kv") : c.n_head;
    c.n_ff = u("feed_forward_length");
    c.n_ctx_train = f.has(a + "context_length") ? u("context_length") : 4096;
    check_range(place, "embedding_length", c.n_embd, 1, 1 << 16);
    check_range(place, "block_count", c.n_layer, 1, 1024);
    check_range(place, "attention.head_count", c.n_head, 1, 1024);
    check_range(place, "attention.head_count_kv", c.n_head_kv, 1, c.n_head);
    check_range(place, "feed_forward_length", c.n_ff, 1, 1 << 20);
    check_range(place, "context_length", c.n_ctx_train, 1, int64_t{1} << 24);
    if (c.n_head % c.n_head_kv != 0)
        throw UsageError(place, fmt::format("head_count {} is not a multiple of head_count_kv {}", c.n_head, c.n_head_kv),
                         "the metadata is damaged");
    c.head_dim = f.has(a + "attention.key_length") ? u("attention.key_length") : c.n_embd / c.n_head;
    check_range(place, "attention.key_length", c.head_dim, 2, 1024);
    if (c.head_dim % 2) throw UsageError(place, "head dimension is odd", "RoPE needs an even head dimension");
    if (auto e = f.get_f32(a + "attention.layer_norm_rms_epsilon")) c.rms_eps = *e;
    if (auto b = f.get_f32(a + "rope.freq_base")) c.rope_base = *b;
    c.rope_scaling = "none";
    if (auto t = f.get_string(a + "rope.scaling.type"); t && *t == "linear") {
        c.rope_scaling = "linear";
        if (auto s = f.get_f32(a + "rope.scaling.factor"); s && *s > 0) c.rope_scale = *s;
    }
    if (f.find_tensor("rope_freqs.weight")) c.rope_scaling = "llama3";
    c.rope_style = c.arch == "qwen2" ? RopeStyle::NEOX : RopeStyle::NORM;
    c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
    c.tied_output = f.find_tensor("output.weight") == nullptr;
    const auto& embd = f.require_tensor("token_embd.weight");
    c.n_vocab = embd.ne[1];
    if (embd.ne[0] != c.n_embd)
        throw UsageError(place, fmt::format("token_embd.weight has {} columns, embedding_length is {}", embd.ne[0], c.n_embd),
                         "the file's tensors do not match its metadata");
    if (auto b = f.get_u32("tokenizer.ggml.bos_token_id")) c.bos_id = *b;
    if (auto e = f.get_u32("tokenizer.ggml.eos_token_id")) c.eos_id = *e;
    return c;
}

std::vector<TensorSpec> model_tensors(const ModelConfig& c) {
    std::vector<TensorSpec> t;
    t.push_back({"token_embd.weight", c.n_embd, c.n_vocab, false});
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = fmt::format("blk.{}.", l);
        t.push_back({p + "attn_norm.weight", c.n_embd, 1, true});
        t.push_back({p + "attn_q.weight", c.n_embd, c.n_embd_q(), false});
        t.push_back({p + "attn_k.weight", c.n_embd, c.n_embd_kv(), false});
        t.push_back({p + "attn_v.weight", c.n_embd, c.n_embd_kv(), false});
        if (c.qkv_bias) {
            t.push_back({p + "attn_q.bias", c.n_embd_q(), 1, true});
            t.push_back({p + "attn_k.bias", c.n_embd_kv(), 1, true});
            t.push_back({p + "attn_v.bias", c.n_embd_kv(), 1, true});
        }
        t.push_back({p + "attn_output.weight", c.n_embd_q(), c.n_embd, false});
        t.push_back({p + "ffn_norm.weight", c.n_embd, 1, true});
        t.push_back({p + "ffn_gate.weight", c.n_embd, c.n_ff, false});
        t.push_back({p + "ffn_up.weight", c.n_embd, c.n_ff, false});
        t.push_back({p + "ffn_down.weight", c.n_ff, c.n_embd, false});
    }
    t.push_back({"output_norm.weight", c.n_embd, 1, true});
    if (!c.tied_output) t.push_back({"output.weight", c.n_embd, c.n_vocab, false});
    return t;
}

WeightSummary weight_summary(const ModelConfig& c, GgmlType type) {
    WeightSummary w;
    for (const auto& t : model_tensors(c)) {
        const int64_t ne[2] = {t.ne0, t.ne1};
        const uint64_t b = ggml_tensor_bytes(t.f32_only ? GgmlType::F32 : type, ne).value_or(0);
        w.total_bytes += b;
        if (t.name == "token_embd.weight") w.embd_bytes = b;
        if (t.name == "output.weight") w.output_bytes = b;
    }
    return w;
}

namespace {

struct FileTypeName {
    const char* name;
    GgmlType base;
    bool mixed, pure;
};
// llama.cpp's file types, plus the bare K types (every matrix in that type).
constexpr FileTypeName FILE_TYPES[] = {
    {"f32", GgmlType::F32, false, false},     {"f16", GgmlType::F16, false, false},
    {"bf16", GgmlType::BF16, false, false},   {"q8_0", GgmlType::Q8_0, false, false},
    {"q4_0", GgmlType::Q4_0, false, false},   {"q4_k_s", GgmlType::Q4_K, false, false},
    {"q4_k_m", GgmlType::Q4_K, true, false},  {"q5_k_s", GgmlType::Q5_K, false, false},
    {"q5_k_m", GgmlType::Q5_K, true, false},  {"q6_k", GgmlType::Q6_K, false, false},
    {"q4_k", GgmlType::Q4_K, false, true},    {"q5_k", GgmlType::Q5_K, false, true},
    // Counted for predictions only (the engine does not compute with them); their own mixes are not modelled.
    {"q2_k", GgmlType::Q2_K, false, false},   {"q3_k_s", GgmlType::Q3_K, false, false},
};

// llama.cpp's rule for the layers whose attn_v/ffn_down get more bits in _M mixes: the first and last
// eighth of the blocks and every third one between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// "blk.12.attn_v.weight" -> 12; -1 outside the blocks.
int64_t tensor_layer(const std::string& name) {
    if (!name.starts_with("blk.")) return -1;
    return std::strtoll(name.c_str() + 4, nullptr, 10);
}

}  // namespace

FileType parse_file_type(std::string_view name) {
    std::string lower(name);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& f : FILE_TYPES)
        if (lower == f.name) return {lower, f.base, f.mixed, f.pure};
    throw UsageError("--type", fmt::format("unknown file type '{}'", name), "choose from " + file_type_names());
}

std::string file_type_names() {
    std::string out;
    for (const auto& f : FILE_TYPES) out += (out.empty() ? "" : ", ") + std::string(f.name);
    return out;
}

GgmlType tensor_type(const ModelConfig& c, const FileType& ft, const TensorSpec& t, int64_t layer) {
    if (t.f32_only) return GgmlType::F32;
    const GgmlType b = ft.base;
    if (ft.pure || b == GgmlType::F32 || b == GgmlType::F16 || b == GgmlType::BF16 || b == GgmlType::Q8_0) return b;
    // Quantized files keep the output matrix (or the embedding that doubles as it) in Q6_K.
    const bool output = t.name == "output.weight" || (c.tied_output && t.name == "token_embd.weight");
    if (output) return GgmlType::Q6_K;
    const bool attn_v = t.name.ends_with("attn_v.weight"), ffn_down = t.name.ends_with("ffn_down.weight");
    if (ft.mixed && (attn_v || ffn_down) && use_more_bits(layer, c.n_layer)) return GgmlType::Q6_K;
    if (ft.name == "q4_k_s" && ffn_down && layer < c.n_layer / 8) return GgmlType::Q5_K;
    // Many KV heads shared (70B-like GQA): attn_v is 8x smaller and gets Q5_K instead of Q4_K.
    if (attn_v && b == GgmlType::Q4_K && c.n_head >= 8 * c.n_head_kv) return GgmlType::Q5_K;
    return b;
}

WeightSummary weight_summary(const ModelConfig& c, const FileType& ft) {
    WeightSummary w;
    for (const auto& t : model_tensors(c)) {
        const int64_t ne[2] = {t.ne0, t.ne1};
        const uint64_t b = ggml_tensor_bytes(tensor_type(c, ft, t, tensor_layer(t.name)), ne).value_or(0);
        w.total_bytes += b;
        if (t.name == "token_embd.weight") w.embd_bytes = b;
        if (t.name == "output.weight") w.output_bytes = b;
    }
    return w;
}

std::vector<uint64_t> layer_weight_bytes(const ModelConfig& c, const FileType& ft) {
    std::vector<uint64_t> out(static_cast<size_t>(c.n_layer), 0);
    for (const auto& t : model_tensors(c)) {
        const int64_t layer = tensor_layer(t.name);
        if (layer < 0 || layer >= c.n_layer) continue;
        const int64_t ne[2] = {t.ne0, t.ne1};
        out[static_cast<size_t>(layer)] += ggml_tensor_bytes(tensor_type(c, ft, t, layer), ne).value_or(0);
    }
    return out;
}

uint64_t kv_cache_bytes(const ModelConfig& c, int64_t n_ctx) {
    return 2ull * static_cast<uint64_t>(c.n_layer) * static_cast<uint64_t>(n_ctx) * static_cast<uint64_t>(c.n_embd_kv()) * 2;
}

uint64_t working_bytes(const ModelConfig& c, int64_t n_batch, int64_t n_ctx) {
    // Residual, normed input, q, attention out, gate, up, logits of the last token, activation
    // quantization buffers (at most 4 bytes per element), attention scratch per thread.
    const uint64_t b = static_cast<uint64_t>(n_batch);
    const uint64_t per_token = 4 * (3 * c.n_embd + 2 * c.n_embd_q() + 2 * c.n_embd_kv() + 2 * c.n_ff) + 4 * c.n_ff;
    return b * per_token + 4 * static_cast<uint64_t>(c.n_vocab) + 64 * static_cast<uint64_t>(n_ctx) + (16u << 20);
}

double flops_per_token(const ModelConfig& c, int64_t depth) {
    const double d = static_cast<double>(c.n_embd), q = static_cast<double>(c.n_embd_q()),
                 kv = static_cast<double>(c.n_embd_kv()), ff = static_cast<double>(c.n_ff);
    const double per_layer = 2 * (d * q + 2 * d * kv + q * d + 3 * d * ff)  // projections and FFN
                             + 4.0 * static_cast<double>(c.n_head) * static_cast<double>(c.head_dim) *
                                   static_cast<double>(depth);  // QK^T and PV over `depth` keys
    return per_layer * static_cast<double>(c.n_layer) + 2 * d * static_cast<double>(c.n_vocab);
}

double bytes_per_decode_token(const ModelConfig& c, const WeightSummary& w, int64_t depth) {
    const double embd_row = static_cast<double>(w.embd_bytes) / static_cast<double>(std::max<int64_t>(1, c.n_vocab));
    const double weights = static_cast<double>(w.total_bytes - w.embd_bytes) + embd_row +
                           (c.tied_output ? static_cast<double>(w.embd_bytes) : 0.0);
    return weights + static_cast<double>(kv_cache_bytes(c, depth));
}

}  // namespace versus::llm
