#include "llm/pretokenize.hpp"

#include "llm/unicode.hpp"

namespace versus::llm {
namespace {

struct NamedPre {
    const char* name;
    PreTokenizerInfo info;
};

// llama.cpp's names for the splits implemented here (llama-vocab.cpp, tokenizer_pre).
constexpr NamedPre PRE_NAMES[] = {
    {"default", {PreTokenizer::DEFAULT, false, false}},
    {"llama3", {PreTokenizer::LLAMA3, true, true}},
    {"llama-v3", {PreTokenizer::LLAMA3, true, true}},
    {"llama-bpe", {PreTokenizer::LLAMA3, true, true}},
    {"falcon3", {PreTokenizer::LLAMA3, true, true}},
    {"falcon-h1", {PreTokenizer::LLAMA3, true, true}},
    {"pixtral", {PreTokenizer::LLAMA3, true, true}},
    {"midm-2.0", {PreTokenizer::LLAMA3, true, true}},
    {"lfm2", {PreTokenizer::LLAMA3, true, true}},
    {"dbrx", {PreTokenizer::LLAMA3, false, false}},
    {"smaug-bpe", {PreTokenizer::LLAMA3, false, false}},
    {"qwen2", {PreTokenizer::QWEN2, false, false}},
    {"deepseek-r1-qwen", {PreTokenizer::QWEN2, false, false}},
    {"kormo", {PreTokenizer::QWEN2, false, false}},
    {"stablelm2", {PreTokenizer::QWEN2, false, false}},
    {"qwen35", {PreTokenizer::QWEN35, false, false}},
    {"gpt-2", {PreTokenizer::GPT2, false, false}},
    {"phi-2", {PreTokenizer::GPT2, false, false}},
    {"mpt", {PreTokenizer::GPT2, false, false}},
    {"olmo", {PreTokenizer::GPT2, false, false}},
    {"jina-es", {PreTokenizer::GPT2, false, false}},
    {"jina-de", {PreTokenizer::GPT2, false, false}},
    {"gigachat", {PreTokenizer::GPT2, false, false}},
    {"exaone4", {PreTokenizer::GPT2, false, false}},
    {"falcon", {PreTokenizer::FALCON, false, false}},
    {"starcoder", {PreTokenizer::STARCODER, false, false}},
    {"refact", {PreTokenizer::STARCODER, false, false}},
    {"command-r", {PreTokenizer::STARCODER, false, false}},
    {"smollm", {PreTokenizer::STARCODER, false, false}},
    {"codeshell", {PreTokenizer::STARCODER, false, false}},
    {"exaone", {PreTokenizer::STARCODER, false, false}},
};

// Per code point: its class, white space, and a presence bit, so that "past the end" (0) differs from
// every code point (llama.cpp's matchers test both).
constexpr uint8_t PRESENT = 0x80;

inline bool is_letter(uint8_t f) { return (f & UNICODE_CLASS_MASK) == UNICODE_LETTER; }
inline bool is_number(uint8_t f) { return (f & UNICODE_CLASS_MASK) == UNICODE_NUMBER; }
inline bool is_mark(uint8_t f) { return (f & UNICODE_CLASS_MASK) == UNICODE_MARK; }
inline bool is_space(uint8_t f) { return (f & UNICODE_WHITESPACE) != 0; }
inline uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// One segment of code points [begin, end) and the words found in it.
class Scanner {
public:
    Scanner(std::span<const uint32_t> cpts, const std::vector<uint8_t>& flags, size_t begin, size_t end,
            std::vector<uint32_t>& out)
        : c_(cpts), f_(flags), begin_(begin), end_(end), out_(out), prev_(begin) {}

    uint32_t cpt(size_t i) const { return i < end_ ? c_[i] : 0xFFFFFFFFu; }
    uint8_t flags(size_t i) const { return i < end_ ? f_[i] : 0; }
    // Ends the current word at `end`; returns its length (0 words are not emitted).
    size_t emit(size_t end) {
        const size_t n = end - prev_;
        if (n > 0) out_.push_back(static_cast<uint32_t>(n));
        prev_ = end;
        return n;
    }

    // 's 't 're 've 'm 'll 'd at i; case-insensitive for LLAMA3/QWEN. Returns the length matched, or 0.
    size_t contraction(size_t i, bool fold) const {
        if (c_[i] != '\'' || i + 1 >= end_) return 0;
        const auto low = [&](size_t k) { return fold ? ascii_lower(c_[k]) : c_[k]; };
        const uint32_t a = low(i + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 >= end_) return 0;
        const uint32_t b = low(i + 2);
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        return 0;
    }

