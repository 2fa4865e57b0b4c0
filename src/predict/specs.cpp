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
#include "base/metrics.hpp"
#include "base/text.hpp"

namespace versus::predict {
namespace {

// The one header every platform table carries, in this order: a table that differs is a data bug.
// clang-format off
constexpr std::array<std::string_view, 29> kColumns = {
    "id", "name", "aliases", "vendor", "family", "device_kind", "memory_kind", "memory_options_GB",
    "gpu_mem_max_GB", "mem_bw_GBps", "gpu_cores", "fp32_TFLOPS", "fp16_TFLOPS", "fp16_tensor_TFLOPS",
    "bf16_tensor_TFLOPS", "int8_TOPS", "host_link", "host_link_GBps", "nvlink_gen", "nvlink_GBps",
    "nvlink_domain_gpus", "power_typical_W", "power_max_W", "year", "source", "checked", "derived", "third_party",
    "notes"};
constexpr std::array<std::string_view, 18> kSystemColumns = {
    "id", "name", "aliases", "gpu", "gpus", "nvswitch_chips", "scaleout_net", "scaleout_ports",
    "scaleout_port_Gbitps", "frontend_ports", "frontend_port_Gbitps", "cpu", "host_memory_GB", "power_max_kW",
    "year", "source", "checked", "notes"};
// clang-format on

// Tables that are not platform tables: read by their own parsers.
constexpr std::array<std::string_view, 2> kOtherTables = {"prices.csv", "systems.csv"};

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

// YYYY-MM-DD with plausible fields.
bool is_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    const int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
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

// Reads one row's cells by column name, with the row's location in every error.
struct RowReader {
    const std::vector<std::string>& cells;
    std::span<const std::string_view> columns;
    std::string where;  // "nvidia.csv:12"

