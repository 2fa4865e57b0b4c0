#include "predict/specs.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"

namespace versus::predict {
namespace {

// The one header every table carries, in this order: a table that differs is a data bug.
// clang-format off
constexpr std::array<std::string_view, 24> kColumns = {
    "id", "name", "aliases", "vendor", "family", "device_kind", "memory_kind", "memory_options_GB",
    "gpu_mem_max_GB", "mem_bw_GBps", "gpu_cores", "fp32_TFLOPS", "fp16_TFLOPS", "fp16_tensor_TFLOPS",
    "bf16_tensor_TFLOPS", "int8_TOPS", "host_link", "host_link_GBps", "nvlink_GBps", "power_typical_W",
    "power_max_W", "year", "source", "notes"};
// clang-format on

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_slug(std::string_view s) {
    if (s.empty() || s.front() == '-' || s.back() == '-' || s.find("--") != std::string_view::npos) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    if (s.empty()) return out;
    size_t start = 0;
    while (true) {
        const size_t at = s.find(sep, start);
        out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

// Reads one row's cells with the row's location in every error.
struct RowReader {
    const std::vector<std::string>& cells;
    std::string where;  // "nvidia.csv:12"

    [[noreturn]] void fail(std::string_view column, const std::string& what) const {
        throw std::logic_error(fmt::format("{}: column {}: {}", where, column, what));
    }
    const std::string& cell(size_t i) const { return cells[i]; }
    const std::string& required(size_t i) const {
        if (cells[i].empty()) fail(kColumns[i], "must not be empty");
        return cells[i];
    }
    double number(size_t i, std::string_view text) const {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0)
            fail(kColumns[i], fmt::format("'{}' is not a non-negative number", text));
        return v;
    }
    std::optional<double> optional_number(size_t i) const {
        if (cells[i].empty()) return std::nullopt;
        return number(i, cells[i]);
    }
    int integer(size_t i) const {
        const double v = number(i, required(i));
        if (v != std::floor(v)) fail(kColumns[i], fmt::format("'{}' is not a whole number", cells[i]));
        return static_cast<int>(v);
    }
};

// The embedded files are ours: a row the CSV reader cannot read is a bug in the data.
std::vector<base::CsvRow> read_csv(std::string_view text, std::string_view file) {
    auto rows = base::parse_csv(text);
    for (const auto& r : rows)
        if (!r.error.empty()) throw std::logic_error(fmt::format("{}:{}: {}", file, r.line, r.error));
    return rows;
}

Platform parse_row(const base::CsvRow& row, std::string_view file) {
    const std::string where = fmt::format("{}:{}", file, row.line);
    if (row.cells.size() != kColumns.size())
        throw std::logic_error(
            fmt::format("{}: {} fields, the header has {}", where, row.cells.size(), kColumns.size()));
    const RowReader r{row.cells, where};
    Platform p;
    p.id = r.required(0);
    if (!is_slug(p.id)) r.fail("id", fmt::format("'{}' is not a lowercase slug", p.id));
    p.name = r.required(1);
    for (auto& a : split(r.cell(2), ';'))
        if (!a.empty()) p.aliases.push_back(a);
    p.vendor = r.required(3);
    p.family = r.cell(4);
    const std::string& dk = r.required(5);
    if (dk == "gpu")
        p.device_kind = DeviceKind::GPU;
    else if (dk == "cpu")
        p.device_kind = DeviceKind::CPU;
    else
        r.fail("device_kind", fmt::format("'{}' is not gpu or cpu", dk));
    const std::string& mk = r.required(6);
    if (mk == "unified")
        p.memory_kind = MemoryKind::UNIFIED;
    else if (mk == "discrete")
        p.memory_kind = MemoryKind::DISCRETE;
    else if (mk == "host")
        p.memory_kind = MemoryKind::HOST;
    else
        r.fail("memory_kind", fmt::format("'{}' is not unified, discrete or host", mk));
    for (const auto& m : split(r.required(7), ';')) {
        const double gb = r.number(7, m);
        if (gb <= 0) r.fail("memory_options_GB", "sizes must be positive");
        p.memory_options_GB.push_back(gb);
    }
    std::sort(p.memory_options_GB.begin(), p.memory_options_GB.end());
    p.gpu_mem_max_GB = r.optional_number(8);
    p.mem_bw_GBps = r.number(9, r.required(9));
    if (p.mem_bw_GBps <= 0) r.fail("mem_bw_GBps", "must be positive");
    if (!r.cell(10).empty()) p.gpu_cores = r.integer(10);
    p.fp32_TFLOPS = r.optional_number(11);
    p.fp16_TFLOPS = r.optional_number(12);
    p.fp16_tensor_TFLOPS = r.optional_number(13);
    p.bf16_tensor_TFLOPS = r.optional_number(14);
    p.int8_TOPS = r.optional_number(15);
    p.host_link = r.cell(16);
    p.host_link_GBps = r.optional_number(17);
    p.nvlink_GBps = r.optional_number(18);
    p.power_typical_W = r.optional_number(19);
    p.power_max_W = r.optional_number(20);
    p.year = r.integer(21);
    p.source = r.required(22);
    p.notes = r.cell(23);
    p.table = std::string(file.substr(0, file.rfind('.')));
    p.line = row.line;
    p.memory_GB = p.memory_options_GB.back();
    return p;
}

// The names a row answers to, normalised: its id, its name and its aliases.
std::vector<std::string> names_of(const Platform& p) {
    std::vector<std::string> out{normalize_platform_name(p.id), normalize_platform_name(p.name)};
    for (const auto& a : p.aliases) out.push_back(normalize_platform_name(a));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<Platform> load_embedded() {
    std::vector<Platform> all;
    std::map<std::string, std::string> owner;  // normalised name -> "file:line" of its row
    for (const auto& f : detail::embedded_spec_files()) {
        for (auto& p : parse_platforms(f.text, f.name)) {
            const std::string where = fmt::format("{}:{}", f.name, p.line);
            // Every name must lead to one row, or resolve_platform would have to guess.
            for (const auto& k : names_of(p)) {
                auto [it, fresh] = owner.emplace(k, where);
                if (!fresh)
                    throw std::logic_error(fmt::format("{}: name '{}' is already used at {}", where, k, it->second));
            }
            all.push_back(std::move(p));
        }
    }
    if (all.empty()) throw std::logic_error("no spec tables were embedded at build time");
    return all;
}

// Edit distance counting a swap of neighbours as one edit (optimal string alignment), so that a
// transposed typo such as rtx-4900 is nearest to rtx-4090.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

std::string format_gb(double gb) { return fmt::format("{:g}", gb); }

// "192", "192GB", "192 gb" -> 192; nullopt when it is not a size.
std::optional<double> parse_gb(std::string_view s) {
    std::string t = lower(s);
    t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
    for (std::string_view unit : {"gb", "g"})
        if (t.size() > unit.size() && t.ends_with(unit)) {
            t.resize(t.size() - unit.size());
            break;
        }
    double v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !(v > 0)) return std::nullopt;
    return v;
}

}  // namespace

std::string_view device_kind_name(DeviceKind k) { return k == DeviceKind::GPU ? "gpu" : "cpu"; }

std::string_view memory_kind_name(MemoryKind k) {
    switch (k) {
        case MemoryKind::UNIFIED:
            return "unified";
        case MemoryKind::DISCRETE:
            return "discrete";
        case MemoryKind::HOST:
            return "host";
    }
    return "?";
}

std::string normalize_platform_name(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ' && c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<Platform> parse_platforms(std::string_view csv, std::string_view file) {
    const std::vector<base::CsvRow> rows = read_csv(csv, file);
    if (rows.empty()) throw std::logic_error(fmt::format("{}:1: no header", file));
    const auto& header = rows.front().cells;
    if (!std::equal(header.begin(), header.end(), kColumns.begin(), kColumns.end()))
        throw std::logic_error(
            fmt::format("{}:{}: the header differs from the one in data/specs/README.md", file, rows.front().line));
    std::vector<Platform> out;
    std::map<std::string, int> seen;
    for (size_t i = 1; i < rows.size(); ++i) {
        Platform p = parse_row(rows[i], file);
        if (auto [it, fresh] = seen.emplace(p.id, p.line); !fresh)
            throw std::logic_error(fmt::format("{}:{}: id '{}' repeats line {}", file, p.line, p.id, it->second));
        out.push_back(std::move(p));
    }
    return out;
}

const std::vector<Platform>& platforms() {
    static const std::vector<Platform> all = load_embedded();
    return all;
}

std::vector<std::string> closest_platform_ids(std::string_view query, std::size_t n) {
    const std::string q = normalize_platform_name(query);
    std::vector<std::pair<size_t, const std::string*>> scored;
    for (const auto& p : platforms()) {
        size_t best = SIZE_MAX;
        for (const auto& n : names_of(p)) best = std::min(best, edit_distance(q, n));
        scored.emplace_back(best, &p.id);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(*scored[i].second);
    return out;
}

Platform resolve_platform(std::string_view query) {
    const size_t at = query.rfind('@');
    const std::string_view base = query.substr(0, at);
    const std::string key = lower(base), norm = normalize_platform_name(base);
    const Platform* found = nullptr;
    for (const auto& p : platforms())
        if (p.id == key) found = &p;
    if (!found && !norm.empty())
        for (const auto& p : platforms()) {
            const auto names = names_of(p);
            if (std::binary_search(names.begin(), names.end(), norm)) {
                found = &p;
                break;
            }
        }
    if (!found) {
        std::string near;
        for (const auto& id : closest_platform_ids(base, 3)) near += (near.empty() ? "" : ", ") + id;
        throw UsageError("platform", fmt::format("unknown platform '{}'", base),
                         fmt::format("did you mean: {}? `versus specs list` shows all", near));
    }
    Platform p = *found;
    if (at != std::string_view::npos) {
        std::string options;
        for (double gb : p.memory_options_GB) options += (options.empty() ? "" : ", ") + format_gb(gb);
        const std::string_view size_text = query.substr(at + 1);
        const auto gb = parse_gb(size_text);
        const auto it = gb ? std::find_if(p.memory_options_GB.begin(), p.memory_options_GB.end(),
                                          [&](double o) { return std::abs(o - *gb) < 1e-9; })
                           : p.memory_options_GB.end();
        if (it == p.memory_options_GB.end())
            throw UsageError(
                "platform", fmt::format("{} has no {} GB memory option", p.id, size_text),
                fmt::format("choose from {} GB, e.g. {}@{}", options, p.id, format_gb(p.memory_options_GB.back())));
        p.memory_GB = *it;
    }
    return p;
}

}  // namespace versus::predict
