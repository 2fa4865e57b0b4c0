// model: a decoder-only transformer's weights (llama, qwen2) and the inference session that runs
// its forward pass on the CPU: RMSNorm, RoPE, grouped-query attention over an f16 KV cache
// (fused, online softmax), SwiGLU, logits. Weights are used in place: memory-mapped from a GGUF
// file, or synthesised into one buffer for the presets.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/cpu/thread-pool.hpp"
#include "llm/config.hpp"
#include "llm/gguf.hpp"
#include "llm/offload.hpp"

namespace versus::llm {

// A weight matrix (ne0 inputs, ne1 outputs) or vector (ne1 = 1), viewed in place.
struct Weight {
    GgmlType type = GgmlType::F32;
    int64_t ne0 = 0, ne1 = 1;
    const uint8_t* data = nullptr;
    explicit operator bool() const { return data != nullptr; }
};

struct LayerWeights {
    Weight attn_norm, wq, wk, wv, bq, bk, bv, wo;  // bq/bk/bv only for qwen2
    Weight ffn_norm, w_gate, w_up, w_down;
};

class Model {
public:
    // Maps a GGUF file and checks its architecture, types and every tensor's shape against the
    // metadata; throws UsageError naming the tensor otherwise.
    static Model load(const std::filesystem::path& path);
    // Deterministic random weights with the preset's shape, generated straight into memory;
    // matrices in `type`, norms and biases in f32. Same seed, same weights, on every machine.
    static Model synthetic(const ModelConfig& c, GgmlType type, uint64_t seed);

    const ModelConfig& config() const { return cfg_; }
    const WeightSummary& weights_summary() const { return summary_; }
    // The types of the matrices, e.g. "Q4_K" or "Q4_K+Q6_K" for mixes.
    std::string type_label() const;
    // The vocabulary's pieces (empty for synthetic models without one).
    const std::vector<std::string>& vocab() const { return vocab_; }
    const GgufFile* gguf() const { return file_.get(); }

    Weight tok_embd, out_norm, output;  // output == tok_embd when tied
    std::vector<LayerWeights> layers;
    std::vector<float> rope_freq_factors;  // llama3 scaling, empty otherwise

    Model(Model&&) noexcept;
    Model& operator=(Model&&) noexcept;
    ~Model();

private:
    Model() = default;
    void bind(const std::function<Weight(const TensorSpec&)>& lookup);

    ModelConfig cfg_;
    WeightSummary summary_;
    std::vector<std::string> vocab_;
    std::unique_ptr<GgufFile> file_;
    std::unique_ptr<uint8_t, void (*)(uint8_t*)> owned_{nullptr, nullptr};
};

// One sequence's inference state: KV cache for n_ctx positions and the scratch of a forward pass.
class Session {
public:
    // n_batch: the most tokens one eval() call processes at once (prefill chunk). `front`, when given,
    // runs blocks 0 .. front->n_layers()-1 (a GPU: offload.hpp; the output too when it holds every block)
    // with its own KV cache and n_ctx, n_batch at least these; this session computes and caches the rest.
    Session(const Model& m, int64_t n_ctx, int64_t n_batch, cpu::ThreadPool& pool,
            std::unique_ptr<LayerRunner> front = nullptr);
    ~Session();

    // Runs tokens at positions pos()..pos()+n-1 and advances pos(). Returns the logits of the
    // last token (n_vocab), or of every token (n x n_vocab) with all_logits. Token ids out of
    // range or a full context throw UsageError.
    std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);
    int64_t pos() const { return pos_; }
    int64_t n_ctx() const { return n_ctx_; }
    // Forgets the sequence (the cache is reused).
    void reset() { pos_ = 0; }
    // Sets the position as if `pos` tokens had been evaluated (benchmarks at a context depth: the
    // cache content is whatever is there, which costs the same to read).
    void seek(int64_t pos);
    // The blocks that run elsewhere and where ("cuda:0 (...)"); 0 and "" without offload.
    int64_t front_layers() const;
    std::string front_where() const;

    struct Impl;  // (public for the CPU LayerRunner in model.cpp)

private:
    std::unique_ptr<Impl> impl_;
    int64_t pos_ = 0;
    int64_t n_ctx_ = 0;
};

int32_t argmax(std::span<const float> logits);

// Refuses before any allocation a model that does not fit: weights (already mapped files count
// as resident) + KV cache + working buffers against `available_bytes`. The message carries the
// numbers: "llama-70b Q4_0 needs 39.2 GB (weights 38.5 + KV 0.7), 21.3 GB available".
void check_fit(const std::string& label, const WeightSummary& w, uint64_t kv_bytes, uint64_t working,
               uint64_t available_bytes);

}  // namespace versus::llm
