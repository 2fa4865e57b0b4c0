// gpt-config: the shape of a GPT-style decoder the training engine builds (presets with the real
// dimensions of public models), its parameter layout, and the counts derived from it that the
// workload, the memory-fit check and the predictor share: parameters, training FLOPs per token (the
// MFU numerator) and the bytes a training step holds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace versus::train {

enum class Norm { LAYER, RMS };       // LayerNorm (GPT-2) or RMSNorm (llama)
enum class Mlp { GELU, SWIGLU };      // GPT-2's 4x GELU MLP, or llama's gated SiLU
enum class Position { LEARNED, ROPE };  // a learned position table, or rotary embeddings on q and k
enum class Precision { F32, BF16 };    // bf16: GEMM operands rounded to bf16, f32 master weights
enum class AttentionImpl { FUSED, NAIVE };  // fused: per-tile recompute (FlashAttention); naive: T x T stored

struct GptConfig {
    std::string name;
    int n_layer = 0, n_embd = 0, n_head = 0, n_ff = 0, vocab = 0, max_seq = 0;
    Norm norm = Norm::LAYER;
    Mlp mlp = Mlp::GELU;
    Position position = Position::LEARNED;
    bool tied = true;  // the output head reuses the token embedding
    bool bias = true;  // biases on every linear layer and LayerNorm
    float norm_eps = 1e-5f;
    float rope_base = 10000.0f;
    int head_dim() const { return n_embd / n_head; }
    // Rows of the first MLP matrix: n_ff (GELU) or 2 x n_ff (SwiGLU: gate and up stacked).
    int fc_rows() const { return mlp == Mlp::SWIGLU ? 2 * n_ff : n_ff; }
};

// tiny (tests), small (the quick suite: 4 blocks of width 256, 8,192 tokens), gpt2-124m, gpt2-350m (GPT-2 small
// and medium), llama-style-125m (RMSNorm, RoPE, SwiGLU, untied head, no biases).
std::vector<std::string> gpt_preset_names();
// Throws UsageError naming the preset and listing the known ones.
GptConfig gpt_preset(std::string_view name);

Precision parse_precision(std::string_view s);
const char* precision_name(Precision p);
AttentionImpl parse_attention(std::string_view s);
const char* attention_name(AttentionImpl a);

// One parameter tensor in the flat parameter buffer: rows x cols elements at `offset`.
enum class ParamKind { EMBEDDING, MATRIX, NORM, BIAS };
struct ParamTensor {
    std::string name;  // "wte", "h3.qkv.w", ...
    int64_t rows = 0, cols = 1, offset = 0;
    ParamKind kind = ParamKind::MATRIX;
    int64_t size() const { return rows * cols; }
    // AdamW decays matrices and embeddings, never norms and biases.
    bool decayed() const { return kind == ParamKind::EMBEDDING || kind == ParamKind::MATRIX; }
};

// Per block, the tensors in this order (absent ones skipped): ln1.w, ln1.b, qkv.w (3d, d), qkv.b, proj.w (d, d),
// proj.b, ln2.w, ln2.b, fc.w (fc_rows, d), fc.b, fcproj.w (d, n_ff), fcproj.b. Around the blocks: wte (vocab, d),
// wpe (max_seq, d) first, lnf.w, lnf.b and, untied, head.w (vocab, d) last. In the flat buffer, the tensors AdamW
// decays (embeddings, matrices) come first in that order, then the norms and biases in that order.
struct ParamLayout {
    std::vector<ParamTensor> tensors;  // in buffer order
    int64_t decayed = 0;               // elements of the leading decayed tensors
    int64_t total = 0;
    int64_t n_matmul = 0;  // elements of the matrices multiplied per token: blocks and output head
    const ParamTensor& get(std::string_view name) const;
};
ParamLayout param_layout(const GptConfig& c);

// Training FLOPs per token (the MFU numerator, docs/metrics.md "train-gpt"): 6 x the matmul parameters
// (forward 2, backward 4 per multiply-add; the output head included, the embedding lookups not) plus causal
// attention, 6 x n_layer x n_embd x seq (QK^T and PV over the seq/2 keys a token sees on average, forward
// and backward). Recomputation in the fused attention backward is not counted: it is model FLOPs.
double gpt_train_flops_per_token(const GptConfig& c, int64_t seq);

// Tokens of one chunk of the output head: logits are computed, turned into their gradient and consumed chunk by
// chunk, so a step never holds batch x seq x vocab logits.
inline constexpr int64_t HEAD_CHUNK_TOKENS = 1024;

}  // namespace versus::train
