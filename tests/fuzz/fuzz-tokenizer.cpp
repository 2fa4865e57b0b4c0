// Fuzzes the tokenizers: any bytes, through a SentencePiece-style and a byte-level BPE vocabulary (every
// pre-tokenizer in turn), special tokens parsed or not, must encode without a crash, decode, and give valid
// UTF-8 text back unchanged (but for SentencePiece's own "▁" in the text, which decodes as a space); the
// pre-tokenizers' words must cover the text exactly.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llm/gguf.hpp"
#include "llm/pretokenize.hpp"
#include "llm/tokenizer.hpp"
#include "llm/unicode.hpp"

using namespace versus::llm;

namespace {

const char* const SP = "\xe2\x96\x81";

Tokenizer spm() {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {TOKEN_TYPE_UNKNOWN, TOKEN_TYPE_CONTROL, TOKEN_TYPE_CONTROL};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        tokens.emplace_back(name);
        types.push_back(TOKEN_TYPE_BYTE);
    }
    for (const char* p : {"a", "b", "ab", "ba", "abc", "\xc3\xa9", "<", "s", ">", "<s", "\xe4\xb8\xad"}) {
        tokens.emplace_back(p);
        tokens.push_back(SP + std::string(p));
        types.insert(types.end(), {TOKEN_TYPE_NORMAL, TOKEN_TYPE_NORMAL});
    }
    tokens.push_back(SP);
    types.push_back(TOKEN_TYPE_NORMAL);
    tokens.push_back("<tag>");
    types.push_back(TOKEN_TYPE_USER_DEFINED);
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i % 17);
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.scores", scores);
    w.set_array("tokenizer.ggml.token_type", types);
    return Tokenizer::from_gguf(GgufFile::from_bytes(w.to_bytes(), "spm"));
}

Tokenizer bpe(const char* pre) {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.push_back(bpe_byte_char(static_cast<uint8_t>(b)));
    const std::vector<std::string> merges = {"a b", "ab c", "\xc4\xa0 a", "1 2", "12 3", "\xc3 \xa9", "x y"};
    for (const auto& m : merges) tokens.push_back(m.substr(0, m.find(' ', 1)) + m.substr(m.find(' ', 1) + 1));
    std::vector<int32_t> types(tokens.size(), TOKEN_TYPE_NORMAL);
    for (const char* s : {"<|end|>", "<|e", "<think>"}) {
        tokens.emplace_back(s);
        types.push_back(s[1] == 't' ? TOKEN_TYPE_USER_DEFINED : TOKEN_TYPE_CONTROL);
    }
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.token_type", types);
    w.set_strings("tokenizer.ggml.merges", merges);
    return Tokenizer::from_gguf(GgufFile::from_bytes(w.to_bytes(), "bpe"));
}

void check(const Tokenizer& t, const std::string& text, bool add_special, bool parse_special) {
    const std::vector<int32_t> ids = t.encode(text, add_special, parse_special);
    for (int32_t id : ids)
        if (id < 0 || id >= t.n_vocab()) std::abort();
    const std::string back = t.decode(ids, true);
    // SentencePiece reads a "▁" of the text as a space: such text cannot come back unchanged.
    const bool spm_mark = t.kind() == TokenizerKind::SPM && text.find(SP) != std::string::npos;
    // Plain text whose pieces merge into a control token's text (SentencePiece's "<s" + ">" becomes <s>, as
    // in llama.cpp) decodes as a special boundary, which drops the space the encoder puts after one.
    bool merged_special = false;
    for (int32_t id : ids) merged_special |= !parse_special && t.token_type(id) == TOKEN_TYPE_CONTROL;
    if (!add_special && !spm_mark && !merged_special && utf8_is_valid(text) && back != text) {
        std::fprintf(stderr, "round trip lost the text (%zu bytes -> %zu)\n", text.size(), back.size());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Tokenizer spm_tok = spm();
    static const std::vector<Tokenizer> bpe_toks = [] {
        std::vector<Tokenizer> v;
        for (const char* pre : {"llama-bpe", "qwen2", "qwen35", "gpt-2", "default", "falcon", "starcoder"})
            v.push_back(bpe(pre));
        return v;
    }();
    if (size == 0) return 0;
    const uint8_t mode = data[0];
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    check(spm_tok, text, mode & 1, mode & 2);
    check(bpe_toks[(mode >> 2) % bpe_toks.size()], text, mode & 1, mode & 2);
    // The words of every pre-tokenizer cover the code points exactly.
    std::vector<uint32_t> cpts;
    for (size_t p = 0; p < text.size();) cpts.push_back(utf8_decode(text, p));
    for (PreTokenizer k : {PreTokenizer::DEFAULT, PreTokenizer::GPT2, PreTokenizer::LLAMA3, PreTokenizer::QWEN2,
                           PreTokenizer::QWEN35, PreTokenizer::FALCON, PreTokenizer::STARCODER}) {
        std::vector<uint32_t> lengths;
        pretokenize(k, cpts, lengths);
        size_t n = 0;
        for (uint32_t len : lengths) {
            if (len == 0) std::abort();
            n += len;
        }
        if (n != cpts.size()) std::abort();
    }
    return 0;
}
