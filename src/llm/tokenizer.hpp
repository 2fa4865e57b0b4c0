// tokenizer: text <-> token ids for the vocabularies GGUF files carry, with the results llama.cpp gives.
//
// Two families, chosen by tokenizer.ggml.model:
//   "llama" (SentencePiece style: Llama 2, Mistral, TinyLlama) — spaces become "▁", a space is put before
//           the text, adjacent pieces merge best-score-first, characters outside the vocabulary fall back
//           to byte tokens <0xNN>;
//   "gpt2"  (byte-level BPE: Llama 3, Qwen2/3) — the text is split by the pre-tokenizer that
//           tokenizer.ggml.pre names (pretokenize.hpp), each byte is mapped to a printable character, and
//           the pairs of tokenizer.ggml.merges merge lowest-rank-first.
// Before either, special tokens are cut out of the text: user-defined ones always, control ones (BOS, EOS,
// <|eot_id|>, ...) only when `parse_special` is set, the longest first. Invalid UTF-8 never fails: SPM
// encodes the bad bytes as byte tokens (decode gives them back); BPE reads each bad byte as U+FFFD, as
// llama.cpp does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm/gguf.hpp"
#include "llm/pretokenize.hpp"

namespace versus::llm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum TokenType : int32_t {
    TOKEN_TYPE_UNDEFINED = 0,
    TOKEN_TYPE_NORMAL = 1,
    TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3,
    TOKEN_TYPE_USER_DEFINED = 4,
    TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6,
};

enum class TokenizerKind { SPM, BPE };

// A whole text file that must be UTF-8; UsageError at `place` naming the file and the first bad byte.
std::string read_utf8_file(const std::string& path, const std::string& place);

// The printable character byte-level BPE vocabularies write for a byte (GPT-2's table), as UTF-8.
std::string bpe_byte_char(uint8_t byte);

// Word -> ids cache of one encode() call, looked up by string_view without a copy.
struct WordHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using WordCache = std::unordered_map<std::string, std::vector<int32_t>, WordHash, std::equal_to<>>;

class Tokenizer {
public:
    // Reads tokenizer.ggml.* from a model file. UsageError naming the key when one is missing or malformed,
    // listing the supported models and pre-tokenizers when they are not supported.
    static Tokenizer from_gguf(const GgufFile& f);
    // Move-only: the text index views the token texts (a move keeps them where they are, a copy would not).
    Tokenizer(Tokenizer&&) noexcept = default;
    Tokenizer& operator=(Tokenizer&&) noexcept = default;
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // `add_special`: BOS/EOS as the vocabulary asks (add_bos_token / add_eos_token). `parse_special`: control
    // tokens written as text ("<|eot_id|>") become their ids; otherwise they are tokenized as plain text.
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
    // The bytes a token stands for. Control and unknown tokens give their text with `special`, nothing without.
    std::string piece(int32_t id, bool special = true) const;
    // The text of a sequence: the pieces joined, less the space SentencePiece vocabularies put in front of
    // the text and after each special token, so that decode(encode(t)) == t for valid UTF-8.
    std::string decode(std::span<const int32_t> ids, bool special = true) const;

    TokenizerKind kind() const { return kind_; }
    const std::string& model_name() const { return model_; }  // "llama" or "gpt2"
    const std::string& pre_name() const { return pre_name_; }  // tokenizer.ggml.pre ("" for SPM)
    int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
    const std::string& token_text(int32_t id) const { return tokens_.at(static_cast<size_t>(id)).text; }
    int32_t token_type(int32_t id) const { return tokens_.at(static_cast<size_t>(id)).type; }
    int32_t bos_id() const { return bos_; }  // -1 when the vocabulary has none
    int32_t eos_id() const { return eos_; }
    int32_t eot_id() const { return eot_; }
    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    // Ends generation: EOS, EOT (<|eot_id|>, <|im_end|>, ...) or <|end_of_text|>/<|endoftext|>.
    bool is_end_of_generation(int32_t id) const;

    // The pre-tokenizer names tokenizer.ggml.pre may hold, for messages.
    static std::string supported_pre_names();

    struct TokenData {
        std::string text;
        float score = 0.0f;
        int32_t type = TOKEN_TYPE_NORMAL;
    };

private:
    Tokenizer() = default;
    void build_index();
    void force_control();
    void build_bpe(const std::vector<std::string_view>& merges, const std::string& place);
    void encode_text(std::string_view text, bool space_prefix, std::vector<int32_t>& out, WordCache& cache) const;
    void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
    void encode_bpe_word(std::string_view word, std::vector<int32_t>& out) const;
    int32_t find(std::string_view text) const;
    int32_t byte_token(uint8_t byte) const;

    TokenizerKind kind_ = TokenizerKind::SPM;
    std::string model_, pre_name_;
    PreTokenizer pre_ = PreTokenizer::DEFAULT;
    std::vector<TokenData> tokens_;
    std::unordered_map<std::string_view, int32_t> text_to_id_;  // views tokens_ texts; the last id wins
    std::vector<int32_t> specials_;                             // cut out of text, longest first
    bool special_first_byte_[256] = {};                         // bytes a special token starts with
    int32_t bos_ = -1, eos_ = -1, eot_ = -1, unk_ = -1;
    bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, ignore_merges_ = false;
    bool spm_split_words_ = false;  // no piece holds "▁" after another character: words merge independently
    std::vector<int32_t> end_ids_;

    // Byte-level BPE. Symbols are strings met while merging: ids < n_vocab are tokens, larger ids strings of
    // merges that are not tokens themselves.
    std::string byte_chars_[256];                                // byte -> its printable character (UTF-8)
    std::unordered_map<std::string, uint8_t> char_bytes_;        // and back
    int32_t byte_symbol_[256] = {};                              // symbol of each byte's character, -1 if none
    struct Merge {
        int32_t rank;
        int32_t result;  // symbol of the merged string
    };
    std::unordered_map<uint64_t, Merge> merges_;  // (left symbol << 32 | right symbol) -> merge
    std::vector<std::string> extra_symbols_;      // texts of symbols >= n_vocab
};

}  // namespace versus::llm
