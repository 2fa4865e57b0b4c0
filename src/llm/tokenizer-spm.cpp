// tokenizer-spm: SentencePiece-style merging. The text (spaces already "▁") starts as one symbol per UTF-8
// character; the adjacent pair whose concatenation is the best-scoring piece merges first (ties: the
// leftmost), until no pair is a piece. Symbols that are not pieces become byte tokens <0xNN>.
#include <queue>

#include "llm/tokenizer-merge.hpp"
#include "llm/tokenizer.hpp"
#include "llm/unicode.hpp"

namespace versus::llm {
namespace {

struct Symbol {
    uint32_t start, n;  // bytes of the text; n == 0 once merged into the left neighbour
    int32_t prev, next;
};

struct Bigram {
    float score;
    int32_t left, right;
    uint32_t size;  // bytes of the pair when queued: a pair that changed since is stale
};

struct BigramOrder {
    bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

}  // namespace

int32_t Tokenizer::byte_token(uint8_t byte) const {
    static const char* const HEX = "0123456789ABCDEF";
    const char name[6] = {'<', '0', 'x', HEX[byte >> 4], HEX[byte & 15], '>'};
    if (int32_t id = find(std::string_view(name, 6)); id >= 0) return id;
    if (int32_t id = find(std::string_view(reinterpret_cast<const char*>(&byte), 1)); id >= 0) return id;
    return unk_;
}

void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
    std::vector<Symbol> sym;
    sym.reserve(text.size());
    for (size_t off = 0; off < text.size();) {
        const auto n = static_cast<uint32_t>(std::min(utf8_sequence_length(static_cast<uint8_t>(text[off])), text.size() - off));
        const auto i = static_cast<int32_t>(sym.size());
        sym.push_back({static_cast<uint32_t>(off), n, i - 1, off + n == text.size() ? -1 : i + 1});
        off += n;
    }
    std::vector<Bigram> storage;
    storage.reserve(sym.size());
    std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue(BigramOrder{}, std::move(storage));
    const auto try_pair = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const uint32_t size = sym[l].n + sym[r].n;
        const int32_t id = find(text.substr(sym[l].start, size));
        if (id < 0) return;
        queue.push({tokens_[static_cast<size_t>(id)].score, l, r, size});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_pair(i - 1, i);
    detail::merge_pairs(
        sym, queue, [](const Bigram& b, const Symbol& l, const Symbol& r) { return l.n + r.n != b.size; },
        [](const Bigram&, Symbol&) {}, try_pair);
    for (int32_t i = sym.empty() ? -1 : 0; i != -1; i = sym[i].next) {
        const std::string_view s = text.substr(sym[i].start, sym[i].n);
        if (const int32_t id = find(s); id >= 0) {
            out.push_back(id);
            continue;
        }
        for (char c : s)
            if (const int32_t id = byte_token(static_cast<uint8_t>(c)); id >= 0) out.push_back(id);
    }
}

}  // namespace versus::llm
