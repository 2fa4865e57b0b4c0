#include "base/text.hpp"

#include <cctype>
#include <cmath>

#include <fmt/format.h>

namespace versus::base {

std::vector<std::string_view> split(std::string_view s, char sep, unsigned flags) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        const size_t end = s.find(sep, start);
        std::string_view field = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (flags & SPLIT_TRIM) field = trim(field);
        if (!(flags & SPLIT_SKIP_EMPTY) || !field.empty()) out.push_back(field);
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

std::vector<std::string> split_copy(std::string_view s, char sep, unsigned flags) {
    std::vector<std::string> out;
    for (std::string_view f : split(s, sep, flags)) out.emplace_back(f);
    return out;
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view ws = " \t\r\n";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string r;
    for (const auto& p : parts) {
        if (p.empty()) continue;
        if (!r.empty()) r += sep;
        r += p;
    }
    return r;
}

std::string human_bytes(double bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = bytes;
    while (u < 4 && std::fabs(v) >= 1024) {
        v /= 1024;
        ++u;
    }
    if (u == 0 || v == std::floor(v)) return fmt::format("{:.0f} {}", v, units[u]);
    return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace versus::base
