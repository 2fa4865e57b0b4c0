// tokenizer: loading a vocabulary from GGUF metadata, cutting special tokens out of the text, and the
// pieces and text of token ids. The merges of each family live in tokenizer-spm.cpp and tokenizer-bpe.cpp.
#include "llm/tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/error.hpp"
#include "llm/unicode.hpp"

namespace versus::llm {
namespace {

const char* const SPACE_MARK = "\xe2\x96\x81";  // U+2581, SentencePiece's space

// Texts that end generation (llama.cpp's end-of-generation list); llama.cpp also makes them control tokens.
constexpr const char* END_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~["};
// Fill-in-the-middle and end-of-turn texts llama.cpp makes control tokens whatever the file says (it finds
// them by text), so that they are cut out of text like the others.
constexpr const char* CONTROL_TEXTS[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>",
    "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>"};

bool is_special_type(int32_t type) {
    return type == TOKEN_TYPE_CONTROL || type == TOKEN_TYPE_USER_DEFINED || type == TOKEN_TYPE_UNKNOWN;
}

// A piece of the input: raw text [off, off + len) or a special token cut out of it.
struct Fragment {
    int32_t id;  // -1 for raw text
    size_t off, len;
};

}  // namespace

std::string read_utf8_file(const std::string& path, const std::string& place) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(place, fmt::format("cannot open {}", path), "give a UTF-8 text file");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    size_t bad = 0;
    if (!utf8_is_valid(text, &bad))
        throw UsageError(place, fmt::format("{} is not UTF-8 (byte {} of {})", path, bad, text.size()),
                         "convert it, e.g. iconv -f latin1 -t utf-8");
    return text;
}

Tokenizer Tokenizer::from_gguf(const GgufFile& f) {
    const std::string place = "tokenizer";
    const std::string where = f.name();
    const auto missing = [&](const std::string& key) {
        return UsageError(place,
                          fmt::format("{}: missing key '{}': the file carries no vocabulary", where, key),
                          "give token ids (--tokens), or write the model with a vocabulary: versus model create "
                          "--tokenizer tokenizer.json");
    };
    Tokenizer t;
    const auto model = f.get_string("tokenizer.ggml.model");
    if (!model) throw missing("tokenizer.ggml.model");
    t.model_ = std::string(*model);
    if (t.model_ == "llama") {
        t.kind_ = TokenizerKind::SPM;
        t.bos_ = 1, t.eos_ = 2, t.unk_ = 0;
        t.add_bos_ = true, t.add_space_prefix_ = true;
    } else if (t.model_ == "gpt2") {
        t.kind_ = TokenizerKind::BPE;
        t.bos_ = 11, t.eos_ = 11;  // llama.cpp's defaults for GPT-2 vocabularies
    } else {
        throw UsageError(place, fmt::format("{}: tokenizer model '{}' is not supported", where, t.model_),
                         "versus reads 'llama' (SentencePiece) and 'gpt2' (byte-level BPE) vocabularies");
    }
    const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
    if (!tokens) throw missing("tokenizer.ggml.tokens");
    if (!tokens->is_array() || tokens->array_type() != GgufValueType::STRING || tokens->size() == 0)
        throw UsageError(place, fmt::format("{}: tokenizer.ggml.tokens is not a non-empty array of strings", where),
                         "the file's vocabulary is damaged");
    const size_t n = tokens->strings().size();
    std::vector<float> scores;
    if (const GgufValue* s = f.find("tokenizer.ggml.scores")) {
        auto v = s->to_vector<float>();
        if (!v || v->size() < n)
            throw UsageError(place, fmt::format("{}: tokenizer.ggml.scores holds fewer than {} numbers", where, n),
                             "the file's vocabulary is damaged");
        scores = std::move(*v);
    }
    std::vector<int32_t> types;
    if (const GgufValue* s = f.find("tokenizer.ggml.token_type")) {
        auto v = s->to_vector<int32_t>();
        if (!v || v->size() < n)
            throw UsageError(place, fmt::format("{}: tokenizer.ggml.token_type holds fewer than {} integers", where, n),
                             "the file's vocabulary is damaged");
        types = std::move(*v);
    }
    t.tokens_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        TokenData& d = t.tokens_[i];
        d.text = std::string(tokens->strings()[i]);
        if (d.text.empty()) d.text = fmt::format("[EMPTY_{}]", i);
        d.score = scores.empty() ? 0.0f : scores[i];
        d.type = types.empty() ? TOKEN_TYPE_NORMAL : types[i];
        if (d.type < TOKEN_TYPE_UNDEFINED || d.type > TOKEN_TYPE_BYTE) d.type = TOKEN_TYPE_UNDEFINED;
    }
    t.build_index();
    t.force_control();

