// config: the shape of a decoder-only transformer (llama, qwen2), from GGUF metadata or from a
// synthetic preset, and the counts derived from it — weight bytes per format, KV-cache bytes,
// FLOPs and bytes per token — that the workload, the memory-fit check and the predictor share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/gguf.hpp"

namespace versus::llm {

enum class RopeStyle { NORM, NEOX };  // NORM: rotate pairs (2i, 2i+1) (llama); NEOX: (i, i+d/2) (qwen2)

struct ModelConfig {
    std::string arch = "llama";  // "llama" or "qwen2"
    std::string name;            // preset name or general.name
    int64_t n_vocab = 0;
    int64_t n_embd = 0;    // model width
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
    int64_t n_ff = 0;      // feed-forward width
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-5f;
    float rope_base = 10000.0f;
    RopeStyle rope_style = RopeStyle::NORM;
    // Llama 3.1 style per-dimension frequency factors (rope_freqs.weight), empty when absent.
    std::string rope_scaling;  // "none", "linear", "llama3"
    float rope_scale = 1.0f;   // linear: positions are divided by this
    bool qkv_bias = false;     // qwen2
    bool tied_output = false;  // no output.weight: logits use token_embd
    int64_t bos_id = -1, eos_id = -1;

    int64_t n_embd_kv() const { return n_head_kv * head_dim; }
    int64_t n_embd_q() const { return n_head * head_dim; }
};

// Built-in shapes with the real dimensions of the public models: tiny (tests), small (quick suite), tinyllama-1.1b, llama-7b,
// llama-13b, llama-70b, llama3-8b, llama3-70b, mistral-7b, qwen2-7b.
std::vector<std::string> preset_names();
// Throws UsageError naming the preset and listing the known ones.
ModelConfig preset_config(std::string_view name);

// Reads the hyperparameters of a GGUF model; throws UsageError for an unknown architecture or a
// missing/absurd key.
ModelConfig config_from_gguf(const GgufFile& f);

// One weight tensor of the model as the engine lays it out: GGUF name, ne[0] (inputs) and
// ne[1] (outputs, 1 for vectors), and whether it is a norm/bias kept in f32.
struct TensorSpec {
    std::string name;
    int64_t ne0 = 0, ne1 = 1;
    bool f32_only = false;
};
std::vector<TensorSpec> model_tensors(const ModelConfig& c);

// Weight bytes of a model: all of them, and the two tables whose reading differs by phase (a
// decode step reads one row of the token embedding but all of the output matrix).
struct WeightSummary {
    uint64_t total_bytes = 0;
    uint64_t embd_bytes = 0;    // token_embd.weight
    uint64_t output_bytes = 0;  // output.weight (0 when tied to the embedding)
};
// For a synthetic model whose matrices are all stored in `type` (norms and biases in f32).
WeightSummary weight_summary(const ModelConfig& c, GgmlType type);
// A file type as llama.cpp names them ("q4_0", "q4_k_m", "f16"): most matrices in `base`, a few promoted to
// more bits as llama.cpp's quantizer does, so that the bytes counted for a public download match its size.
// (versus's own synthetic files keep every matrix in one type: weight_summary(c, GgmlType) counts those.)
struct FileType {
    std::string name;  // lower case, as given
    GgmlType base = GgmlType::F16;
    bool mixed = false;     // an _M mix: attn_v and ffn_down of some layers in Q6_K
    bool pure = false;      // every matrix in `base`, the output included (versus's files, "q4_k" without _m/_s)
};
// Throws UsageError naming the type and listing file_type_names().
FileType parse_file_type(std::string_view name);
std::string file_type_names();
// The type a tensor of the model gets in such a file (`layer` < 0 for tensors outside the blocks).
GgmlType tensor_type(const ModelConfig& c, const FileType& ft, const TensorSpec& t, int64_t layer);
WeightSummary weight_summary(const ModelConfig& c, const FileType& ft);
// Bytes of each block's weights (norms and biases included) in such a file, in one pass over the tensors;
// layers differ in _M mixes.
std::vector<uint64_t> layer_weight_bytes(const ModelConfig& c, const FileType& ft);

// KV cache for `n_ctx` positions, f16 K and V for every layer.
uint64_t kv_cache_bytes(const ModelConfig& c, int64_t n_ctx);
// Activations and scratch of one forward pass over `n_batch` tokens (logits included).
uint64_t working_bytes(const ModelConfig& c, int64_t n_batch, int64_t n_ctx);

// Matmul FLOPs of one token at context depth `depth` (2 per multiply-add; attention included).
double flops_per_token(const ModelConfig& c, int64_t depth);
// Bytes a decode step must read at depth `depth`: every weight once (one row of the embedding;
// all of it again when the output is tied to it) plus the K and V cache up to that depth.
double bytes_per_decode_token(const ModelConfig& c, const WeightSummary& w, int64_t depth);

}  // namespace versus::llm