    // LLAMA3 (max_digits 3), QWEN2 (1), QWEN35 (1, marks are letters).
    void llama3(size_t max_digits, bool marks_are_letters) {
        const auto letter = [&](uint8_t f) { return is_letter(f) || (marks_are_letters && is_mark(f)); };
        const auto other = [&](uint8_t f) { return f != 0 && !is_space(f) && !letter(f) && !is_number(f); };
        for (size_t pos = begin_; pos < end_;) {
            const uint32_t c = c_[pos];
            const uint8_t f = f_[pos];
            if (const size_t n = contraction(pos, true)) {
                pos += emit(pos + n);
                continue;
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (c != '\r' && c != '\n' && !is_number(f) && (letter(f) || letter(flags(pos + 1)))) {
                ++pos;
                while (letter(flags(pos))) ++pos;
                emit(pos);
                continue;
            }
            // \p{N}{1,max}
            if (is_number(f)) {
                size_t start = pos;
                while (is_number(flags(pos)))
                    if (++pos - start >= max_digits) {
                        emit(pos);
                        start = pos;
                    }
                emit(pos);
                continue;
            }
            // ' '?[^\s\p{L}\p{N}]+[\r\n]*
            uint8_t f2 = c == ' ' ? flags(pos + 1) : f;
            if (other(f2)) {
                pos += c == ' ';
                while (other(f2)) f2 = flags(++pos);
                while (cpt(pos) == '\r' || cpt(pos) == '\n') ++pos;
                emit(pos);
                continue;
            }
            whitespace(pos, true);
        }
    }

    // GPT2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    void gpt2() {
        const auto other = [](uint8_t f) { return f != 0 && !is_space(f) && !is_letter(f) && !is_number(f); };
        for (size_t pos = begin_; pos < end_;) {
            const uint32_t c = c_[pos];
            if (const size_t n = contraction(pos, false)) {
                pos += emit(pos + n);
                continue;
            }
            uint8_t f2 = c == ' ' ? flags(pos + 1) : f_[pos];
            bool (*same)(uint8_t) = is_letter(f2) ? is_letter : is_number(f2) ? is_number : nullptr;
            if (same || other(f2)) {
                pos += c == ' ';
                if (same)
                    while (same(f2)) f2 = flags(++pos);
                else
                    while (other(f2)) f2 = flags(++pos);
                emit(pos);
                continue;
            }
            whitespace(pos, false);
        }
    }

    // \s*[\r\n]+ (when `newlines`), \s+(?!\S), \s+, or one code point that nothing matched.
    void whitespace(size_t& pos, bool newlines) {
        size_t n = 0, after_newline = 0;
        while (is_space(flags(pos + n))) {
            if (newlines && (c_[pos + n] == '\r' || c_[pos + n] == '\n')) after_newline = pos + n + 1;
            ++n;
        }
        if (after_newline > 0) {
            pos = after_newline;
        } else if (n > 1 && pos + n < end_) {
            pos += n - 1;  // leave the last space to the word that follows
        } else if (n > 0) {
            pos += n;
        } else {
            ++pos;
        }
        emit(pos);
    }

private:
    std::span<const uint32_t> c_;
    const std::vector<uint8_t>& f_;
    size_t begin_, end_;
    std::vector<uint32_t>& out_;
    size_t prev_;
};

// Splits every segment into maximal runs of code points where `pred` holds and where it does not (what a
// regular expression "[class]+" does, the unmatched gaps kept as words).
template <class Pred>
std::vector<uint32_t> split_runs(std::span<const uint32_t> cpts, const std::vector<uint32_t>& segments, Pred pred) {
    std::vector<uint32_t> out;
    size_t start = 0;
    for (uint32_t len : segments) {
        size_t run = start;
        for (size_t i = start + 1; i <= start + len; ++i)
            if (i == start + len || pred(cpts[i]) != pred(cpts[run])) {
                out.push_back(static_cast<uint32_t>(i - run));
                run = i;
            }
        start += len;
    }
    return out;
}

// "[0-9][0-9][0-9]": ASCII digits in threes from the left of each run; the rest stays as it is.
std::vector<uint32_t> split_digit_triples(std::span<const uint32_t> cpts, const std::vector<uint32_t>& segments) {
    std::vector<uint32_t> out;
    size_t start = 0;
    const auto digit = [&](size_t i) { return cpts[i] >= '0' && cpts[i] <= '9'; };
    for (uint32_t len : segments) {
        const size_t end = start + len;
        size_t gap = start;
        for (size_t i = start; i + 3 <= end;) {
            if (digit(i) && digit(i + 1) && digit(i + 2)) {
                if (i > gap) out.push_back(static_cast<uint32_t>(i - gap));
                out.push_back(3);
                i += 3;
                gap = i;
            } else {
                ++i;
            }
        }
        if (end > gap) out.push_back(static_cast<uint32_t>(end - gap));
        start = end;
    }
    return out;
}

// ASCII characters as the collapsed-text regular expressions of llama.cpp see them.
bool ascii_punct(uint32_t c, bool backtick) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x5F) || (c >= 0x7B && c <= 0x7E) ||
           (backtick && c == 0x60);
}

