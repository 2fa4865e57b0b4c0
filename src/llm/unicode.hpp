// unicode: what the tokenizers need of Unicode — UTF-8 decoding that never fails (a bad byte becomes
// U+FFFD and decoding goes on, as llama.cpp does), UTF-8 encoding, and the class of a code point (its
// general category's first letter, plus White_Space) from a table generated from the Unicode Character
// Database (scripts/gen-unicode-table.py -> unicode-data.cpp). Lookups are two array reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace versus::llm {

// General category, by its first letter; UNDEFINED is Cn (unassigned).
enum UnicodeClass : uint8_t {
    UNICODE_UNDEFINED = 0,
    UNICODE_NUMBER = 1,       // \p{N}
    UNICODE_LETTER = 2,       // \p{L}
    UNICODE_SEPARATOR = 3,    // \p{Z}
    UNICODE_MARK = 4,         // \p{M}
    UNICODE_PUNCTUATION = 5,  // \p{P}
    UNICODE_SYMBOL = 6,       // \p{S}
    UNICODE_CONTROL = 7,      // \p{C} except Cn
};

inline constexpr uint8_t UNICODE_CLASS_MASK = 0x0f;
inline constexpr uint8_t UNICODE_WHITESPACE = 0x10;  // the White_Space property (PropList.txt)

// Class in the low bits, UNICODE_WHITESPACE set for white space. Code points past U+10FFFF are UNDEFINED.
uint8_t unicode_flags(uint32_t cpt);
inline UnicodeClass unicode_class(uint32_t cpt) { return static_cast<UnicodeClass>(unicode_flags(cpt) & UNICODE_CLASS_MASK); }
inline bool unicode_is_whitespace(uint32_t cpt) { return (unicode_flags(cpt) & UNICODE_WHITESPACE) != 0; }

// Bytes of the UTF-8 sequence a lead byte announces (1 for ASCII and stray continuation bytes, up to 4).
inline size_t utf8_sequence_length(uint8_t lead) {
    static constexpr uint8_t LEN[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return LEN[lead >> 4];
}

inline constexpr uint32_t UNICODE_REPLACEMENT = 0xFFFD;

// Decodes the code point at s[pos] and advances pos. A lead byte whose continuation bytes are missing or
// wrong, a stray continuation byte or a byte >= 0xF8 gives U+FFFD and advances one byte. Overlong forms and
// surrogates are decoded as they stand (as llama.cpp does: its tokenizers must see the same code points).
uint32_t utf8_decode(std::string_view s, size_t& pos);
// Appends the UTF-8 encoding of cpt (1 to 4 bytes).
void utf8_append(std::string& out, uint32_t cpt);
// Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). On failure
// `bad_offset` is the offset of the first bad byte.
bool utf8_is_valid(std::string_view s, size_t* bad_offset = nullptr);

namespace detail {
struct UnicodeRange {
    uint32_t first;
    UnicodeClass cls;
};
extern const UnicodeRange UNICODE_RANGES[];
extern const size_t UNICODE_RANGE_COUNT;
}  // namespace detail

}  // namespace versus::llm
