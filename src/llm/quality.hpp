// quality: how well a model predicts a text, and how far a quantized model's predictions are from those of
// its unquantized base — the statistics of llama.cpp's llama-perplexity (and its --kl-divergence mode), so
// the numbers compare with the ones people publish. Formulas: docs/metrics.md, "Quantization quality".
//
// The text is cut into chunks of n_ctx tokens (BOS in place of each chunk's first token when the vocabulary
// asks for BOS); every chunk is evaluated on its own from an empty cache and only its second half is scored
// (positions n_ctx/2 .. n_ctx-2 predicting the next token), so every scored token has at least n_ctx/2 tokens
// of context.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace versus::llm {

// The token ids of each chunk, as evaluated: at most `max_chunks` (0: all) whole chunks of n_ctx tokens.
std::vector<std::vector<int32_t>> quality_chunks(std::span<const int32_t> tokens, int64_t n_ctx, int64_t max_chunks,
                                                 int32_t bos_or_negative);
// The first scored position of a chunk (the one predicting position first + 1).
inline int64_t quality_first_scored(int64_t n_ctx) { return n_ctx / 2; }

// log(softmax(logits)), accumulated in double.
void log_softmax(std::span<const float> logits, std::span<float> out);

struct QualityStats {
    int64_t tokens = 0;           // scored tokens
    double nll_mean = 0;          // mean negative log-likelihood of the text's next token (nats)
    double ppl = 0, ppl_err = 0;  // exp(nll_mean), and its standard error
    // Against a base model (tokens_kld > 0):
    int64_t tokens_kld = 0;
    double ppl_base = 0;
    double ppl_ratio = 0;  // ppl / ppl_base
    double kld_mean = 0, kld_mean_err = 0, kld_median = 0, kld_p99 = 0, kld_max = 0;
    double top1_agree_pct = 0, top1_agree_err_pct = 0;  // the base's most likely token is the model's too
    double delta_p_mean_pct = 0, delta_p_rms_pct = 0;   // p(next token) of the model minus the base's, in points
    double delta_p_top_mean_pct = 0;                    // the same for the base's most likely token
};

// Accumulates scored tokens; `finish()` gives the statistics.
class QualityAccumulator {
public:
    // One scored token: the model's log-probabilities, the text's next token, and the base's log-probabilities
    // (empty without a base).
    void add(std::span<const float> logp, int32_t next, std::span<const float> logp_base = {});
    QualityStats finish() const;

private:
    std::vector<double> nll_, nll_base_, kld_, dp_, dp_top_;
    int64_t same_top_ = 0;
};

}  // namespace versus::llm
