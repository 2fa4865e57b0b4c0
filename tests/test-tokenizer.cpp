// Tokenizers on small vocabularies built here (the real ones are checked against llama.cpp by
// tests/tokenizer-parity.sh): Unicode classes and UTF-8, the pre-tokenizers' splits, SentencePiece and
// byte-level BPE merging, special tokens, BOS/EOS, round trips, invalid UTF-8, bad metadata, tokenizer.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "base/error.hpp"
#include "llm/gguf.hpp"
#include "llm/pretokenize.hpp"
#include "llm/tokenizer-json.hpp"
#include "llm/tokenizer.hpp"
#include "llm/unicode.hpp"

using namespace versus::llm;

namespace {

const std::string SP = "\xe2\x96\x81";  // ▁

GgufFile to_file(const GgufWriter& w) { return GgufFile::from_bytes(w.to_bytes(), "test.gguf"); }

// SentencePiece-style: <unk> <s> </s>, the 256 byte tokens, then scored pieces.
GgufWriter spm_vocab(const std::vector<std::pair<std::string, float>>& pieces) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0, 0, 0};
    std::vector<int32_t> types = {TOKEN_TYPE_UNKNOWN, TOKEN_TYPE_CONTROL, TOKEN_TYPE_CONTROL};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        tokens.emplace_back(name);
        scores.push_back(0);
        types.push_back(TOKEN_TYPE_BYTE);
    }
    for (const auto& [t, s] : pieces) {
        tokens.push_back(t);
        scores.push_back(s);
        types.push_back(TOKEN_TYPE_NORMAL);
    }
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.scores", scores);
    w.set_array("tokenizer.ggml.token_type", types);
    return w;
}

// Byte-level BPE: the 256 byte characters (ids 0..255 in byte order), merged pieces, <|end|> as control.
GgufWriter bpe_vocab(const std::vector<std::string>& merges, const std::string& pre, std::vector<std::string>* tokens_out = nullptr) {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.push_back(bpe_byte_char(static_cast<uint8_t>(b)));
    for (const auto& m : merges) {
        const size_t sp = m.find(' ', 1);
        tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    }
    std::vector<int32_t> types(tokens.size(), TOKEN_TYPE_NORMAL);
    tokens.push_back("<|end|>");
    types.push_back(TOKEN_TYPE_CONTROL);
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set_strings("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.token_type", types);
    w.set_strings("tokenizer.ggml.merges", merges);
    if (tokens_out) *tokens_out = tokens;
    return w;
}

std::vector<std::string> split(PreTokenizer kind, const std::string& text) {
    std::vector<uint32_t> cpts;
    for (size_t p = 0; p < text.size();) cpts.push_back(utf8_decode(text, p));
    std::vector<uint32_t> lengths;
    pretokenize(kind, cpts, lengths);
    std::vector<std::string> words;
    size_t i = 0;
    for (uint32_t n : lengths) {
        std::string w;
        for (size_t k = i; k < i + n; ++k) utf8_append(w, cpts[k]);
        words.push_back(w);
        i += n;
    }
    return words;
}

using Words = std::vector<std::string>;

}  // namespace

TEST(Unicode, ClassesAndWhitespace) {
    EXPECT_EQ(unicode_class('a'), UNICODE_LETTER);
    EXPECT_EQ(unicode_class('7'), UNICODE_NUMBER);
    EXPECT_EQ(unicode_class('!'), UNICODE_PUNCTUATION);
    EXPECT_EQ(unicode_class('$'), UNICODE_SYMBOL);
    EXPECT_EQ(unicode_class(0x0301), UNICODE_MARK);       // combining acute
    EXPECT_EQ(unicode_class(0x4E2D), UNICODE_LETTER);     // 中
    EXPECT_EQ(unicode_class(0x0663), UNICODE_NUMBER);     // Arabic-Indic three
    EXPECT_EQ(unicode_class(0x1F600), UNICODE_SYMBOL);    // 😀
    EXPECT_EQ(unicode_class(0x2EBF0), UNICODE_LETTER);    // CJK Extension I (Unicode 15.1)
    EXPECT_EQ(unicode_class(0x0378), UNICODE_UNDEFINED);  // unassigned
    EXPECT_EQ(unicode_class(0x110000), UNICODE_UNDEFINED);
    for (uint32_t c : {0x09u, 0x0Au, 0x20u, 0x85u, 0xA0u, 0x2003u, 0x3000u}) EXPECT_TRUE(unicode_is_whitespace(c)) << c;
    for (uint32_t c : {0x41u, 0x200Bu, 0x1Cu}) EXPECT_FALSE(unicode_is_whitespace(c)) << c;
}

