// files: reading the probed system's files without exceptions. Every failure is "no value", so a
// missing /proc or /sys entry leaves a field unknown instead of stopping the probe. Functions that
// take `root` read below that directory, so tests can feed a fake /proc and /sys.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace versus::system {

// Reads up to max_bytes. /proc and /sys files report size 0, so this reads until EOF instead of stat().
std::optional<std::string> read_text(const std::filesystem::path& p, size_t max_bytes = size_t(1) << 20);
// The first line, trimmed.
std::optional<std::string> read_line(const std::filesystem::path& p);
std::optional<uint64_t> parse_u64(std::string_view s);
std::optional<uint64_t> read_u64(const std::filesystem::path& p);
bool path_exists(const std::filesystem::path& p);
bool is_dir(const std::filesystem::path& p);
// `root` + an absolute path of the system being probed.
std::filesystem::path under(const std::filesystem::path& root, const std::filesystem::path& abs);

// "0-3,8,10-11" (sysfs cpu/node lists) -> number of entries.
int count_list(std::string_view s);
// "key<sep>value" lines (os-release, /proc/cpuinfo, /proc/meminfo): value of the first match, trimmed.
std::optional<std::string> field(std::string_view text, std::string_view key, char sep);
// os-release values may be quoted; undo the quotes and backslash escapes.
std::string unquote(std::string_view v);
// /proc/meminfo "MemAvailable:  24430944 kB" -> bytes.
std::optional<uint64_t> meminfo_bytes(std::string_view text, std::string_view key);
// `tok` is one of the `sep`-separated items of `list`.
bool has_token(std::string_view list, std::string_view tok, char sep);

struct Mount {
    std::string root, mountpoint, fstype, source, superopts;
};
// /proc/self/mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
std::vector<Mount> parse_mountinfo(std::string_view text);

#if defined(__APPLE__)
std::optional<std::string> sysctl_string(const char* name);
std::optional<uint64_t> sysctl_u64(const char* name);
std::optional<int> sysctl_int(const char* name);
#endif

}  // namespace versus::system