    [[noreturn]] void fail(std::string_view column, const std::string& what) const {
        throw std::logic_error(fmt::format("{}: column {}: {}", where, column, what));
    }
    size_t index(std::string_view column) const {
        const auto it = std::find(columns.begin(), columns.end(), column);
        if (it == columns.end()) throw std::logic_error(fmt::format("no column '{}' in the table's header", column));
        return static_cast<size_t>(it - columns.begin());
    }
    const std::string& cell(std::string_view column) const { return cells[index(column)]; }
    const std::string& required(std::string_view column) const {
        if (cell(column).empty()) fail(column, "must not be empty");
        return cell(column);
    }
    double number(std::string_view column, std::string_view text) const {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0)
            fail(column, fmt::format("'{}' is not a non-negative number", text));
        return v;
    }
    std::optional<double> optional_number(std::string_view column) const {
        if (cell(column).empty()) return std::nullopt;
        return number(column, cell(column));
    }
    int whole(std::string_view column, std::string_view text) const {
        const double v = number(column, text);
        if (v != std::floor(v) || v > 1e9) fail(column, fmt::format("'{}' is not a whole number", text));
        return static_cast<int>(v);
    }
    int integer(std::string_view column) const { return whole(column, required(column)); }
    std::optional<int> optional_integer(std::string_view column) const {
        if (cell(column).empty()) return std::nullopt;
        return whole(column, cell(column));
    }
    std::string date(std::string_view column) const {
        const std::string& d = cell(column);
        if (!d.empty() && !is_date(d)) fail(column, fmt::format("'{}' is not a date YYYY-MM-DD", d));
        return d;
    }
    std::string url(std::string_view column) const {
        const std::string& u = required(column);
        if (!u.starts_with("http://") && !u.starts_with("https://")) fail(column, fmt::format("'{}' is not a URL", u));
        return u;
    }
};

// id (a slug), name and `;`-separated aliases: the columns every named table starts with.
template <class Row>
void read_names(const RowReader& r, Row* out) {
    out->id = r.required("id");
    if (!is_slug(out->id)) r.fail("id", fmt::format("'{}' is not a lowercase slug", out->id));
    out->name = r.required("name");
    for (auto& a : split(r.cell("aliases"), ';'))
        if (!a.empty()) out->aliases.push_back(a);
}

// The embedded files are ours: a row the CSV reader cannot read is a bug in the data.
std::vector<base::CsvRow> read_csv(std::string_view text, std::string_view file,
                                   std::span<const std::string_view> columns) {
    auto rows = base::parse_csv(text);
    for (const auto& r : rows)
        if (!r.error.empty()) throw std::logic_error(fmt::format("{}:{}: {}", file, r.line, r.error));
    if (rows.empty()) throw std::logic_error(fmt::format("{}:1: no header", file));
    const auto& header = rows.front().cells;
    if (!std::equal(header.begin(), header.end(), columns.begin(), columns.end()))
        throw std::logic_error(
            fmt::format("{}:{}: the header differs from the one in data/specs/README.md", file, rows.front().line));
    for (size_t i = 1; i < rows.size(); ++i)
        if (rows[i].cells.size() != columns.size())
            throw std::logic_error(fmt::format("{}:{}: {} fields, the header has {}", file, rows[i].line,
                                               rows[i].cells.size(), columns.size()));
    return rows;
}

// "pcie4x16" -> (4, 16); nothing for other links.
void read_pcie(const RowReader& r, Platform* p) {
    if (!p->host_link.starts_with("pcie")) return;
    const std::string_view s = std::string_view(p->host_link).substr(4);
    const size_t x = s.find('x');
    if (x == std::string_view::npos) r.fail("host_link", fmt::format("'{}' is not pcie<gen>x<lanes>", p->host_link));
    p->pcie_gen = r.whole("host_link", s.substr(0, x));
    p->pcie_lanes = r.whole("host_link", s.substr(x + 1));
    if (pcie_lane_GBps(*p->pcie_gen) <= 0 || *p->pcie_lanes < 1 || *p->pcie_lanes > 16)
        r.fail("host_link", fmt::format("'{}' is not a PCIe generation 3-6 with 1-16 lanes", p->host_link));
}

Platform parse_row(const base::CsvRow& row, std::string_view file) {
    const RowReader r{row.cells, kColumns, fmt::format("{}:{}", file, row.line)};
    Platform p;
    read_names(r, &p);
    p.vendor = r.required("vendor");
    p.family = r.cell("family");
    const std::string& dk = r.required("device_kind");
    if (dk == "gpu")
        p.device_kind = DeviceKind::GPU;
    else if (dk == "cpu")
        p.device_kind = DeviceKind::CPU;
    else
        r.fail("device_kind", fmt::format("'{}' is not gpu or cpu", dk));
    const std::string& mk = r.required("memory_kind");
    if (mk == "unified")
        p.memory_kind = MemoryKind::UNIFIED;
    else if (mk == "discrete")
        p.memory_kind = MemoryKind::DISCRETE;
    else if (mk == "host")
        p.memory_kind = MemoryKind::HOST;
    else
        r.fail("memory_kind", fmt::format("'{}' is not unified, discrete or host", mk));
    for (const auto& m : split(r.required("memory_options_GB"), ';')) {
        const double gb = r.number("memory_options_GB", m);
        if (gb <= 0) r.fail("memory_options_GB", "sizes must be positive");
        p.memory_options_GB.push_back(gb);
    }
    std::sort(p.memory_options_GB.begin(), p.memory_options_GB.end());
    p.gpu_mem_max_GB = r.optional_number("gpu_mem_max_GB");
    p.mem_bw_GBps = r.number("mem_bw_GBps", r.required("mem_bw_GBps"));
    if (p.mem_bw_GBps <= 0) r.fail("mem_bw_GBps", "must be positive");
    p.gpu_cores = r.optional_integer("gpu_cores");
    p.fp32_TFLOPS = r.optional_number("fp32_TFLOPS");
    p.fp16_TFLOPS = r.optional_number("fp16_TFLOPS");
    p.fp16_tensor_TFLOPS = r.optional_number("fp16_tensor_TFLOPS");
    p.bf16_tensor_TFLOPS = r.optional_number("bf16_tensor_TFLOPS");
    p.int8_TOPS = r.optional_number("int8_TOPS");
    p.host_link = r.cell("host_link");
    p.host_link_GBps = r.optional_number("host_link_GBps");
    read_pcie(r, &p);
    p.nvlink_gen = r.optional_integer("nvlink_gen");
    p.nvlink_GBps = r.optional_number("nvlink_GBps");
    p.nvlink_domain_gpus = r.optional_integer("nvlink_domain_gpus");
    if (p.nvlink_gen.has_value() != p.nvlink_GBps.has_value() ||
        p.nvlink_gen.has_value() != p.nvlink_domain_gpus.has_value())
        r.fail("nvlink_gen", "nvlink_gen, nvlink_GBps and nvlink_domain_gpus are given together or not at all");
    p.power_typical_W = r.optional_number("power_typical_W");
    p.power_max_W = r.optional_number("power_max_W");
    p.year = r.integer("year");
    p.source = r.url("source");
    p.checked = r.date("checked");
    for (std::string_view list : {"derived", "third_party"})
        for (auto& d : split(r.cell(list), ';')) {
            if (std::find(kColumns.begin(), kColumns.end(), d) == kColumns.end())
                r.fail(list, fmt::format("'{}' is not a column", d));
            (list == "derived" ? p.derived : p.third_party).push_back(d);
        }
    p.notes = r.cell("notes");
    p.table = std::string(file.substr(0, file.rfind('.')));
    p.line = row.line;
    p.memory_GB = p.memory_options_GB.back();
    return p;
}

// The names a row answers to, normalised: its id, its name and its aliases.
template <class Row>
std::vector<std::string> names_of(const Row& p) {
    std::vector<std::string> out{normalize_platform_name(p.id), normalize_platform_name(p.name)};
    for (const auto& a : p.aliases) out.push_back(normalize_platform_name(a));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool is_platform_table(std::string_view name) {
    return name.ends_with(".csv") && std::find(kOtherTables.begin(), kOtherTables.end(), name) == kOtherTables.end();
}

std::vector<Platform> load_embedded() {
    std::vector<Platform> all;
    std::map<std::string, std::string> owner;  // normalised name -> "file:line" of its row
    for (const auto& f : detail::embedded_spec_files()) {
        if (!is_platform_table(f.name)) continue;
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

// Up to n ids of `rows` nearest to `query` over their names.
template <class Row>
std::vector<std::string> closest_ids(const std::vector<Row>& rows, std::string_view query, std::size_t n) {
    const std::string q = normalize_platform_name(query);
    std::vector<std::pair<size_t, const std::string*>> scored;
    for (const auto& p : rows) {
        size_t best = SIZE_MAX;
        for (const auto& name : names_of(p)) best = std::min(best, edit_distance(q, name));
        scored.emplace_back(best, &p.id);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(*scored[i].second);
    return out;
}

// The row whose id (exactly, lowercased) or name/alias (normalised) is `base`; null when none.
template <class Row>
const Row* find_by_name(const std::vector<Row>& rows, std::string_view base) {
    const std::string key = lower(base), norm = normalize_platform_name(base);
    for (const auto& p : rows)
        if (p.id == key) return &p;
    if (norm.empty()) return nullptr;
    for (const auto& p : rows) {
        const auto names = names_of(p);
        if (std::binary_search(names.begin(), names.end(), norm)) return &p;
    }
    return nullptr;
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

std::optional<double> column_value(const Platform& p, std::string_view column) {
    if (column == "mem_bw_GBps") return p.mem_bw_GBps;
    if (column == "fp32_TFLOPS") return p.fp32_TFLOPS;
    if (column == "fp16_TFLOPS") return p.fp16_TFLOPS;
    if (column == "fp16_tensor_TFLOPS") return p.fp16_tensor_TFLOPS;
    if (column == "power_W") return p.power_typical_W ? p.power_typical_W : p.power_max_W;
    return std::nullopt;
}

System parse_system_row(const base::CsvRow& row, std::string_view file) {
    const RowReader r{row.cells, kSystemColumns, fmt::format("{}:{}", file, row.line)};
    System s;
    read_names(r, &s);
    s.gpu = r.required("gpu");
    s.gpus = r.integer("gpus");
    if (s.gpus < 1) r.fail("gpus", "must be at least 1");
    s.nvswitch_chips = r.optional_integer("nvswitch_chips");
    s.scaleout_net = r.cell("scaleout_net");
    s.scaleout_ports = r.optional_integer("scaleout_ports");
    s.scaleout_port_Gbitps = r.optional_number("scaleout_port_Gbitps");
    if (s.scaleout_ports.has_value() != s.scaleout_port_Gbitps.has_value())
        r.fail("scaleout_ports", "scaleout_ports and scaleout_port_Gbitps are given together or not at all");
    s.frontend_ports = r.optional_integer("frontend_ports");
    s.frontend_port_Gbitps = r.optional_number("frontend_port_Gbitps");
    s.cpu = r.cell("cpu");
    s.host_memory_GB = r.optional_number("host_memory_GB");
    s.power_max_kW = r.optional_number("power_max_kW");
    s.year = r.integer("year");
    s.source = r.url("source");
    s.checked = r.date("checked");
    s.notes = r.cell("notes");
    s.line = row.line;
    return s;
}

std::vector<System> load_systems() {
    const std::string_view text = detail::embedded_spec_file("systems.csv");
    if (text.empty()) return {};
    auto all = parse_systems(text, "systems.csv");
    std::map<std::string, std::string> owner;
    for (const auto& s : all) {
        for (const auto& k : names_of(s)) {
            auto [it, fresh] = owner.emplace(k, s.id);
            if (!fresh)
                throw std::logic_error(fmt::format("systems.csv:{}: name '{}' is already used by {}", s.line, k, it->second));
        }
        // The GPU must be a platform row, so a system's per-GPU figures come from one place.
        if (!find_by_name(platforms(), s.gpu))
            throw std::logic_error(fmt::format("systems.csv:{}: gpu '{}' is not a platform id", s.line, s.gpu));
    }
    return all;
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

double pcie_lane_GBps(int gen) {
    // The host links the database names are PCIe 3-6; the formula is base::pcie_gbps (docs/metrics.md).
    return gen >= 3 && gen <= 6 ? base::pcie_gbps(gen, 1) : 0;
}

bool is_vendor_source(std::string_view url) {
    for (std::string_view scheme : {"https://", "http://"})
        if (url.starts_with(scheme)) url.remove_prefix(scheme.size());
    const std::string_view host = url.substr(0, url.find('/'));
    for (std::string_view domain : {"apple.com", "nvidia.com", "amd.com", "intel.com"})
        if (host == domain || (host.ends_with(domain) && host[host.size() - domain.size() - 1] == '.')) return true;
    return false;
}

std::vector<std::string_view> key_columns(const Platform& p) {
    if (p.device_kind == DeviceKind::CPU) return {"mem_bw_GBps", "fp32_TFLOPS", "power_W"};
    // Apple GPUs before the M5 have no matrix units apart from the ALUs: their FP16 rate is what prefill gets.
    const std::string_view matrix = p.vendor == "nvidia" ? "fp16_tensor_TFLOPS" : "fp16_TFLOPS";
    return {"mem_bw_GBps", "fp32_TFLOPS", matrix, "power_W"};
}

Thinness thinness(const Platform& p) {
    Thinness t;
    for (std::string_view column : key_columns(p)) {
        const std::string_view shown = column == "power_W" ? "power" : column;
        if (!column_value(p, column)) {
            t.reasons.push_back(fmt::format("{} unknown", shown));
            continue;
        }
        // The power a row gives is its typical figure when it has one.
        const std::string_view stored = column != "power_W" ? column : p.power_typical_W ? "power_typical_W" : "power_max_W";
        if (std::find(p.third_party.begin(), p.third_party.end(), stored) != p.third_party.end())
            t.reasons.push_back(fmt::format("{} from a third party", shown));
    }
    if (!is_vendor_source(p.source)) t.reasons.push_back("source is not the vendor's");
    if (p.checked.empty()) t.reasons.push_back("not checked against its source");
    t.thin = !t.reasons.empty();
    return t;
}

std::string normalize_platform_name(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ' && c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<Platform> parse_platforms(std::string_view csv, std::string_view file) {
    const std::vector<base::CsvRow> rows = read_csv(csv, file, kColumns);
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

std::vector<System> parse_systems(std::string_view csv, std::string_view file) {
    const std::vector<base::CsvRow> rows = read_csv(csv, file, kSystemColumns);
    std::vector<System> out;
    for (size_t i = 1; i < rows.size(); ++i) out.push_back(parse_system_row(rows[i], file));
    return out;
}

std::optional<double> System::scaleout_GBps() const {
    if (!scaleout_ports || !scaleout_port_Gbitps) return std::nullopt;
    return *scaleout_ports * *scaleout_port_Gbitps / 8.0;
}

const std::vector<Platform>& platforms() {
    static const std::vector<Platform> all = load_embedded();
    return all;
}

const std::vector<System>& systems() {
    static const std::vector<System> all = load_systems();
    return all;
}

std::string_view detail::embedded_spec_file(std::string_view name) {
    for (const auto& f : embedded_spec_files())
        if (f.name == name) return f.text;
    return {};
}

std::vector<std::string> closest_platform_ids(std::string_view query, std::size_t n) {
    return closest_ids(platforms(), query, n);
}

const System& resolve_system(std::string_view query) {
    if (const System* s = find_by_name(systems(), query)) return *s;
    const std::string near = base::join(closest_ids(systems(), query, 3), ", ");
    throw UsageError("system", fmt::format("unknown system '{}'", query),
                     fmt::format("did you mean: {}? data/specs/systems.csv lists them", near));
}

Platform resolve_platform(std::string_view query) {
    const size_t at = query.rfind('@');
    const std::string_view base = query.substr(0, at);
    const Platform* found = find_by_name(platforms(), base);
    if (!found) {
        const std::string near = base::join(closest_platform_ids(base, 3), ", ");
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
