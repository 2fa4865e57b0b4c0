#include "llm/unicode.hpp"

#include <algorithm>
#include <vector>

namespace versus::llm {
namespace {

constexpr uint32_t MAX_CODEPOINT = 0x110000;
constexpr uint32_t BLOCK = 256;

// White_Space (PropList.txt): every code point with the property.
constexpr uint32_t WHITESPACE[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001,
                                   0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
                                   0x2028, 0x2029, 0x202F, 0x205F, 0x3000};

// Two-level table: the block of 256 code points -> one of the distinct 256-byte blocks (most of the
// 4352 blocks are all-letters, all-unassigned or all-private-use, so a few hundred distinct ones remain).
struct Table {
    std::vector<uint16_t> index;  // MAX_CODEPOINT / BLOCK
    std::vector<uint8_t> blocks;  // distinct blocks, BLOCK bytes each

    Table() {
        std::vector<uint8_t> flat(MAX_CODEPOINT, UNICODE_UNDEFINED);
        for (size_t i = 0; i < detail::UNICODE_RANGE_COUNT; ++i) {
            const uint32_t lo = detail::UNICODE_RANGES[i].first;
            const uint32_t hi = i + 1 < detail::UNICODE_RANGE_COUNT ? detail::UNICODE_RANGES[i + 1].first : MAX_CODEPOINT;
            for (uint32_t c = lo; c < hi; ++c) flat[c] = detail::UNICODE_RANGES[i].cls;
        }
        for (uint32_t c : WHITESPACE) flat[c] |= UNICODE_WHITESPACE;
        index.resize(MAX_CODEPOINT / BLOCK);
        for (uint32_t b = 0; b < MAX_CODEPOINT / BLOCK; ++b) {
            const uint8_t* blk = flat.data() + static_cast<size_t>(b) * BLOCK;
            size_t found = blocks.size() / BLOCK;
            for (size_t k = 0; k < blocks.size() / BLOCK; ++k)
                if (std::equal(blk, blk + BLOCK, blocks.data() + k * BLOCK)) {
                    found = k;
                    break;
                }
            if (found == blocks.size() / BLOCK) blocks.insert(blocks.end(), blk, blk + BLOCK);
            index[b] = static_cast<uint16_t>(found);
        }
    }
};

const Table& table() {
    static const Table t;
    return t;
}

}  // namespace

uint8_t unicode_flags(uint32_t cpt) {
    if (cpt >= MAX_CODEPOINT) return UNICODE_UNDEFINED;
    const Table& t = table();
    return t.blocks[static_cast<size_t>(t.index[cpt / BLOCK]) * BLOCK + cpt % BLOCK];
}

uint32_t utf8_decode(std::string_view s, size_t& pos) {
    const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    const uint8_t c = b(pos);
    if (c < 0x80) {
        ++pos;
        return c;
    }
    const auto cont = [&](size_t i) { return pos + i < s.size() && (b(pos + i) & 0xC0) == 0x80; };
    if ((c & 0xE0) == 0xC0 && cont(1)) {
        const uint32_t r = (uint32_t{c} & 0x1F) << 6 | (b(pos + 1) & 0x3F);
        pos += 2;
        return r;
    }
    if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
        const uint32_t r = (uint32_t{c} & 0x0F) << 12 | (uint32_t{b(pos + 1)} & 0x3F) << 6 | (b(pos + 2) & 0x3F);
        pos += 3;
        return r;
    }
    if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
        const uint32_t r = (uint32_t{c} & 0x07) << 18 | (uint32_t{b(pos + 1)} & 0x3F) << 12 |
                           (uint32_t{b(pos + 2)} & 0x3F) << 6 | (b(pos + 3) & 0x3F);
        pos += 4;
        return r;
    }
    ++pos;
    return UNICODE_REPLACEMENT;
}

void utf8_append(std::string& out, uint32_t cpt) {
    if (cpt < 0x80) {
        out += static_cast<char>(cpt);
    } else if (cpt < 0x800) {
        out += static_cast<char>(0xC0 | (cpt >> 6));
        out += static_cast<char>(0x80 | (cpt & 0x3F));
    } else if (cpt < 0x10000) {
        out += static_cast<char>(0xE0 | (cpt >> 12));
        out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cpt & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | ((cpt >> 18) & 0x07));
        out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cpt & 0x3F));
    }
}

bool utf8_is_valid(std::string_view s, size_t* bad_offset) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<uint8_t>(s[i]);
        size_t n = 0;
        uint32_t cpt = 0, min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cpt = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cpt = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cpt = c & 0x07, min = 0x10000;
        } else {
            break;
        }
        bool ok = true;
        for (size_t k = 1; ok && k <= n; ++k) {
            if (i + k >= s.size() || (static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80)
                ok = false;
            else
                cpt = cpt << 6 | (static_cast<uint8_t>(s[i + k]) & 0x3F);
        }
        if (!ok || cpt < min || cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF)) break;
        i += n + 1;
    }
    if (i == s.size()) return true;
    if (bad_offset) *bad_offset = i;
    return false;
}

}  // namespace versus::llm
