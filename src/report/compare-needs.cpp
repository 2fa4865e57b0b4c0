#include "report/compare.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "core/params.hpp"
#include "core/printers.hpp"
#include "predict/fit.hpp"
#include "report/compare-detail.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

namespace {

enum class Figure { VALUE, JOULES_PER_TOKEN };

// A need, judged on one test: the rows of `workload` whose parameter `param` is `value`, their `figure`
// per machine and per predicted platform.
struct Need {
    const char* need;
    const char* workload;
    const char* param;
    const char* value;
    Figure figure;
    const char* unit;
    bool lower_is_better;
};

constexpr Need NEEDS[] = {
    {"chat, code completion: generating tokens (LLM decode)", "llm", "phase", "decode", Figure::VALUE, "t/s", false},
    {"long prompts, RAG: reading the prompt (LLM prefill)", "llm", "phase", "prefill", Figure::VALUE, "t/s", false},
    {"energy per generated token", "llm", "phase", "decode", Figure::JOULES_PER_TOKEN, "J/token", true},
    {"memory-bound work: streaming bandwidth", "membw", "op", "triad", Figure::VALUE, "GB/s", false},
    {"FP32 math (GEMM f32)", "gemm", "dtype", "f32", Figure::VALUE, "GFLOP/s", false},
    {"training-style 16-bit math (GEMM bf16)", "gemm", "dtype", "bf16", Figure::VALUE, "GFLOP/s", false},
    {"small kernels: dispatch latency", "latency", "op", "dispatch", Figure::VALUE, "us", true},
};

std::optional<double> measured_figure(const Cell& x, Figure f) {
    return f == Figure::VALUE ? std::optional<double>(x.value) : x.joules_per_token;
}
std::optional<predict::Estimate> predicted_figure(const Predicted& p, Figure f) {
    return f == Figure::VALUE ? p.value : p.joules_per_token;
}

// The test most machines ran among those that match the need and carry its figure (the largest size on a tie).
const Row* pick_row(const Comparison& c, const Generation& g, const Need& n) {
    const Row* best = nullptr;
    for (const auto& r : g.rows) {
        if (r.workload != n.workload || first_ok_record(c, r)->str(n.param) != n.value) continue;
        const bool has_figure =
            std::any_of(r.cells.begin(), r.cells.end(), [&](const Cell& x) { return x.ok && measured_figure(x, n.figure); }) ||
            std::any_of(r.predicted.begin(), r.predicted.end(), [&](const Predicted& p) { return predicted_figure(p, n.figure).has_value(); });
        if (!has_figure) continue;
        if (!best || r.ok_cells() > best->ok_cells() ||
            (r.ok_cells() == best->ok_cells() && size_param(*first_ok_record(c, r)) > size_param(*first_ok_record(c, *best))))
            best = &r;
    }
    return best;
}

// One need's line: the best and the runner-up measured, the best predicted platform, the test they come from.
void add_need(Table& t, const Comparison& c, const Generation& g, const Need& n) {
    const Row* r = pick_row(c, g, n);
    if (!r) return;
    const bool lower = n.lower_is_better;
    std::vector<std::pair<double, size_t>> vals;
    for (size_t s : measured_systems(c))
        if (r->cells[s].ok)
            if (auto v = measured_figure(r->cells[s], n.figure)) vals.emplace_back(*v, s);
    std::optional<std::pair<predict::Estimate, size_t>> bp;
    for (size_t p = 0; p < c.platforms.size(); ++p)
        if (auto e = predicted_figure(r->predicted[p], n.figure))
            if (!bp || (lower ? e->value < bp->first.value : e->value > bp->first.value)) bp = std::make_pair(*e, p);
    if (vals.empty() && !bp) return;
    std::stable_sort(vals.begin(), vals.end(),
                     [&](const auto& a, const auto& b) { return lower ? a.first < b.first : a.first > b.first; });
    auto m = [&](size_t i) {
        return i < vals.size() ? fmt::format("{}: {} {}", machine_name(c.systems[vals[i].second]), num(vals[i].first), n.unit)
                               : std::string("-");
    };
    t.rows.push_back({n.need, m(0), m(1),
                      bp ? fmt::format("{}: {} {}", c.platforms[bp->second].id, predict::format_estimate(bp->first), n.unit)
                         : "-",
                      r->workload + " " + r->label});
}

// Moving data to the accelerator: each machine's best mode, host to device, at the largest size.
void add_transfer_need(Table& t, const Comparison& c, const Generation& g) {
    std::vector<std::pair<double, std::pair<size_t, std::string>>> best;
    for (size_t s : measured_systems(c)) {
        double v = -1;
        std::string what;
        int64_t largest = 0;
        for (const auto& r : g.rows)
            if (r.workload == "transfer" && r.cells[s].ok && cell_record(c, r.cells[s])->str("direction") == "h2d")
                largest = std::max(largest, size_param(*cell_record(c, r.cells[s])));
        for (const auto& r : g.rows) {
            if (r.workload != "transfer" || !r.cells[s].ok) continue;
            const Record& rec = *cell_record(c, r.cells[s]);
            if (rec.str("direction") != "h2d" || size_param(rec) != largest) continue;
            if (rec.num("gbps") > v) {
                v = rec.num("gbps");
                what = fmt::format("{}, {}", rec.str("mode"), core::format_size(largest));
            }
        }
        if (v >= 0) best.push_back({v, {s, what}});
    }
    std::stable_sort(best.begin(), best.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    auto m = [&](size_t i) {
        return i < best.size() ? fmt::format("{}: {} GB/s ({})", machine_name(c.systems[best[i].second.first]),
                                             num(best[i].first), best[i].second.second)
                               : std::string("-");
    };
    std::optional<std::pair<double, size_t>> bp;
    for (size_t p = 0; p < c.platforms.size(); ++p) {
        const auto& pl = c.platforms[p];
        const double v = pl.memory_kind == predict::MemoryKind::UNIFIED ? pl.mem_bw_GBps : pl.host_link_GBps.value_or(0);
        if (v > 0 && (!bp || v > bp->first)) bp = std::make_pair(v, p);
    }
    if (!best.empty())
        t.rows.push_back({"feeding the accelerator: host to device", m(0), m(1),
                          bp ? fmt::format("{}: {} GB/s (spec{})", c.platforms[bp->second].id, num(bp->first),
                                           c.platforms[bp->second].memory_kind == predict::MemoryKind::UNIFIED
                                               ? ", unified memory"
                                               : ", link")
                             : "-",
                          "transfer h2d, best mode at the largest size"});
}

}  // namespace

Table detail::needs_table(const Comparison& c) {
    Table t;
    t.id = "needs";
    t.title = "Which platform for which need";
    t.header = {"need", "best measured", "runner-up", "best predicted", "figure from"};
    t.right = {false, false, false, false, false};
    const Generation* g = main_generation(c);
    if (!g) return t;
    for (const Need& n : NEEDS) add_need(t, c, *g, n);
    add_transfer_need(t, c, *g);
    t.notes.push_back("Each need is judged on the test most machines ran; the figures are the side-by-side tables' "
                      "medians. Predicted figures carry their range.");
    return t;
}

}  // namespace versus::report