void gpt2_segments(std::span<const uint32_t> cpts, const std::vector<uint8_t>& flags, const std::vector<uint32_t>& segments,
                   std::vector<uint32_t>& out) {
    size_t start = 0;
    for (uint32_t len : segments) {
        Scanner(cpts, flags, start, start + len, out).gpt2();
        start += len;
    }
}

}  // namespace

bool find_pre_tokenizer(std::string_view name, PreTokenizerInfo& info) {
    if (name.empty()) name = "default";
    for (const auto& p : PRE_NAMES)
        if (name == p.name) {
            info = p.info;
            return true;
        }
    return false;
}

std::string pre_tokenizer_names() {
    std::string out;
    for (const auto& p : PRE_NAMES) out += (out.empty() ? "" : ", ") + std::string(p.name);
    return out;
}

void pretokenize(PreTokenizer kind, std::span<const uint32_t> cpts, std::vector<uint32_t>& lengths) {
    std::vector<uint8_t> flags(cpts.size());
    for (size_t i = 0; i < cpts.size(); ++i) flags[i] = static_cast<uint8_t>(unicode_flags(cpts[i]) | PRESENT);
    const std::vector<uint32_t> whole{static_cast<uint32_t>(cpts.size())};
    if (cpts.empty()) return;
    switch (kind) {
        case PreTokenizer::LLAMA3: Scanner(cpts, flags, 0, cpts.size(), lengths).llama3(3, false); return;
        case PreTokenizer::QWEN2: Scanner(cpts, flags, 0, cpts.size(), lengths).llama3(1, false); return;
        case PreTokenizer::QWEN35: Scanner(cpts, flags, 0, cpts.size(), lengths).llama3(1, true); return;
        case PreTokenizer::GPT2: gpt2_segments(cpts, flags, whole, lengths); return;
        case PreTokenizer::STARCODER: {
            // "\p{N}": each number character is a word of its own.
            std::vector<uint32_t> seg;
            size_t gap = 0;
            for (size_t i = 0; i < cpts.size(); ++i)
                if (cpts[i] < 128 ? (cpts[i] >= '0' && cpts[i] <= '9') : is_number(flags[i])) {
                    if (i > gap) seg.push_back(static_cast<uint32_t>(i - gap));
                    seg.push_back(1);
                    gap = i + 1;
                }
            if (cpts.size() > gap) seg.push_back(static_cast<uint32_t>(cpts.size() - gap));
            gpt2_segments(cpts, flags, seg, lengths);
            return;
        }
        case PreTokenizer::DEFAULT:
        case PreTokenizer::FALCON: {
            const bool falcon = kind == PreTokenizer::FALCON;
            auto punct = [&](uint32_t c) {
                return c < 128 ? ascii_punct(c, falcon) : unicode_class(c) == UNICODE_PUNCTUATION;
            };
            std::vector<uint32_t> seg = split_runs(cpts, whole, punct), words;
            gpt2_segments(cpts, flags, seg, words);
            if (!falcon)
                words = split_runs(cpts, words, [](uint32_t c) {
                    return c < 128 ? (c >= '0' && c <= '9') : unicode_class(c) == UNICODE_NUMBER;
                });
            words = split_digit_triples(cpts, words);
            lengths.insert(lengths.end(), words.begin(), words.end());
            return;
        }
    }
}

}  // namespace versus::llm
