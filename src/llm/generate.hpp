// generate: greedy decoding for `versus generate` — the prompt evaluated in one pass, then the most likely
// token (the lower id on a tie) each step, with the top-5 logits of every step as a fingerprint that another
// engine's run can be compared with (`versus compare` on two `generate -o json` outputs).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "llm/model.hpp"
#include "llm/tokenizer.hpp"

namespace versus::llm {

struct GenerateStep {
    int32_t id = 0;
    std::string piece;                                // the vocabulary's piece as stored
    std::vector<std::pair<int32_t, float>> top5;      // (token id, logit), best first
};

struct GenerateOutput {
    std::vector<GenerateStep> steps;
    std::vector<int32_t> tokens;
    std::string text;  // the generated tokens' bytes
    double prefill_s = 0, decode_s = 0;
    // Tokens after the first over the decode time (the first comes from the prefill's logits).
    double decode_tokens_per_s() const;
};

struct GenerateOptions {
    int n_gen = 32;
    bool stop_at_end = false;          // stop at the vocabulary's end of turn (needs a tokenizer)
    FILE* dump_logits = nullptr;       // each step's logits, f32, before its token is chosen
    std::function<void(const std::string&)> on_text;  // each token's bytes as soon as it is chosen
};

// `tok` may be null: pieces are then turned into text from the raw vocabulary (piece_text()).
GenerateOutput greedy_generate(Session& session, const Model& model, std::span<const int32_t> prompt,
                               const Tokenizer* tok, const GenerateOptions& opt);

// A vocabulary piece as text without a tokenizer: SentencePiece's "▁" is a space, "<0x0A>" the byte it names.
std::string piece_text(const std::string& piece);

}  // namespace versus::llm
