// text: the string helpers every layer shares. One split, one trim, one byte formatter: callers
// choose a behaviour with flags instead of keeping their own copies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace versus::base {

enum SplitFlags : unsigned {
    SPLIT_KEEP_EMPTY = 0,  // "a,,b" -> {"a", "", "b"}; "" -> {""}
    SPLIT_TRIM = 1,        // trim() every field
    SPLIT_SKIP_EMPTY = 2,  // drop fields that are empty (after trimming, with SPLIT_TRIM)
};

// Fields of `s` between each `sep`, views into `s`. With the default flags the result always has
// (number of separators + 1) fields, so positional formats (cgroup lines, mountinfo) keep columns.
std::vector<std::string_view> split(std::string_view s, char sep, unsigned flags = SPLIT_KEEP_EMPTY);
// The same fields as strings, for results that outlive `s`.
std::vector<std::string> split_copy(std::string_view s, char sep, unsigned flags = SPLIT_KEEP_EMPTY);
// Without leading and trailing spaces, tabs, carriage returns and newlines.
std::string_view trim(std::string_view s);
// ASCII lower case.
std::string lower(std::string_view s);
bool contains(std::string_view hay, std::string_view needle);
// The non-empty parts joined with `sep`: join({"a", "", "b"}, ", ") == "a, b", so optional pieces of a
// sentence can be passed without checking each.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Bytes for people, in binary units: an exact multiple prints whole ("48 KiB", "2 GiB"), anything
// else with two decimals ("1.50 KiB", "58.40 GiB"); below 1 KiB in bytes ("512 B").
std::string human_bytes(double bytes);

}  // namespace versus::base
