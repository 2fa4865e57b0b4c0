// pretokenize: the splits byte-level BPE vocabularies apply before merging (tokenizer.ggml.pre). Each is
// written as a hand-made matcher for its regular expression, with the results of llama.cpp's matchers
// (which differ from the expressions in corner cases, and the tokens must equal llama.cpp's):
//   LLAMA3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//           \s*[\r\n]+|\s+(?!\S)|\s+
//   QWEN2   the same with \p{N} one digit at a time; QWEN35 also counts marks (\p{M}) as letters
//   GPT2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   DEFAULT punctuation runs split off, then GPT2, then number runs, then ASCII digits in threes
//   FALCON  punctuation runs (with `) split off, then GPT2, then ASCII digits in threes
//   STARCODER every number character alone, then GPT2
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace versus::llm {

enum class PreTokenizer { DEFAULT, GPT2, LLAMA3, QWEN2, QWEN35, FALCON, STARCODER };

struct PreTokenizerInfo {
    PreTokenizer kind;
    bool ignore_merges;  // a word that is a token is taken whole (Llama 3)
    bool add_bos;        // the default for tokenizer.ggml.add_bos_token
};

// The pre-tokenizer tokenizer.ggml.pre names (llama.cpp's names and aliases); false when unknown. An empty
// name is DEFAULT, as in llama.cpp.
bool find_pre_tokenizer(std::string_view name, PreTokenizerInfo& info);
// "default, llama3, llama-bpe, ...", for messages.
std::string pre_tokenizer_names();

// Splits code points into words; appends each word's length (in code points) to `lengths`, in order.
void pretokenize(PreTokenizer kind, std::span<const uint32_t> cpts, std::vector<uint32_t>& lengths);

}  // namespace versus::llm
