#include "report/summary-tables.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/text.hpp"
#include "llm/config.hpp"
#include "predict/fit.hpp"
#include "predict/throughput.hpp"

namespace versus::report {

namespace {

using predict::format_estimate;
using predict::format_number;

std::string param(const KeyValues& kv, const std::string& key, const std::string& fallback = {}) {
    for (const auto& [k, v] : kv)
        if (k == key) return v;
    return fallback;
}

std::string figure_unit(const std::string& figure) {
    if (figure.starts_with("llm_") && figure.ends_with("tokens_per_s")) return "tokens/s";
    if (figure == "llm_joules_per_token") return "J/token";
    if (figure == "gemm_gflops") return "GFLOP/s";
    if (figure == "resnet50_images_per_s") return "images/s";
    if (figure == "gpu_budget_GB") return "GB for the GPU";
    return "GB/s";
}

// One platform's figure; empty when the predictor has none there (the model does not fit, no NVLink).
std::optional<predict::Estimate> platform_figure(const predict::Platform& p, const std::string& figure, const KeyValues& kv) {
    auto point = [](double v) { return predict::Estimate{v, v, v}; };
    if (figure.starts_with("llm_")) {
        predict::LlmQuery q;
        q.model_name = param(kv, "model", "llama-7b");
        q.model = llm::preset_config(q.model_name);
        q.ftype = llm::parse_file_type(param(kv, "type", "q4_0"));
        const auto pred = predict::predict_llm(p, q, predict::Calibration::builtin());
        if (figure == "llm_decode_tokens_per_s" && pred.decode) return pred.decode->tokens_per_s;
        if (figure == "llm_prefill_tokens_per_s" && pred.prefill) return pred.prefill->tokens_per_s;
        if (figure == "llm_joules_per_token") return pred.joules_per_token;
        return std::nullopt;
    }
    if (figure == "gemm_gflops") return predict::predict_gemm(p, param(kv, "dtype", "f32")).value;
    if (figure == "mem_bw_GBps") return predict::predict_bandwidth(p).value;
    if (figure == "resnet50_images_per_s")
        return predict::predict_resnet50_training(p, predict::data_set(param(kv, "dataset", "imagenet-1k"))).value;
    if (figure == "gpu_budget_GB") {
        std::string rule;
        return point(predict::device_budget_bytes(p, {}, &rule) / 1e9);
    }
    if (figure == "nvlink_GBps" && p.nvlink_GBps) return point(*p.nvlink_GBps);
    return std::nullopt;
}

bool matches(const core::Record& r, const SummaryEvidence& e) {
    if (r.str("status") != "ok" || r.str("workload") != e.workload || !r.has(e.field) || r.num(e.field) <= 0) return false;
    return std::all_of(e.match.begin(), e.match.end(), [&](const auto& kv) { return r.str(kv.first) == kv.second; });
}

std::string machine(const core::Record& r) { return fmt::format("{} ({}, {})", r.str("device"), r.str("backend"), r.str("host")); }

std::string shown(const core::Record& r, const std::vector<std::string>& fields) {
    std::vector<std::string> parts;
    for (const auto& f : fields)
        if (r.has(f) && !r.str(f).empty()) parts.push_back(f + " " + r.str(f));
    return parts.empty() ? "" : ", " + base::join(parts, ", ");
}

std::string with_unit(double v, const std::string& unit) {
    return unit.starts_with("x ") ? format_number(v) + unit : format_number(v) + " " + unit;
}

// The best matching row of each machine, best first; at most three are named.
std::string measured_cell(const std::vector<core::Record>& records, const SummaryEvidence& e) {
    std::map<std::string, const core::Record*> best;
    for (const auto& r : records) {
        if (!matches(r, e)) continue;
        const core::Record*& b = best[machine(r)];
        // Bandwidth is the machine's memory only at its largest working set; smaller ones measure caches.
        if (b && e.workload == "membw" && r.integer("size_bytes") != b->integer("size_bytes")) {
            if (r.integer("size_bytes") > b->integer("size_bytes")) b = &r;
            continue;
        }
        if (!b || (e.higher_better ? r.num(e.field) > b->num(e.field) : r.num(e.field) < b->num(e.field))) b = &r;
    }
    std::vector<const core::Record*> rows;
    for (const auto& [m, r] : best) rows.push_back(r);
    std::stable_sort(rows.begin(), rows.end(), [&](auto* a, auto* b) {
        return e.higher_better ? a->num(e.field) > b->num(e.field) : a->num(e.field) < b->num(e.field);
    });
    std::vector<std::string> parts;
    for (size_t i = 0; i < rows.size() && i < 3; ++i)
        parts.push_back(fmt::format("{} on {}{}", with_unit(rows[i]->num(e.field), e.unit), machine(*rows[i]), shown(*rows[i], e.show)));
    if (rows.size() > 3) parts.push_back(fmt::format("{} more machines", rows.size() - 3));
    return parts.empty() ? "" : "measured: " + base::join(parts, "; ");
}

// Rows that differ only in the ratio parameter, paired through the runner's key; per machine the pair
// of the largest problem (flops) measured both ways.
std::string ratio_cell(const std::vector<core::Record>& records, const SummaryEvidence& e) {
    const std::string num_kv = e.ratio_param + "=" + e.ratio_num, den_kv = e.ratio_param + "=" + e.ratio_den;
    std::map<std::string, const core::Record*> dens;  // machine + key with the numerator's value
    for (const auto& r : records)
        if (matches(r, e) && r.str(e.ratio_param) == e.ratio_den) {
            std::string key = r.str("key");
            if (const size_t at = key.find(den_kv); at != std::string::npos) key.replace(at, den_kv.size(), num_kv);
            dens[machine(r) + "|" + key] = &r;
        }
    std::map<std::string, std::pair<const core::Record*, const core::Record*>> best;  // per machine: num, den
    for (const auto& r : records) {
        if (!matches(r, e) || r.str(e.ratio_param) != e.ratio_num) continue;
        const auto it = dens.find(machine(r) + "|" + r.str("key"));
        if (it == dens.end()) continue;
        auto& b = best[machine(r)];
        if (!b.first || r.num("flops") >= b.first->num("flops")) b = {&r, it->second};
    }
    std::vector<std::string> parts;
    for (const auto& [m, p] : best) {
        const double v = p.first->num(e.field) / p.second->num(e.field);
        parts.push_back(fmt::format("{} on {}{}", with_unit(v, e.unit), m, shown(*p.first, e.show)));
    }
    return parts.empty() ? "" : fmt::format("measured ({} {} over {}): {}", e.field, e.ratio_num, e.ratio_den, base::join(parts, "; "));
}

std::string predicted_cell(const SummaryEvidence& e, const PredictedFigures& predicted, bool spec) {
    if (!predicted) return "";
    std::vector<std::string> parts;
    for (const auto& f : predicted(e.figure, e.figure_params))
        parts.push_back(fmt::format("{} {}", f.platform, spec ? format_number(f.value.value) : format_estimate(f.value)));
    if (parts.empty()) return "";
    return fmt::format("{}: {} {}", spec ? "spec" : "predicted", base::join(parts, ", "), figure_unit(e.figure));
}

std::string backed_by(const SummaryEvidence& e) {
    std::vector<std::string> parts;
    auto where = [&] {
        std::vector<std::string> kv;
        for (const auto& [k, v] : e.match) kv.push_back(k + "=" + v);
        return kv.empty() ? std::string() : " (" + base::join(kv, ", ") + ")";
    };
    const std::string better = e.higher_better ? "higher is better" : "lower is better";
    if (e.measured) parts.push_back(fmt::format("{} {}{}, {}", e.workload, e.field, where(), better));
    if (e.ratio)
        parts.push_back(fmt::format("{} {} of {}={} over {}{}", e.workload, e.field, e.ratio_param, e.ratio_num, e.ratio_den, where()));
    if (e.predicted || e.spec) {
        std::vector<std::string> kv;
        for (const auto& [k, v] : e.figure_params) kv.push_back(k + "=" + v);
        parts.push_back(fmt::format("{} {}{}", e.spec ? "spec" : "predicted", e.figure, kv.empty() ? "" : " (" + base::join(kv, ", ") + ")"));
    }
    return parts.empty() ? "nothing versus measures" : base::join(parts, "; ");
}

const SummaryData& builtin(const std::string& name) {
    static const std::map<std::string, SummaryData> all = [] {
        std::map<std::string, SummaryData> out;
        for (const auto& f : detail::embedded_summary_files()) {
            std::string stem(f.name);
            stem = stem.substr(0, stem.rfind('.'));
            out.emplace(stem, parse_summary_data(f.text, "data/summary/" + std::string(f.name)));
        }
        return out;
    }();
    return all.at(name);
}

}  // namespace

PredictedFigures predictor_figures(const std::vector<std::string>& platform_ids) {
    std::vector<std::pair<std::string, predict::Platform>> platforms;
    for (const auto& id : platform_ids) platforms.emplace_back(id, predict::resolve_platform(id));
    return [platforms](const std::string& figure, const KeyValues& kv) {
        std::vector<PlatformFigure> out;
        for (const auto& [id, p] : platforms) {
            try {
                if (const auto e = platform_figure(p, figure, kv)) out.push_back({id, *e});
            } catch (const std::exception&) {
                // A figure the predictor cannot make for this platform (no rate for the type) is left out.
            }
        }
        return out;
    };
}

const SummaryData& builtin_frameworks() { return builtin("frameworks"); }
const SummaryData& builtin_needs() { return builtin("needs"); }

Table summary_table(const SummaryData& data, const std::string& id, const std::string& title,
                    const std::vector<core::Record>& records, const PredictedFigures& predicted) {
    Table t;
    t.id = id;
    t.title = title;
    t.header = data.columns;
    for (const char* h : {"backed by", "figure", "source"}) t.header.emplace_back(h);
    t.right.assign(t.header.size(), false);
    for (const auto& row : data.rows) {
        const auto& e = row.evidence;
        std::vector<std::string> figs;
        if (e.measured) figs.push_back(measured_cell(records, e));
        if (e.ratio) figs.push_back(ratio_cell(records, e));
        if (e.predicted) figs.push_back(predicted_cell(e, predicted, false));
        if (e.spec) figs.push_back(predicted_cell(e, predicted, true));
        std::erase(figs, std::string());
        auto cells = row.cells;
        cells.push_back(backed_by(e));
        cells.push_back(figs.empty() ? "no evidence here: " + e.reason : base::join(figs, "; "));
        cells.push_back(row.source);
        t.rows.push_back(std::move(cells));
    }
    t.notes.push_back("Measured figures are each machine's best row; predictions carry their range (docs/predictor.md); "
                      "the table and its sources: " + data.place + ", docs/summary-tables.md.");
    return t;
}

std::vector<Table> summary_tables(const std::vector<core::Record>& records, const PredictedFigures& predicted) {
    return {summary_table(builtin_frameworks(), "frameworks", "Frameworks: CUDA libraries against Apple's stack", records, predicted),
            summary_table(builtin_needs(), "needs-evidence", "The comparison's need table, each claim with the figures that back it", records,
                          predicted)};
}

}  // namespace versus::report