TEST(Unicode, Utf8DecodeNeverFails) {
    const std::string s = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xff\xc3(\xe2\x82";
    std::vector<uint32_t> got;
    for (size_t p = 0; p < s.size();) got.push_back(utf8_decode(s, p));
    EXPECT_EQ(got, (std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F600, 0xFFFD, 0xFFFD, '(', 0xFFFD, 0xFFFD}));
    size_t bad = 0;
    EXPECT_TRUE(utf8_is_valid("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    EXPECT_FALSE(utf8_is_valid("ok\xc0\x80", &bad));  // overlong
    EXPECT_EQ(bad, 2u);
    EXPECT_FALSE(utf8_is_valid("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(utf8_is_valid("abc\xe2\x82", &bad));  // truncated
    EXPECT_EQ(bad, 3u);
    std::string enc;
    for (uint32_t c : {0x24u, 0xA2u, 0x20ACu, 0x10348u}) utf8_append(enc, c);
    EXPECT_EQ(enc, "$\xc2\xa2\xe2\x82\xac\xf0\x90\x8d\x88");
}

TEST(PreTokenize, Llama3AndQwen2) {
    EXPECT_EQ(split(PreTokenizer::LLAMA3, "Hello world's 12345 dollars"),
              (Words{"Hello", " world", "'s", " ", "123", "45", " dollars"}));
    EXPECT_EQ(split(PreTokenizer::QWEN2, "x 2024!"), (Words{"x", " ", "2", "0", "2", "4", "!"}));
    EXPECT_EQ(split(PreTokenizer::LLAMA3, "I'M  ok\n\n  next"), (Words{"I", "'M", " ", " ok", "\n\n", " ", " next"}));
    EXPECT_EQ(split(PreTokenizer::LLAMA3, "a...\r\nb  "), (Words{"a", "...\r\n", "b", "  "}));
    EXPECT_EQ(split(PreTokenizer::LLAMA3, "(x) \xe4\xb8\xad\xe6\x96\x87"), (Words{"(x", ")", " \xe4\xb8\xad\xe6\x96\x87"}));
    // Marks: letters for QWEN35 only.
    EXPECT_EQ(split(PreTokenizer::QWEN2, "e\xcc\x81t"), (Words{"e", "\xcc\x81t"}));
    EXPECT_EQ(split(PreTokenizer::QWEN35, "e\xcc\x81t"), (Words{"e\xcc\x81t"}));
}

TEST(PreTokenize, Gpt2AndDefault) {
    EXPECT_EQ(split(PreTokenizer::GPT2, "Hello  world's 42!"), (Words{"Hello", " ", " world", "'s", " 42", "!"}));
    EXPECT_EQ(split(PreTokenizer::GPT2, "I'M"), (Words{"I", "'", "M"}));  // case-sensitive contractions
    // DEFAULT: punctuation runs split off, number runs, ASCII digits in threes.
    EXPECT_EQ(split(PreTokenizer::DEFAULT, "a,b 1234567"), (Words{"a", ",", "b", " ", "123", "456", "7"}));
    EXPECT_EQ(split(PreTokenizer::STARCODER, "x12"), (Words{"x", "1", "2"}));
    EXPECT_TRUE(split(PreTokenizer::LLAMA3, "").empty());
}

TEST(PreTokenize, Names) {
    PreTokenizerInfo info{};
    ASSERT_TRUE(find_pre_tokenizer("llama-bpe", info));
    EXPECT_EQ(info.kind, PreTokenizer::LLAMA3);
    EXPECT_TRUE(info.ignore_merges);
    ASSERT_TRUE(find_pre_tokenizer("", info));
    EXPECT_EQ(info.kind, PreTokenizer::DEFAULT);
    EXPECT_FALSE(find_pre_tokenizer("tekken", info));
    EXPECT_NE(pre_tokenizer_names().find("qwen2"), std::string::npos);
}

TEST(TokenizerSpm, MergesByScoreWithByteFallback) {
    // "▁hello": pieces score so that "ll" merges before "he", and "▁hello" exists.
    GgufWriter w = spm_vocab({{SP, -1}, {"h", -5}, {"e", -5}, {"l", -5}, {"o", -5}, {"ll", -2}, {"he", -3},
                              {SP + "he", -4}, {"llo", -6}, {SP + "hello", -7}, {"w", -5}});
    const Tokenizer t = Tokenizer::from_gguf(to_file(w));
    EXPECT_EQ(t.kind(), TokenizerKind::SPM);
    EXPECT_TRUE(t.add_bos());
    const int32_t hello = t.n_vocab() - 2;
    EXPECT_EQ(t.token_text(hello), SP + "hello");
    EXPECT_EQ(t.encode("hello", false, false), (std::vector<int32_t>{hello}));
    EXPECT_EQ(t.encode("hello", true, false), (std::vector<int32_t>{1, hello}));
    // "!" is no piece: byte token <0x21> (id 3 + 0x21).
    const auto ids = t.encode("hello!", false, false);
    EXPECT_EQ(ids, (std::vector<int32_t>{hello, 3 + 0x21}));
    EXPECT_EQ(t.decode(ids), "hello!");
    // Special tokens: parsed, or spelled with byte tokens; the text after a special token gets the space.
    EXPECT_EQ(t.encode("<s>hello", false, true), (std::vector<int32_t>{1, hello}));
    EXPECT_EQ(t.encode("<s>", false, false).size(), 4u);  // ▁ < s >
    EXPECT_EQ(t.decode(t.encode("<s>hello </s>", true, true)), "<s><s>hello </s>");
    EXPECT_TRUE(t.encode("", false, false).empty());
    EXPECT_EQ(t.encode("", true, false), (std::vector<int32_t>{1}));
}

TEST(TokenizerSpm, RoundTripsValidUtf8AndKeepsBadBytes) {
    GgufWriter w = spm_vocab({{SP, -1}, {"a", -2}, {SP + "a", -3}, {"\xc3\xa9", -4}});
    const Tokenizer t = Tokenizer::from_gguf(to_file(w));
    std::mt19937 rng(7);
    const uint32_t ranges[][2] = {{0x20, 0x7e}, {0xa0, 0x2ff}, {0x4e00, 0x4fff}, {0x1f600, 0x1f64f}, {0x9, 0xd}};
    for (int i = 0; i < 300; ++i) {
        std::string s;
        for (int k = static_cast<int>(rng() % 16); k > 0; --k) {
            const auto& r = ranges[rng() % 5];
            utf8_append(s, r[0] + static_cast<uint32_t>(rng() % (r[1] - r[0] + 1)));
        }
        EXPECT_EQ(t.decode(t.encode(s, false, false)), s) << i;
    }
    // Bytes that are not UTF-8 come back as they were (byte tokens), as long as no lead byte swallows the
    // "\xe2\x96\x81" of a space: llama.cpp reads a lead byte's length without checking what follows.
    EXPECT_EQ(t.decode(t.encode("a\x80\xbf b\xff", false, false)), "a\x80\xbf b\xff");
}

TEST(TokenizerBpe, MergesByRankAndRoundTrips) {
    std::vector<std::string> tokens;
    // "a b" ranks before "b c": "abc" -> "ab" "c"; "Ġ" is the space's character.
    GgufWriter w = bpe_vocab({"a b", "b c", "ab c", "\xc4\xa0 a", "h e", "l l", "he ll", "hell o"}, "llama-bpe", &tokens);
    const Tokenizer t = Tokenizer::from_gguf(to_file(w));
    EXPECT_EQ(t.kind(), TokenizerKind::BPE);
    EXPECT_TRUE(t.add_bos());  // llama-bpe asks for BOS; without a bos_token_id key, llama.cpp's default 11
    EXPECT_EQ(t.bos_id(), 11);
    const auto id = [&](const std::string& s) {
        return static_cast<int32_t>(std::find(tokens.begin(), tokens.end(), s) - tokens.begin());
    };
    EXPECT_EQ(t.encode("abc", false, false), (std::vector<int32_t>{id("abc")}));
    EXPECT_EQ(t.encode("hello", false, false), (std::vector<int32_t>{id("hello")}));
    EXPECT_EQ(t.encode(" a", false, false), (std::vector<int32_t>{id("\xc4\xa0" "a")}));
    EXPECT_EQ(t.encode("x<|end|>", false, true), (std::vector<int32_t>{'x', t.n_vocab() - 1}));
    EXPECT_EQ(t.encode("<|end|>", false, false).size(), 7u);
    std::mt19937 rng(11);
    const std::vector<std::string> parts = {"a", "b", "c", " ", "  ", "\n", "hello", "\xc3\xa9", "\xe4\xb8\xad", "12345", "'s", "!"};
    for (int i = 0; i < 300; ++i) {
        std::string s;
        for (int k = static_cast<int>(rng() % 12); k > 0; --k) s += parts[rng() % parts.size()];
        EXPECT_EQ(t.decode(t.encode(s, false, true)), s) << s;
    }
    // Invalid UTF-8: each bad byte reads as U+FFFD, as in llama.cpp.
    EXPECT_EQ(t.decode(t.encode("a\xff", false, false)), "a\xef\xbf\xbd");
}

TEST(TokenizerErrors, MissingUnknownAndDamaged) {
    GgufWriter none;
    none.set_string("general.architecture", "llama");
    try {
        (void)Tokenizer::from_gguf(to_file(none));
        FAIL();
    } catch (const versus::UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.model"), std::string::npos) << e.what();
    }
    GgufWriter pre = bpe_vocab({"a b"}, "tekken");
    try {
        (void)Tokenizer::from_gguf(to_file(pre));
        FAIL();
    } catch (const versus::UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("llama-bpe"), std::string::npos) << e.what();
    }
    GgufWriter bert;
    bert.set_string("tokenizer.ggml.model", "bert");
    EXPECT_THROW((void)Tokenizer::from_gguf(to_file(bert)), versus::UsageError);
    GgufWriter no_merges = bpe_vocab({"a b"}, "qwen2");
    no_merges.set_strings("tokenizer.ggml.merges", std::vector<std::string>{"nospace"});
    EXPECT_THROW((void)Tokenizer::from_gguf(to_file(no_merges)), versus::UsageError);
    GgufWriter short_scores = spm_vocab({});
    short_scores.set_array("tokenizer.ggml.scores", std::vector<float>{0, 0});
    EXPECT_THROW((void)Tokenizer::from_gguf(to_file(short_scores)), versus::UsageError);
}

TEST(TokenizerJson, ReadsByteLevelAndRefusesOthers) {
    const auto dir = std::filesystem::temp_directory_path() / ("versus-tokjson-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto write = [&](const std::string& json) {
        std::ofstream(dir / "tokenizer.json") << json;
        return dir / "tokenizer.json";
    };
    const std::string llama3_split =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+)";
    const HfVocabulary v = read_hf_tokenizer(write(
        R"({"added_tokens":[{"id":3,"content":"<|eot|>","special":true},{"id":4,"content":"<think>","special":false}],
            "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":")" + llama3_split +
        R"("}},{"type":"ByteLevel","use_regex":false}]},
            "model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]}})"));
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(v.pre, "llama-bpe");
    EXPECT_EQ(v.tokens, (std::vector<std::string>{"a", "b", "ab", "<|eot|>", "<think>"}));
    EXPECT_EQ(v.types, (std::vector<int32_t>{1, 1, 1, TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED}));
    EXPECT_EQ(v.merges, (std::vector<std::string>{"a b"}));
    EXPECT_THROW(read_hf_tokenizer(write(R"({"model":{"type":"Unigram","vocab":[]}})")), versus::UsageError);
    EXPECT_THROW(read_hf_tokenizer(write(R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"x"}},
        "model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")), versus::UsageError);
    EXPECT_THROW(read_hf_tokenizer(write("{not json")), versus::UsageError);
    // SentencePiece-style: scores follow the merge order, byte pieces are typed, BOS from the template.
    const HfVocabulary s = read_hf_tokenizer(write(
        R"({"added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true}],
            "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"}]},
            "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>"}},{"Sequence":{"id":"A"}}]},
            "model":{"type":"BPE","byte_fallback":true,"unk_token":"<unk>",
                     "vocab":{"<unk>":0,"<s>":1,"<0x41>":2,"a":3,"b":4,"ab":5},"merges":["a b"]}})"));
    EXPECT_EQ(s.model, "llama");
    EXPECT_TRUE(s.add_space_prefix);
    EXPECT_EQ(s.types[0], TOKEN_TYPE_UNKNOWN);
    EXPECT_EQ(s.types[2], TOKEN_TYPE_BYTE);
    EXPECT_EQ(s.scores[5], -1.0f);
    EXPECT_EQ(s.bos, 1);
    EXPECT_EQ(s.add_bos, true);
    std::filesystem::remove_all(dir);
}