    if (t.kind_ == TokenizerKind::BPE) {
        const GgufValue* merges = f.find("tokenizer.ggml.merges");
        if (!merges) throw missing("tokenizer.ggml.merges");
        if (!merges->is_array() || merges->array_type() != GgufValueType::STRING)
            throw UsageError(place, fmt::format("{}: tokenizer.ggml.merges is not an array of strings", where),
                             "the file's vocabulary is damaged");
        t.pre_name_ = std::string(f.get_string("tokenizer.ggml.pre").value_or(""));
        PreTokenizerInfo info{};
        if (!find_pre_tokenizer(t.pre_name_, info))
            throw UsageError(place, fmt::format("{}: pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported", where,
                                                t.pre_name_),
                             "supported: " + pre_tokenizer_names());
        t.pre_ = info.kind;
        t.ignore_merges_ = info.ignore_merges;
        t.add_bos_ = info.add_bos;
        std::vector<std::string_view> list(merges->strings().begin(), merges->strings().end());
        t.build_bpe(list, where);
    }
    if (auto v = f.get_bool("tokenizer.ggml.add_space_prefix"); v && t.kind_ == TokenizerKind::SPM)
        t.add_space_prefix_ = *v;
    if (auto v = f.get_bool("tokenizer.ggml.add_bos_token")) t.add_bos_ = *v;
    if (auto v = f.get_bool("tokenizer.ggml.add_eos_token")) t.add_eos_ = *v;
    // Special ids: the file's, when in range; defaults out of range are dropped.
    const auto special_id = [&](const char* key, int32_t& id) {
        if (id >= static_cast<int32_t>(n)) id = -1;
        const GgufValue* v = f.find(key);
        if (!v) return;
        if (auto x = v->to<uint32_t>(); x && *x < n) id = static_cast<int32_t>(*x);
    };
    special_id("tokenizer.ggml.bos_token_id", t.bos_);
    special_id("tokenizer.ggml.eos_token_id", t.eos_);
    special_id("tokenizer.ggml.unknown_token_id", t.unk_);
    special_id("tokenizer.ggml.eot_token_id", t.eot_);
    for (const char* text : END_TEXTS) {
        const int32_t id = t.find(text);
        if (id < 0) continue;
        if (t.eot_ < 0 && text != std::string_view("</s>")) t.eot_ = id;
        t.end_ids_.push_back(id);
    }
    if (t.add_bos_ && t.bos_ < 0) t.add_bos_ = false;
    if (t.add_eos_ && t.eos_ < 0) t.add_eos_ = false;
    return t;
}

void Tokenizer::build_index() {
    text_to_id_.clear();
    text_to_id_.reserve(tokens_.size() * 2);
    for (size_t i = 0; i < tokens_.size(); ++i) text_to_id_[tokens_[i].text] = static_cast<int32_t>(i);
    specials_.clear();
    for (size_t i = 0; i < tokens_.size(); ++i)
        if (is_special_type(tokens_[i].type)) specials_.push_back(static_cast<int32_t>(i));
    for (bool& b : special_first_byte_) b = false;
    for (int32_t id : specials_) special_first_byte_[static_cast<uint8_t>(tokens_[static_cast<size_t>(id)].text[0])] = true;
    std::stable_sort(specials_.begin(), specials_.end(),
                     [&](int32_t a, int32_t b) { return tokens_[a].text.size() > tokens_[b].text.size(); });
    // SentencePiece words ("▁" and what follows up to the next "▁" after another character) merge on their
    // own when no piece holds a "▁" after another character: encode them separately and cache them.
    spm_split_words_ = std::none_of(tokens_.begin(), tokens_.end(), [](const TokenData& d) {
        for (size_t p = d.text.find(SPACE_MARK, 1); p != std::string::npos; p = d.text.find(SPACE_MARK, p + 1))
            if (p < 3 || d.text.compare(p - 3, 3, SPACE_MARK) != 0) return true;
        return false;
    });
}

