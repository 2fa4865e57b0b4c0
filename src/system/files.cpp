#include "system/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

#include "base/text.hpp"

#if defined(__APPLE__)
#include <sys/sysctl.h>
#include <cstring>
#endif

namespace versus::system {

namespace fs = std::filesystem;
using base::contains;
using base::split;
using base::trim;

// Reads up to max_bytes. /proc and /sys files report size 0, so read until EOF instead of stat().
std::optional<std::string> read_text(const fs::path& p, size_t max_bytes) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[8192];
    bool ok = true;
    while (out.size() < max_bytes) {
        const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (!ok) return std::nullopt;
    return out;
}

std::optional<std::string> read_line(const fs::path& p) {
    auto t = read_text(p, 4096);
    if (!t) return std::nullopt;
    std::string_view v = *t;
    v = v.substr(0, v.find('\n'));
    return std::string(trim(v));
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    s = trim(s);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data()) return std::nullopt;
    return v;
}

std::optional<uint64_t> read_u64(const fs::path& p) {
    auto l = read_line(p);
    return l ? parse_u64(*l) : std::nullopt;
}

bool path_exists(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
}

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

// `root` + an absolute path of the system being probed.
fs::path under(const fs::path& root, const fs::path& abs) {
    if (root.empty() || root == "/") return abs;
    return root / abs.relative_path();
}

// "0-3,8,10-11" (sysfs cpu/node lists) -> number of entries.
int count_list(std::string_view s) {
    int n = 0;
    for (auto part : split(trim(s), ',')) {
        part = trim(part);
        if (part.empty()) continue;
        const size_t dash = part.find('-');
        if (dash == std::string_view::npos) {
            ++n;
        } else {
            auto a = parse_u64(part.substr(0, dash)), b = parse_u64(part.substr(dash + 1));
            if (a && b && *b >= *a) n += static_cast<int>(*b - *a + 1);
        }
    }
    return n;
}

// "key<sep>value" lines (os-release, /proc/cpuinfo, /proc/meminfo): value of the first match.
std::optional<std::string> field(std::string_view text, std::string_view key, char sep) {
    for (auto line : split(text, '\n')) {
        const size_t p = line.find(sep);
        if (p == std::string_view::npos) continue;
        if (trim(line.substr(0, p)) == key) return std::string(trim(line.substr(p + 1)));
    }
    return std::nullopt;
}

// os-release values may be quoted; undo the quotes and backslash escapes.
std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
        v = v.substr(1, v.size() - 2);
    std::string r;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        r += v[i];
    }
    return r;
}

// /proc/meminfo "MemAvailable:  24430944 kB" -> bytes.
std::optional<uint64_t> meminfo_bytes(std::string_view text, std::string_view key) {
    auto v = field(text, key, ':');
    if (!v) return std::nullopt;
    auto n = parse_u64(std::string_view(*v).substr(0, v->find(' ')));
    if (!n) return std::nullopt;
    return contains(*v, "kB") ? *n * 1024 : *n;
}

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
        auto digit = [&](size_t k) { return std::isdigit(static_cast<unsigned char>(s[k])) != 0; };
        if (s[i] == '\\' && i + 3 < s.size() && digit(i + 1) && digit(i + 2) && digit(i + 3)) {
            r += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
            continue;
        }
        r += s[i];
    }
    return r;
}

}  // namespace

// /proc/self/mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
std::vector<Mount> parse_mountinfo(std::string_view text) {
    std::vector<Mount> out;
    for (auto line : split(text, '\n')) {
        const size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        auto left = split(line.substr(0, dash), ' ');
        auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 5 || right.empty()) continue;
        Mount m;
        m.root = unescape_octal(left[3]);
        m.mountpoint = unescape_octal(left[4]);
        m.fstype = std::string(right[0]);
        if (right.size() > 1) m.source = unescape_octal(right[1]);
        if (right.size() > 2) m.superopts = std::string(right[2]);
        out.push_back(std::move(m));
    }
    return out;
}

bool has_token(std::string_view list, std::string_view tok, char sep) {
    for (auto t : split(list, sep))
        if (trim(t) == tok) return true;
    return false;
}

#if defined(__APPLE__)
std::optional<std::string> sysctl_string(const char* name) {
    size_t len = 0;
    if (sysctlbyname(name, nullptr, &len, nullptr, 0) != 0 || len == 0) return std::nullopt;
    std::string s(len, '\0');
    if (sysctlbyname(name, s.data(), &len, nullptr, 0) != 0) return std::nullopt;
    s.resize(strnlen(s.c_str(), len));
    return s;
}

namespace {
template <class T>
std::optional<T> sysctl_value(const char* name) {
    T v{};
    size_t len = sizeof v;
    if (sysctlbyname(name, &v, &len, nullptr, 0) != 0) return std::nullopt;
    return v;
}
}  // namespace

std::optional<uint64_t> sysctl_u64(const char* name) { return sysctl_value<uint64_t>(name); }
std::optional<int> sysctl_int(const char* name) { return sysctl_value<int>(name); }
#endif

}  // namespace versus::system
