#include "report/compare-detail.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/printers.hpp"
#include "predict/fit.hpp"

namespace versus::report::detail {

using core::Record;

namespace {

// Below this share of both the compute and the bandwidth peak, fixed costs (launches, synchronisation,
// thread wake-ups) are what a row measures.
constexpr double OVERHEAD_PCT = 10.0;

}  // namespace

std::vector<std::pair<std::string, std::string>> key_items(const std::string& key) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start < key.size()) {
        size_t comma = key.find(',', start);
        if (comma == std::string::npos) comma = key.size();
        const std::string item = key.substr(start, comma - start);
        const size_t eq = item.find('=');
        if (eq != std::string::npos) out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
        start = comma + 1;
    }
    return out;
}

std::string basename_of(const std::string& path) {
    const size_t slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The parameters that define a test: the key less `threads`, GGUF files by name.
std::vector<std::pair<std::string, std::string>> test_params(const Record& r) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [k, v] : key_items(r.str("key"))) {
        if (k == "threads") continue;
        out.emplace_back(k, k == "gguf" ? basename_of(v) : v);
    }
    return out;
}

bool is_ok(const Record& r) { return r.str("status") == "ok"; }

bool has_value(const Record& r, const std::string& field) {
    const core::Value* v = r.find(field);
    return v && !core::is_null(*v);
}

static std::string system_key(const std::string& host, const std::string& cpu, const std::string& gpu,
                       const std::string& backend, const std::string& device) {
    return fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}", host, cpu, gpu, backend, device);
}
std::string system_key(const Record& r) {
    return system_key(r.str("host", "?"), r.str("cpu"), r.str("gpu"), r.str("backend", "?"), r.str("device"));
}
std::string system_key(const System& s) { return system_key(s.host, s.cpu, s.gpu, s.backend, s.device); }

std::string generation_key(const Record& r) {
    return fmt::format("{}\x1f{}", r.integer("schema_version"), r.str("versus_version"));
}

// The headline figure's field for the unit core::headline() chose (the printers' choice, so that a
// compare table shows what `versus bench` showed).
std::string headline_field(const Record& r, std::string* unit) {
    // STREAM counts the triad's FLOPs too, but bandwidth is what it measures (and what is predicted).
    if (r.str("workload") == "membw" && has_value(r, "gbps")) {
        *unit = "GB/s";
        return "gbps";
    }
    double value = 0;
    if (!core::headline(r, unit, &value)) return {};
    static const std::map<std::string, std::string> fields = {
        {"t/s", "tokens_per_s"}, {"img/s", "images_per_s"}, {"GFLOP/s", "gflops"}, {"GB/s", "gbps"}, {"us", "latency_us"}};
    auto it = fields.find(*unit);
    return it == fields.end() ? std::string() : it->second;
}

std::string value_text(double v, double err, bool unstable) {
    return core::format_value(v, 4) + " ± " + core::format_value(err, 2) + (unstable ? " !" : "");
}

std::string num(double v) { return predict::format_number(v); }

std::string pct_range(double lo, double hi) {
    return std::fabs(hi - lo) < 0.5 ? fmt::format("{:.0f}%", hi) : fmt::format("{:.0f}-{:.0f}%", lo, hi);
}

// "memory" is the predictor's name for what people call bandwidth-bound.
std::string bound_word(predict::Bound b) {
    return b == predict::Bound::MEMORY ? "bandwidth" : predict::bound_name(b);
}

// What limits a measured row, from the record's own figures: MBU and MFU for the llm workload, % of
// peak for GEMM, the kind of memory and the transfer size elsewhere.
BoundEvidence measured_bound(const Record& r) {
    const std::string w = r.str("workload");
    const double mbu = has_value(r, "mbu_pct") ? r.num("mbu_pct") : -1;
    const double mfu = has_value(r, "mfu_pct") ? r.num("mfu_pct") : -1;
    const double peak = has_value(r, "peak_pct") ? r.num("peak_pct") : -1;
    if (w == "llm" || (mbu >= 0 || mfu >= 0)) {
        if (mbu < 0 && mfu < 0) return {r.str("phase") == "prefill" ? "compute" : "bandwidth", "", -1};
        const bool bw = mbu >= mfu;
        const double p = bw ? mbu : mfu;
        return {p < OVERHEAD_PCT ? "overhead" : bw ? "bandwidth" : "compute", bw ? "MBU" : "MFU", p};
    }
    if (w == "gemm") return {"compute", peak >= 0 ? "peak" : "", peak};
    if (w == "membw") return {"bandwidth", "", -1};
    if (w == "latency") return {"overhead", "", -1};
    if (w == "transfer") {
        if (r.integer("size_bytes") <= (int64_t{64} << 10)) return {"overhead", "", -1};
        return {r.str("memory_kind") == "discrete" ? "link" : "bandwidth", "", -1};
    }
    if (w == "attention") return {r.str("phase") == "decode" ? "bandwidth" : "compute", peak >= 0 ? "peak" : "", peak};
    if (peak >= 0) return {"compute", "peak", peak};
    if (has_value(r, "gbps")) return {"bandwidth", "", -1};
    return {};
}

std::string machine_name(const System& s) { return fmt::format("[{}] {}", s.number, s.label); }

// The size parameter of a row's record, 0 when it has none.
int64_t size_param(const Record& r) { return r.has("size_bytes") ? r.integer("size_bytes") : r.integer("size"); }

const Generation* main_generation(const Comparison& c) { return c.generations.empty() ? nullptr : &c.generations[0]; }

const Record* cell_record(const Comparison& c, const Cell& cell) {
    return cell.record >= 0 ? &c.inputs.records[static_cast<size_t>(cell.record)] : nullptr;
}

const Record* first_ok_record(const Comparison& c, const Row& row) {
    for (const auto& cell : row.cells)
        if (cell.ok) return cell_record(c, cell);
    return nullptr;
}

std::vector<size_t> measured_systems(const Comparison& c) {
    std::vector<size_t> out;
    for (size_t i = 0; i < c.systems.size(); ++i)
        if (c.systems[i].number > 0) out.push_back(i);
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) { return c.systems[a].number < c.systems[b].number; });
    return out;
}

// The bandwidth a machine reached at the largest STREAM working set it ran (out of the caches).
Best bandwidth_of(const Comparison& c, const Generation& g, size_t sys) {
    Best b;
    int64_t largest = 0;
    for (const auto& row : g.rows) {
        if (row.workload != "membw" || !row.cells[sys].ok) continue;
        largest = std::max(largest, size_param(*cell_record(c, row.cells[sys])));
    }
    for (const auto& row : g.rows) {
        if (row.workload != "membw" || !row.cells[sys].ok) continue;
        if (size_param(*cell_record(c, row.cells[sys])) != largest) continue;
        if (!b.found || row.cells[sys].value > b.value) b = {row.cells[sys].value, &row, true};
    }
    return b;
}

// Systems with a figure in any of the rows, in machine order.
std::vector<size_t> systems_in(const Comparison& c, const std::vector<const Row*>& rows) {
    std::vector<size_t> out;
    for (size_t s : measured_systems(c))
        if (std::any_of(rows.begin(), rows.end(), [&](const Row* r) { return r->cells[s].ok; })) out.push_back(s);
    return out;
}

std::vector<const Row*> rows_where(const Generation* g, const std::function<bool(const Row&)>& pred) {
    std::vector<const Row*> out;
    if (!g) return out;
    for (const auto& r : g->rows)
        if (pred(r)) out.push_back(&r);
    return out;
}

}  // namespace versus::report::detail
