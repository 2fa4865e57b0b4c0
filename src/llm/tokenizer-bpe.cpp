// tokenizer-bpe: byte-level BPE. Each byte of a word is mapped to a printable character (GPT-2's table:
// the printable Latin-1 bytes stand for themselves, the others for U+0100 onwards), one symbol each; the
// adjacent pair of lowest merge rank merges first (ties: the leftmost), until no pair is in the merge
// list. Symbols and merges are integers: the pair table maps (left, right) to (rank, merged symbol).
#include <queue>

#include <fmt/format.h>

#include "base/error.hpp"
#include "llm/tokenizer-merge.hpp"
#include "llm/tokenizer.hpp"
#include "llm/unicode.hpp"

namespace versus::llm {
namespace {

struct Symbol {
    uint32_t start, n;  // bytes of the word; n == 0 once merged into the left neighbour
    int32_t prev, next;
    int32_t sym;  // symbol id of the bytes' characters, -1 if they are in no token or merge
};

struct Bigram {
    int32_t rank;
    int32_t left, right;
    int32_t left_sym, right_sym;  // as queued: a pair that changed since is stale
    int32_t result;
};

struct BigramOrder {
    bool operator()(const Bigram& a, const Bigram& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

uint64_t pair_key(int32_t a, int32_t b) { return static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32 | static_cast<uint32_t>(b); }

}  // namespace

std::string bpe_byte_char(uint8_t byte) {
    // GPT-2's table: printable Latin-1 bytes are themselves; the others, in byte order, U+0100 onwards.
    const auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; };
    uint32_t cpt = byte;
    if (!printable(byte)) {
        cpt = 256;
        for (int b = 0; b < byte; ++b) cpt += !printable(b);
    }
    std::string s;
    utf8_append(s, cpt);
    return s;
}

void Tokenizer::build_bpe(const std::vector<std::string_view>& merges, const std::string& place) {
    for (int b = 0; b < 256; ++b) {
        byte_chars_[b] = bpe_byte_char(static_cast<uint8_t>(b));
        char_bytes_[byte_chars_[b]] = static_cast<uint8_t>(b);
    }
    std::unordered_map<std::string, int32_t> others;  // strings of merges that are not tokens
    const auto symbol = [&](const std::string& s) {
        if (int32_t id = find(s); id >= 0) return id;
        auto [it, added] = others.try_emplace(s, n_vocab() + static_cast<int32_t>(others.size()));
        return it->second;
    };
    merges_.reserve(merges.size() * 2);
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string_view m = merges[i];
        const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
        if (space == std::string_view::npos)
            throw UsageError("tokenizer", fmt::format("{}: merge {} ('{}') is not two pieces separated by a space", place, i, m),
                             "the file's vocabulary is damaged");
        const std::string left(m.substr(0, space)), right(m.substr(space + 1));
        const int32_t a = symbol(left), b = symbol(right), r = symbol(left + right);
        merges_.try_emplace(pair_key(a, b), Merge{static_cast<int32_t>(i), r});  // the first rank wins
    }
    for (int b = 0; b < 256; ++b) {
        const int32_t id = find(byte_chars_[b]);
        auto it = others.find(byte_chars_[b]);
        byte_symbol_[b] = id >= 0 ? id : it != others.end() ? it->second : -1;
    }
}

void Tokenizer::encode_bpe_word(std::string_view word, std::vector<int32_t>& out) const {
    const auto encoded = [&](uint32_t start, uint32_t n) {
        std::string s;
        for (uint32_t k = start; k < start + n; ++k) s += byte_chars_[static_cast<uint8_t>(word[k])];
        return s;
    };
    if (ignore_merges_) {
        if (const int32_t id = find(encoded(0, static_cast<uint32_t>(word.size()))); id >= 0) {
            out.push_back(id);
            return;
        }
    }
    std::vector<Symbol> sym(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
        const auto k = static_cast<int32_t>(i);
        sym[i] = {static_cast<uint32_t>(i), 1, k - 1, i + 1 == word.size() ? -1 : k + 1,
                  byte_symbol_[static_cast<uint8_t>(word[i])]};
    }
    std::vector<Bigram> storage;
    storage.reserve(word.size());
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue(BigramOrder{}, std::move(storage));
    const auto try_pair = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0 || sym[l].sym < 0 || sym[r].sym < 0) return;
        auto it = merges_.find(pair_key(sym[l].sym, sym[r].sym));
        if (it != merges_.end()) queue.push({it->second.rank, l, r, sym[l].sym, sym[r].sym, it->second.result});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_pair(i - 1, i);
    detail::merge_pairs(
        sym, queue,
        [](const Bigram& b, const Symbol& l, const Symbol& r) { return l.sym != b.left_sym || r.sym != b.right_sym; },
        [](const Bigram& b, Symbol& l) { l.sym = b.result; }, try_pair);
    for (int32_t i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
        if (sym[i].sym >= 0 && sym[i].sym < n_vocab()) {
            out.push_back(sym[i].sym);
            continue;
        }
        // Not a token: llama.cpp looks each byte of the mapped characters up on its own (most are not tokens).
        for (char c : encoded(sym[i].start, sym[i].n))
            if (const int32_t id = find(std::string_view(&c, 1)); id >= 0) out.push_back(id);
    }
}

}  // namespace versus::llm
