// tokenizer-json: a Hugging Face tokenizer.json (with tokenizer_config.json beside it, when there is one)
// as the tokenizer.ggml.* metadata llama.cpp's converter (convert_hf_to_gguf.py) writes, so that synthetic
// models carry a real vocabulary:
//   BPE with byte_fallback (Llama 2, Mistral, TinyLlama) -> model "llama": pieces, scores, token types
//       (bytes <0xNN>, control, user-defined), add_space_prefix from the normalizer. The converter would read
//       scores from tokenizer.model; from tokenizer.json alone it gives every piece -1000, which loses the
//       merge order, so here a piece scores minus the rank of the merge that makes it (SentencePiece's BPE
//       scores are that order).
//   byte-level BPE (Llama 3, Qwen2/3) -> model "gpt2": pieces, token types, merges, and the pre-tokenizer
//       named by the split expression (llama-bpe, qwen2, qwen35, gpt-2).
// Ids the file does not use, up to the model's vocabulary size, become unused "[PADn]" pieces, as the
// converter pads to config.json's vocab_size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "llm/gguf.hpp"

namespace versus::llm {

struct HfVocabulary {
    std::string model;  // "llama" or "gpt2"
    std::string pre;    // tokenizer.ggml.pre
    std::vector<std::string> tokens;
    std::vector<float> scores;  // llama only
    std::vector<int32_t> types;
    std::vector<std::string> merges;  // gpt2 only
    std::optional<int32_t> bos, eos, unk, pad;
    std::optional<bool> add_bos, add_eos;
    bool add_space_prefix = false;  // llama only
};

// UsageError naming the file for unreadable JSON, an unsupported model type or pre-tokenizer.
HfVocabulary read_hf_tokenizer(const std::filesystem::path& tokenizer_json);
// Writes the tokenizer.ggml.* keys; the vocabulary is padded to `n_vocab` pieces (>= tokens.size()).
void set_vocabulary_metadata(GgufWriter& w, const HfVocabulary& v, int64_t n_vocab);

}  // namespace versus::llm
