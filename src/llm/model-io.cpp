#include "llm/model-io.hpp"

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu/quants.hpp"
#include "base/error.hpp"
#include "llm/synth.hpp"

namespace versus::llm {

uint32_t llama_file_type(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return 0;
        case GgmlType::F16: return 1;
        case GgmlType::Q4_0: return 2;
        case GgmlType::Q8_0: return 7;
        case GgmlType::Q4_K: return 14;  // Q4_K_S: every matrix Q4_K
        case GgmlType::Q5_K: return 16;  // Q5_K_S
        case GgmlType::Q6_K: return 18;
        case GgmlType::BF16: return 32;
        default: return 0;
    }
}

void set_model_metadata(GgufWriter& w, const ModelConfig& c, GgmlType type) {
    const std::string a = c.arch + ".";
    w.set_string("general.architecture", c.arch);
    w.set_string("general.name", c.name.empty() ? "versus-synthetic" : c.name);
    w.set_u32("general.file_type", llama_file_type(type));
    w.set_u32("general.quantization_version", 2);
    w.set_u32(a + "context_length", static_cast<uint32_t>(c.n_ctx_train));
    w.set_u32(a + "embedding_length", static_cast<uint32_t>(c.n_embd));
    w.set_u32(a + "block_count", static_cast<uint32_t>(c.n_layer));
    w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(c.n_ff));
    w.set_u32(a + "attention.head_count", static_cast<uint32_t>(c.n_head));
    w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(c.n_head_kv));
    w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(c.head_dim));
    w.set_f32(a + "rope.freq_base", c.rope_base);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_eps);
    if (c.rope_scaling == "linear") {
        w.set_string(a + "rope.scaling.type", "linear");
        w.set_f32(a + "rope.scaling.factor", c.rope_scale);
    }
}

