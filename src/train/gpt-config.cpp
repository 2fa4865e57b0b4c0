#include "train/gpt-config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "base/error.hpp"

namespace versus::train {

namespace {

GptConfig gpt2(std::string name, int n_layer, int n_embd, int n_head) {
    GptConfig c;
    c.name = std::move(name);
    c.n_layer = n_layer;
    c.n_embd = n_embd;
    c.n_head = n_head;
    c.n_ff = 4 * n_embd;
    c.vocab = 50257;
    c.max_seq = 1024;
    return c;
}

}  // namespace

std::vector<std::string> gpt_preset_names() { return {"tiny", "small", "gpt2-124m", "gpt2-350m", "llama-style-125m"}; }

GptConfig gpt_preset(std::string_view name) {
    if (name == "gpt2-124m") return gpt2("gpt2-124m", 12, 768, 12);
    if (name == "gpt2-350m") return gpt2("gpt2-350m", 24, 1024, 16);
    if (name == "small") {  // the quick suite's: GPT-2's form at 4 blocks of width 256, 8,192 tokens
        GptConfig c = gpt2("small", 4, 256, 4);
        c.vocab = 8192;
        c.max_seq = 512;
        return c;
    }
    if (name == "tiny") {
        GptConfig c = gpt2("tiny", 2, 32, 4);
        c.vocab = 64;
        c.max_seq = 32;
        return c;
    }
    if (name == "llama-style-125m") {
        // GPT-2 small's depth and width with llama's choices: RMSNorm, RoPE, SwiGLU at 8/3 x width (2048), no
        // biases, an untied head over llama's 32000-token vocabulary.
        GptConfig c;
        c.name = "llama-style-125m";
        c.n_layer = 12;
        c.n_embd = 768;
        c.n_head = 12;
        c.n_ff = 2048;
        c.vocab = 32000;
        c.max_seq = 2048;
        c.norm = Norm::RMS;
        c.mlp = Mlp::SWIGLU;
        c.position = Position::ROPE;
        c.tied = false;
        c.bias = false;
        return c;
    }
    std::string known;
    for (const auto& n : gpt_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("--model", fmt::format("no GPT preset '{}'", name), "one of " + known);
}

Precision parse_precision(std::string_view s) {
    if (s == "f32") return Precision::F32;
    if (s == "bf16") return Precision::BF16;
    throw UsageError("--precision", fmt::format("'{}' is not a training precision", s), "f32 or bf16");
}
const char* precision_name(Precision p) { return p == Precision::BF16 ? "bf16" : "f32"; }

AttentionImpl parse_attention(std::string_view s) {
    if (s == "fused") return AttentionImpl::FUSED;
    if (s == "naive") return AttentionImpl::NAIVE;
    throw UsageError("--attention", fmt::format("'{}' is not an attention implementation", s), "fused or naive");
}
const char* attention_name(AttentionImpl a) { return a == AttentionImpl::NAIVE ? "naive" : "fused"; }

const ParamTensor& ParamLayout::get(std::string_view name) const {
    for (const auto& t : tensors)
        if (t.name == name) return t;
    throw std::out_of_range(fmt::format("no parameter tensor '{}'", name));
}

ParamLayout param_layout(const GptConfig& c) {
    ParamLayout l;
    auto add = [&](std::string name, int64_t rows, int64_t cols, ParamKind kind) {
        l.tensors.push_back({std::move(name), rows, cols, l.total, kind});
        l.total += rows * cols;
        if (kind == ParamKind::MATRIX) l.n_matmul += rows * cols;
    };
    const int64_t d = c.n_embd;
    add("wte", c.vocab, d, ParamKind::EMBEDDING);
    if (c.position == Position::LEARNED) add("wpe", c.max_seq, d, ParamKind::EMBEDDING);
    for (int i = 0; i < c.n_layer; ++i) {
        const std::string h = fmt::format("h{}.", i);
        auto norm = [&](const char* n) {
            add(h + n + ".w", d, 1, ParamKind::NORM);
            if (c.norm == Norm::LAYER) add(h + n + ".b", d, 1, ParamKind::BIAS);
        };
        auto linear = [&](const char* n, int64_t rows, int64_t cols) {
            add(h + n + ".w", rows, cols, ParamKind::MATRIX);
            if (c.bias) add(h + n + ".b", rows, 1, ParamKind::BIAS);
        };
        norm("ln1");
        linear("qkv", 3 * d, d);
        linear("proj", d, d);
        norm("ln2");
        linear("fc", c.fc_rows(), d);
        linear("fcproj", d, c.n_ff);
    }
    add("lnf.w", d, 1, ParamKind::NORM);
    if (c.norm == Norm::LAYER) add("lnf.b", d, 1, ParamKind::BIAS);
    if (!c.tied) add("head.w", c.vocab, d, ParamKind::MATRIX);
    else l.n_matmul += static_cast<int64_t>(c.vocab) * d;  // the head multiplies by wte
    // Decayed tensors first, norms and biases after: AdamW then runs as two passes over contiguous ranges.
    std::stable_partition(l.tensors.begin(), l.tensors.end(), [](const ParamTensor& t) { return t.decayed(); });
    int64_t offset = 0;
    for (auto& t : l.tensors) {
        t.offset = offset;
        offset += t.size();
        if (t.decayed()) l.decayed = offset;
    }
    return l;
}

double gpt_train_flops_per_token(const GptConfig& c, int64_t seq) {
    const double matmul = static_cast<double>(param_layout(c).n_matmul);
    return 6 * matmul + 6.0 * c.n_layer * c.n_embd * static_cast<double>(seq);
}

}  // namespace versus::train
