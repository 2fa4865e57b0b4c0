// The training predictor against measured rows (training.hpp): parsing, the fit of the calibration table, and
// the per-row and summary reports.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "base/stats.hpp"
#include "core/printers.hpp"
#include "predict/backtest.hpp"
#include "predict/training.hpp"

namespace versus::predict {

namespace {

int64_t parse_count(std::string_view s, const char* what, int64_t dflt) {
    if (s.empty()) return dflt;
    const std::string t(s);
    char* end = nullptr;
    const long long v = std::strtoll(t.c_str(), &end, 10);
    if (*end || v < 1 || v > (1 << 24)) throw UsageError(what, fmt::format("'{}' is not a positive count", t));
    return v;
}

// The bare roofline of one device for the row: peak / FLOPs per item (utilisation 1, no scaling).
double single_bare(const TrainingRow& r) {
    std::string from;
    return training_peak(*r.spec, r.query.precision, &from) / r.query.model.flops_per_item;
}

bool usable(const TrainingRow& r) { return r.error.empty() && r.spec && r.measured > 0; }

// p10/p90 of measured/predicted with the LLM table's floors: +-20% from one row, +-10% below five.
void spread(const std::vector<double>& ratios, TrainingEfficiency& e) {
    const double floor = ratios.size() == 1 ? 0.2 : ratios.size() < 5 ? 0.1 : 0.0;
    e.ratio_lo = std::min(1.0 - floor, base::percentile(ratios, 0.1));
    e.ratio_hi = std::max(1.0 + floor, base::percentile(ratios, 0.9));
}

}  // namespace

bool is_training_backtest(std::string_view text) {
    try {
        base::CsvTable t(text, "backtest");
        return t.column("workload") >= 0 && t.column("measured") >= 0;
    } catch (const UsageError&) {
        return false;
    }
}

std::vector<TrainingRow> parse_training_backtest(std::string_view text, const std::string& place,
                                                 const std::string& only_set) {
    base::CsvTable t(text, place);
    t.require({"platform", "workload", "model", "precision", "batch", "measured"},
              "the header needs platform,workload,model,precision,batch,measured (and optional gpus,seq,set)");
    std::vector<TrainingRow> rows;
    for (const auto& csv : t.rows()) {
        TrainingRow r;
        r.line = csv.line;
        r.platform = t.cell(csv, "platform");
        r.workload = t.cell(csv, "workload");
        r.model = t.cell(csv, "model");
        r.precision = t.cell(csv, "precision");
        r.set = t.cell(csv, "set");
        r.system = t.cell(csv, "system");
        r.source = t.cell(csv, "source");
        if (!only_set.empty() && r.set != only_set) continue;
        try {
            if (!csv.error.empty()) throw UsageError("csv", csv.error);
            if (csv.cells.size() != t.header().size())
                throw UsageError("csv", fmt::format("{} cells, the header has {}", csv.cells.size(), t.header().size()));
            r.spec = resolve_platform(r.platform);
            r.batch = parse_count(t.cell(csv, "batch"), "batch", 0);
            r.gpus = static_cast<int>(parse_count(t.cell(csv, "gpus"), "gpus", 1));
            r.seq = parse_count(t.cell(csv, "seq"), "seq", 0);
            r.query.model = training_model(r.workload, r.model, r.seq);
            r.query.precision = parse_train_precision(r.precision);
            r.query.batch = r.batch;
            r.query.gpus = r.gpus;
            const std::string m(t.cell(csv, "measured"));
            char* end = nullptr;
            r.measured = std::strtod(m.c_str(), &end);
            if (m.empty() || *end || !std::isfinite(r.measured) || r.measured <= 0)
                throw UsageError("measured", fmt::format("'{}' is not a positive number", m), "images/s or tokens/s");
            if (single_bare(r) <= 0) throw UsageError(r.platform, "the spec database has no peak for it");
        } catch (const UsageError& e) {
            r.error = e.what();
            r.spec.reset();
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

void evaluate_training_backtest(std::vector<TrainingRow>& rows, const TrainingCalibration& cal) {
    for (auto& r : rows)
        if (r.error.empty() && r.spec) r.predicted = predict_training(*r.spec, r.query, cal);
}

TrainingCalibration fit_training_calibration(const std::vector<TrainingRow>& rows, const std::string& scope) {
    // Single-device rows: ratio = measured / the bare roofline (peak / FLOPs per item).
    struct Obs {
        const TrainingRow* row;
        double ratio;
        std::string group_scope;
    };
    std::vector<Obs> obs;
    for (const auto& r : rows)
        if (usable(r) && r.gpus == 1) obs.push_back({&r, r.measured / single_bare(r), scope.empty() ? vendor_group(*r.spec) : scope});
    // ratio = utilisation(family or vendor, workload, precision) x factor(model), fitted by alternating medians: the
    // model factors (median 1 per workload) take what a model reaches beyond its platforms' typical share.
    std::map<std::string, double> factor;
    TrainingCalibration cal;
    for (int iter = 0; iter < 8; ++iter) {
        cal = TrainingCalibration{};
        std::map<std::tuple<std::string, std::string, TrainPrecision>, std::vector<const Obs*>> groups, families;
        for (const auto& o : obs) {
            groups[{o.group_scope, o.row->query.model.workload, o.row->query.precision}].push_back(&o);
            if (scope.empty()) families[{o.row->spec->family, o.row->query.model.workload, o.row->query.precision}].push_back(&o);
        }
        auto fit = [&](const auto& key, const std::vector<const Obs*>& sel) {
            std::vector<double> adjusted;
            for (const auto* o : sel) adjusted.push_back(o->ratio / (factor.count(o->row->query.model.name) ? factor[o->row->query.model.name] : 1.0));
            TrainingEfficiency e;
            e.utilisation = base::percentile(adjusted, 0.5);
            for (double& x : adjusted) x /= e.utilisation;
            spread(adjusted, e);
            e.n_rows = static_cast<int>(sel.size());
            e.scope = std::get<0>(key);
            cal.set(std::get<0>(key), std::get<1>(key), std::get<2>(key), e);
        };
        for (const auto& [key, sel] : groups) fit(key, sel);
        // A family with two rows or more gets its own utilisation.
        for (const auto& [key, sel] : families)
            if (sel.size() >= 2) fit(key, sel);
        // Model factors against the utilisation each row's platform has now, normalised to a median of 1 per workload.
        std::map<std::string, std::vector<double>> per_model;
        std::map<std::string, std::string> workload_of;
        for (const auto& o : obs) {
            const auto e = cal.lookup(*o.row->spec, o.row->query.model.workload, o.row->query.precision);
            per_model[o.row->query.model.name].push_back(o.ratio / e->utilisation);
            workload_of[o.row->query.model.name] = o.row->query.model.workload;
        }
        std::map<std::string, std::vector<double>> by_workload;
        for (const auto& [m, v] : per_model) factor[m] = base::percentile(v, 0.5);
        for (const auto& [m, k] : factor) by_workload[workload_of[m]].push_back(k);
        for (auto& [m, k] : factor) k /= base::percentile(by_workload[workload_of[m]], 0.5);
    }
    for (const auto& [m, k] : factor) cal.set_model_factor(m, k);
    // Data-parallel scaling: an n-GPU row over n x the same system's one-GPU row, else over n x the prediction.
    std::map<std::pair<std::string, int>, std::vector<double>> scale;
    for (const auto& r : rows) {
        if (!usable(r) || r.gpus == 1) continue;
        double one = 0;
        for (const auto& s : rows)
            if (usable(s) && s.gpus == 1 && s.system == r.system && !r.system.empty() && s.platform == r.platform &&
                s.workload == r.workload && s.model == r.model && s.precision == r.precision && s.batch == r.batch &&
                s.source == r.source)
                one = s.measured;
        if (one <= 0) {
            const auto e = cal.lookup(*r.spec, r.query.model.workload, r.query.precision);
            if (!e) continue;
            one = e->utilisation * cal.model_factor(r.query.model.name) * single_bare(r);
        }
        scale[{vendor_group(*r.spec), r.gpus}].push_back(r.measured / (r.gpus * one));
    }
    for (const auto& [key, v] : scale) cal.set_scaling(key.first, key.second, base::percentile(v, 0.5));
    return cal;
}

std::vector<TrainingSummary> summarise_training_backtest(const std::vector<TrainingRow>& rows) {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> g;
    for (const auto& r : rows) {
        if (!usable(r) || r.predicted.per_s.value <= 0) continue;
        const double e = ape_pct(r.predicted.per_s.value, r.measured), b = ape_pct(r.predicted.bare_per_s, r.measured);
        const std::string set = r.set.empty() ? "all" : r.set;
        for (const std::string& key : {set + ": " + vendor_group(*r.spec) + " " + r.workload,
                                       set + ": family " + r.spec->family, set + ": all " + r.workload, set + ": all"}) {
            g[key].first.push_back(e);
            g[key].second.push_back(b);
        }
    }
    std::vector<TrainingSummary> out;
    for (const auto& [k, v] : g)
        out.push_back({k, static_cast<int>(v.first.size()), base::percentile(v.first, 0.5), base::mean(v.first), base::percentile(v.second, 0.5)});
    return out;
}

nlohmann::ordered_json training_backtest_json(const std::vector<TrainingRow>& rows) {
    nlohmann::ordered_json out;
    out["rows"] = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
        nlohmann::ordered_json j;
        j["line"] = r.line;
        j["platform"] = r.platform;
        j["workload"] = r.workload;
        j["model"] = r.model;
        j["precision"] = r.precision;
        j["batch"] = r.batch;
        j["gpus"] = r.gpus;
        if (r.seq) j["seq"] = r.seq;
        if (!r.set.empty()) j["set"] = r.set;
        if (!r.error.empty()) {
            j["error"] = r.error;
            out["rows"].push_back(j);
            continue;
        }
        j["unit"] = r.query.model.unit;
        j["measured"] = r.measured;
        j["predicted"] = r.predicted.per_s.value;
        j["predicted_low"] = r.predicted.per_s.low;
        j["predicted_high"] = r.predicted.per_s.high;
        j["ratio"] = r.predicted.per_s.value / r.measured;
        j["ape_pct"] = ape_pct(r.predicted.per_s.value, r.measured);
        j["in_range"] = r.measured >= r.predicted.per_s.low && r.measured <= r.predicted.per_s.high;
        j["utilisation_measured"] = r.measured / r.predicted.bare_per_s;
        j["calibration"] = r.predicted.calibration.scope;
        j["bare_ape_pct"] = ape_pct(r.predicted.bare_per_s, r.measured);
        out["rows"].push_back(j);
    }
    out["summary"] = nlohmann::ordered_json::array();
    for (const auto& s : summarise_training_backtest(rows))
        out["summary"].push_back({{"group", s.group},
                                  {"n", s.n},
                                  {"median_ape_pct", s.median_ape},
                                  {"mean_ape_pct", s.mean_ape},
                                  {"median_ape_bare_pct", s.median_ape_bare}});
    return out;
}

std::string training_backtest_table(const std::vector<TrainingRow>& rows, bool md) {
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : rows) {
        std::vector<std::string> c = {std::to_string(r.line), r.platform, r.model, r.precision, std::to_string(r.gpus), r.set};
        if (!r.error.empty()) {
            c.push_back("error: " + r.error);
            c.resize(11);
        } else {
            c.push_back(fmt::format("{:.4g}", r.measured));
            c.push_back(format_estimate(r.predicted.per_s));
            c.push_back(fmt::format("{:.2f}", r.predicted.per_s.value / r.measured));
            c.push_back(fmt::format("{:.1f}", ape_pct(r.predicted.per_s.value, r.measured)));
            c.push_back(r.predicted.calibration.scope);
        }
        cells.push_back(std::move(c));
    }
    std::string out = core::render_grid({"line", "platform", "model", "precision", "gpus", "set", "measured", "predicted",
                                         "ratio", "APE %", "calibration"},
                                        cells, {true, false, false, false, true, false, true, true, true, true, false}, md);
    std::vector<std::vector<std::string>> sum;
    for (const auto& s : summarise_training_backtest(rows))
        sum.push_back({s.group, std::to_string(s.n), fmt::format("{:.1f}", s.median_ape), fmt::format("{:.1f}", s.mean_ape),
                       fmt::format("{:.1f}", s.median_ape_bare)});
    out += "\n" + core::render_grid({"group", "rows", "median APE %", "mean APE %", "bare median APE %"}, sum,
                                    {false, true, true, true, true}, md);
    return out;
}

}  // namespace versus::predict