void set_synthetic_vocab(GgufWriter& w, const ModelConfig& c) {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    tokens.reserve(static_cast<size_t>(c.n_vocab));
    // SentencePiece conventions: 1 normal, 2 unknown, 3 control, 6 byte.
    const char* specials[] = {"<unk>", "<s>", "</s>"};
    const int32_t special_types[] = {2, 3, 3};
    for (int i = 0; i < 3 && static_cast<int64_t>(tokens.size()) < c.n_vocab; ++i) {
        tokens.emplace_back(specials[i]);
        scores.push_back(0.0f);
        types.push_back(special_types[i]);
    }
    for (int b = 0; b < 256 && static_cast<int64_t>(tokens.size()) < c.n_vocab; ++b) {
        tokens.push_back(fmt::format("<0x{:02X}>", b));
        scores.push_back(0.0f);
        types.push_back(6);
    }
    // Words: "▁" + a base-26 spelling of the index, unique and printable.
    for (int64_t i = 0; static_cast<int64_t>(tokens.size()) < c.n_vocab; ++i) {
        std::string word;
        for (int64_t n = i;; n = n / 26 - 1) {
            word.insert(word.begin(), static_cast<char>('a' + n % 26));
            if (n < 26) break;
        }
        tokens.push_back("\xe2\x96\x81" + word);
        scores.push_back(-static_cast<float>(i));
        types.push_back(1);
    }
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.scores", scores);
    w.set_array("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_bool("tokenizer.ggml.add_eos_token", false);
}

void write_synthetic_gguf(const ModelConfig& c, GgmlType type, uint64_t seed, const std::filesystem::path& path) {
    GgufWriter w;
    set_model_metadata(w, c, type);
    set_synthetic_vocab(w, c);
    auto pool = std::make_shared<cpu::ThreadPool>(cpu::ThreadPool::available_threads());
    for (const auto& spec : model_tensors(c)) {
        const GgmlType t = spec.f32_only ? GgmlType::F32 : type;
        std::vector<int64_t> ne = spec.ne1 == 1 ? std::vector<int64_t>{spec.ne0} : std::vector<int64_t>{spec.ne0, spec.ne1};
        const int64_t ne2[2] = {spec.ne0, spec.ne1};
        const uint64_t bytes = ggml_tensor_bytes(t, ne2).value_or(0);
        const float sigma = synth_sigma(spec.name, spec.ne0);
        const bool ones = spec.name.ends_with("norm.weight");
        const uint64_t tseed = tensor_seed(seed, spec.name);
        // Generated when the writer reaches the tensor: one tensor in memory at a time.
        w.add_tensor(spec.name, ne, t, [=](GgufSink& sink) {
            std::vector<uint8_t> buf(bytes);
            synth_tensor(t, spec.ne0, spec.ne1, sigma, ones, tseed, buf.data(), pool.get());
            sink.write(buf.data(), buf.size());
        });
    }
    w.write(path);
}

void quantize_gguf(const std::filesystem::path& in, const std::filesystem::path& out, GgmlType type,
                   cpu::ThreadPool& pool) {
    const GgmlTypeInfo& ti = ggml_type_info(type);
    if (!ti.supported)
        throw UsageError("--type", fmt::format("{} is not a type versus writes", ti.name),
                         "choose from " + ggml_supported_type_names());
    auto src = std::make_shared<GgufFile>(GgufFile::open(in));
    const ModelConfig c = config_from_gguf(*src);  // refuses what versus cannot run
    GgufWriter w;
    for (const auto& kv : src->metadata()) {
        if (kv.key == "general.alignment") continue;
        w.set(kv.key, kv.value);
    }
    w.set_u32("general.file_type", llama_file_type(type));
    for (const auto& t : src->tensors()) {
        const bool matrix = t.n_dims >= 2 && t.name != "rope_freqs.weight";
        const bool fits = t.ne[0] % ti.block_elements == 0;
        const GgmlType to = matrix && fits ? type : (matrix ? t.type : GgmlType::F32);
        std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + std::max(1, t.n_dims));
        if (to == t.type) {
            const GgufTensorInfo* info = &t;
            w.add_tensor(t.name, ne, to, [src, info](GgufSink& sink) { sink.write(info->bytes()); });
            continue;
        }
        const auto* from = ggml_type_info(static_cast<uint32_t>(t.type));
        if (!from || !from->supported)
            throw UsageError("gguf " + src->name(),
                             fmt::format("tensor '{}' has type {}, which versus cannot read", t.name,
                                         from ? from->name : "unknown"),
                             "supported: " + ggml_supported_type_names());
        const GgufTensorInfo* info = &t;
        cpu::ThreadPool* p = &pool;
        w.add_tensor(t.name, ne, to, [src, info, to, p](GgufSink& sink) {
            const int64_t n0 = info->ne[0], rows = info->n_elements / n0;
            const auto qin = static_cast<cpu::QType>(static_cast<uint32_t>(info->type));
            const auto qout = static_cast<cpu::QType>(static_cast<uint32_t>(to));
            const size_t in_row = cpu::qtype_row_bytes(qin, n0), out_row = cpu::qtype_row_bytes(qout, n0);
            // 256 rows at a time: bounded memory, enough work per chunk for the pool.
            constexpr int64_t CHUNK = 256;
            std::vector<uint8_t> buf(static_cast<size_t>(CHUNK) * out_row);
            for (int64_t r0 = 0; r0 < rows; r0 += CHUNK) {
                const int64_t r1 = std::min(rows, r0 + CHUNK);
                p->parallel_for(r1 - r0, 4, [&](int64_t a, int64_t b) {
                    std::vector<float> row(static_cast<size_t>(n0));
                    for (int64_t r = a; r < b; ++r) {
                        cpu::dequantize_row(qin, info->data + static_cast<size_t>(r0 + r) * in_row, row.data(), n0);
                        cpu::quantize_row(qout, row.data(), buf.data() + static_cast<size_t>(r) * out_row, n0);
                    }
                });
                sink.write(buf.data(), static_cast<size_t>(r1 - r0) * out_row);
            }
        });
    }
    (void)c;
    w.write(out);
}

}  // namespace versus::llm