void Tokenizer::force_control() {
    bool changed = false;
    const auto force = [&](const char* text) {
        const int32_t id = find(text);
        if (id < 0 || tokens_[static_cast<size_t>(id)].type == TOKEN_TYPE_CONTROL) return;
        tokens_[static_cast<size_t>(id)].type = TOKEN_TYPE_CONTROL;
        changed = true;
    };
    for (const char* text : END_TEXTS) force(text);
    for (const char* text : CONTROL_TEXTS) force(text);
    if (changed) build_index();
}

int32_t Tokenizer::find(std::string_view text) const {
    auto it = text_to_id_.find(text);
    return it == text_to_id_.end() ? -1 : it->second;
}

bool Tokenizer::is_end_of_generation(int32_t id) const {
    return id >= 0 && (id == eos_ || id == eot_ || std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end());
}

std::string Tokenizer::supported_pre_names() { return pre_tokenizer_names(); }

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    // Special tokens, longest first, each cut out of the raw fragments that remain (a token never spans two).
    // Occurrences are looked for only where the text has a byte some special token starts with.
    std::vector<Fragment> frags;
    if (!text.empty()) frags.push_back({-1, 0, text.size()});
    std::vector<uint32_t> starts;
    for (size_t i = 0; i < text.size(); ++i)
        if (special_first_byte_[static_cast<uint8_t>(text[i])]) starts.push_back(static_cast<uint32_t>(i));
    std::vector<Fragment> next;
    std::vector<size_t> found;
    for (int32_t id : starts.empty() ? std::vector<int32_t>{} : specials_) {
        const TokenData& d = tokens_[static_cast<size_t>(id)];
        if (!parse_special && d.type != TOKEN_TYPE_USER_DEFINED) continue;
        found.clear();
        for (uint32_t p : starts)
            if (text.compare(p, d.text.size(), d.text) == 0) found.push_back(p);
        if (found.empty()) continue;
        next.clear();
        auto at = found.begin();
        for (const Fragment& fr : frags) {
            if (fr.id >= 0) {
                next.push_back(fr);
                continue;
            }
            size_t start = fr.off;
            const size_t end = fr.off + fr.len;
            while (at != found.end() && *at < start) ++at;
            for (; at != found.end() && *at + d.text.size() <= end; ++at) {
                if (*at < start) continue;  // overlaps the occurrence just cut
                if (*at > start) next.push_back({-1, start, *at - start});
                next.push_back({id, *at, d.text.size()});
                start = *at + d.text.size();
            }
            if (start < end) next.push_back({-1, start, end - start});
        }
        frags.swap(next);
    }

    std::vector<int32_t> out;
    WordCache cache;
    if (add_special && add_bos_) out.push_back(bos_);
    bool after_special = true;  // SentencePiece: a space goes before the text and after each special token
    for (const Fragment& fr : frags) {
        if (fr.id >= 0) {
            out.push_back(fr.id);
            after_special = true;
            continue;
        }
        encode_text(text.substr(fr.off, fr.len), add_space_prefix_ && after_special, out, cache);
        after_special = false;
    }
    if (add_special && add_eos_) out.push_back(eos_);
    return out;
}

std::string Tokenizer::piece(int32_t id, bool special) const {
    if (id < 0 || id >= n_vocab()) return {};
    const TokenData& d = tokens_[static_cast<size_t>(id)];
    switch (d.type) {
        case TOKEN_TYPE_CONTROL:
        case TOKEN_TYPE_UNKNOWN: return special ? d.text : std::string();
        case TOKEN_TYPE_USER_DEFINED: return d.text;
        case TOKEN_TYPE_BYTE:
            if (d.text.size() == 6 && d.text.starts_with("<0x") && d.text.back() == '>')
                return std::string(1, static_cast<char>(std::stoi(d.text.substr(3, 2), nullptr, 16)));
            [[fallthrough]];
        case TOKEN_TYPE_NORMAL: {
            std::string out;
            if (kind_ == TokenizerKind::SPM) {
                for (size_t i = 0; i < d.text.size();) {
                    if (d.text.compare(i, 3, SPACE_MARK) == 0) {
                        out += ' ';
                        i += 3;
                    } else {
                        out += d.text[i++];
                    }
                }
                return out;
            }
            // Byte-level BPE: every character of the piece stands for one byte.
            for (size_t i = 0; i < d.text.size();) {
                const size_t len = std::min(utf8_sequence_length(static_cast<uint8_t>(d.text[i])), d.text.size() - i);
                auto it = char_bytes_.find(d.text.substr(i, len));
                if (it != char_bytes_.end())
                    out += static_cast<char>(it->second);
                else
                    out.append(d.text, i, len);
                i += len;
            }
            return out;
        }
        default: return {};
    }
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool special) const {
    std::string out;
    bool after_special = true;
    for (int32_t id : ids) {
        std::string p = piece(id, special);
        if (id >= 0 && id < n_vocab() && is_special_type(tokens_[static_cast<size_t>(id)].type)) {
            after_special = true;
        } else {
            if (after_special && add_space_prefix_ && !p.empty() && p[0] == ' ') p.erase(0, 1);
            after_special = false;
        }
        out += p;
    }
    return out;
}

void Tokenizer::encode_text(std::string_view text, bool space_prefix, std::vector<int32_t>& out,
                            WordCache& cache) const {
    const auto cached = [&](std::string_view word, auto&& encode_word) {
        auto it = cache.find(word);
        if (it == cache.end()) {
            std::vector<int32_t> ids;
            encode_word(word, ids);
            if (cache.size() > (1u << 16)) cache.clear();
            it = cache.emplace(std::string(word), std::move(ids)).first;
        }
        out.insert(out.end(), it->second.begin(), it->second.end());
    };
    if (kind_ == TokenizerKind::SPM) {
        std::string s;
        s.reserve(text.size() + 16);
        if (space_prefix) s += SPACE_MARK;
        for (char c : text) {
            if (c == ' ')
                s += SPACE_MARK;
            else
                s += c;
        }
        if (!spm_split_words_) {
            encode_spm(s, out);
            return;
        }
        // Words begin at a "▁" that follows another character (symbols as the merge loop sees them).
        const auto spm = [this](std::string_view w, std::vector<int32_t>& ids) { encode_spm(w, ids); };
        size_t word = 0;
        bool prev_mark = false;
        for (size_t i = 0; i < s.size();) {
            const bool mark = s.compare(i, 3, SPACE_MARK) == 0;
            if (mark && !prev_mark && i > word) {
                cached(std::string_view(s).substr(word, i - word), spm);
                word = i;
            }
            prev_mark = mark;
            i += std::min(utf8_sequence_length(static_cast<uint8_t>(s[i])), s.size() - i);
        }
        if (word < s.size()) cached(std::string_view(s).substr(word), spm);
        return;
    }
    // Byte-level BPE: code points (a bad byte reads as U+FFFD), the pre-tokenizer's words, each merged alone.
    std::vector<uint32_t> cpts, starts;
    cpts.reserve(text.size());
    starts.reserve(text.size() + 1);
    bool exact = true;  // the words' bytes are the text's own (no bad or overlong sequence)
    for (size_t pos = 0; pos < text.size();) {
        starts.push_back(static_cast<uint32_t>(pos));
        const size_t at = pos;
        const uint32_t c = utf8_decode(text, pos);
        const size_t want = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (pos - at != want) exact = false;
        cpts.push_back(c);
    }
    starts.push_back(static_cast<uint32_t>(text.size()));
    std::vector<uint32_t> lengths;
    pretokenize(pre_, cpts, lengths);
    const auto bpe = [this](std::string_view w, std::vector<int32_t>& ids) { encode_bpe_word(w, ids); };
    size_t i = 0;
    std::string word;
    for (uint32_t len : lengths) {
        if (exact) {
            cached(text.substr(starts[i], starts[i + len] - starts[i]), bpe);
        } else {
            word.clear();
            for (size_t k = i; k < i + len; ++k) utf8_append(word, cpts[k]);
            cached(word, bpe);
        }
        i += len;
    }
}

}  // namespace versus::llm
