#include "predict/backtest.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "base/stats.hpp"
#include "core/printers.hpp"
#include "predict/split.hpp"

namespace versus::predict {

namespace {

bool parse_int(std::string_view s, int64_t* v) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && p == s.data() + s.size();
}

// Tokens one op of the row covers: the whole prompt for prefill, one token for decode.
double op_tokens(const BacktestRow& r) { return r.phase == Phase::PREFILL ? static_cast<double>(r.query.n_prompt) : 1.0; }

}  // namespace

bool parse_test(std::string_view test, Phase* phase, int64_t* n, int64_t* depth) {
    *depth = 0;
    std::string_view head = test;
    if (const size_t at = test.find("@d"); at != std::string_view::npos) {
        if (!parse_int(test.substr(at + 2), depth) || *depth < 0) return false;
        head = test.substr(0, at);
    }
    if (head.size() < 3) return false;
    if (head.starts_with("pp"))
        *phase = Phase::PREFILL;
    else if (head.starts_with("tg"))
        *phase = Phase::DECODE;
    else
        return false;
    return parse_int(head.substr(2), n) && *n > 0 && *n <= (1 << 20) && *depth <= (1 << 24);
}

double ape_pct(double predicted, double measured) { return std::fabs(predicted - measured) / measured * 100.0; }

std::vector<BacktestRow> parse_backtest(std::string_view text, const std::string& place, const std::string& only_set) {
    base::CsvTable t(text, place);
    t.require({"platform", "model", "type", "test", "measured_tokens_per_s"},
              "the header needs platform,model,type,test,measured_tokens_per_s");
    std::vector<BacktestRow> rows;
    for (const auto& csv : t.rows()) {
        BacktestRow r;
        r.line = csv.line;
        r.platform = t.cell(csv, "platform");
        r.model = t.cell(csv, "model");
        r.type = t.cell(csv, "type");
        r.test = t.cell(csv, "test");
        r.source = t.cell(csv, "source");
        r.set = t.cell(csv, "set");
        if (!only_set.empty() && r.set != only_set) continue;
        const std::string gpus(t.column("gpus") >= 0 ? t.cell(csv, "gpus") : "");
        const std::string measured(t.cell(csv, "measured_tokens_per_s"));
        try {
            if (!csv.error.empty()) throw UsageError("csv", csv.error);
            if (csv.cells.size() != t.header().size())
                throw UsageError("csv", fmt::format("{} cells, the header has {}", csv.cells.size(), t.header().size()));
            if (!gpus.empty()) {
                int64_t g = 0;
                if (!parse_int(gpus, &g) || g < 1 || g > 1024)
                    throw UsageError("gpus", fmt::format("'{}' is not a GPU count", gpus), "give 1 or more");
                r.gpus = static_cast<int>(g);
            }
            r.spec = resolve_platform(r.platform);
            r.query.model_name = r.model;
            r.query.model = llm::preset_config(r.model);
            r.query.ftype = llm::parse_file_type(r.type);
            int64_t n = 0, depth = 0;
            if (!parse_test(r.test, &r.phase, &n, &depth))
                throw UsageError("test", fmt::format("'{}' is not a llama-bench test", r.test), "pp512, tg128 or tg128@d4096");
            r.query.depth = depth;
            r.query.n_prompt = r.phase == Phase::PREFILL ? n : 0;
            r.query.n_gen = r.phase == Phase::DECODE ? n : 0;
            if (measured == "OOM" || measured == "oom") {
                r.measured_oom = true;
            } else {
                char* end = nullptr;
                r.measured_tps = std::strtod(measured.c_str(), &end);
                if (measured.empty() || *end || !std::isfinite(r.measured_tps) || r.measured_tps <= 0)
                    throw UsageError("measured_tokens_per_s", fmt::format("'{}' is not a positive number or OOM", measured));
            }
        } catch (const UsageError& e) {
            r.error = e.what();
            r.spec.reset();
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

namespace {

// A row measured on several GPUs with the layers split between them.
void evaluate_split(BacktestRow& r, const LlmQuery& q, const Calibration& cal, const PredictOptions& opt) {
    const SplitPrediction p = predict_llm_split(*r.spec, q, r.gpus, cal, opt);
    r.predicted_fit = p.fits;
    if (!p.fits) return;
    const PhaseEstimate& ph = r.phase == Phase::PREFILL ? *p.prefill : *p.decode;
    r.predicted = ph.tokens_per_s;
    r.bound = ph.bound;
    r.calibration_scope = ph.calibration.scope;
    const SplitPrediction bare = predict_llm_split(*r.spec, q, r.gpus, Calibration::none(), opt);
    r.uncalibrated = (r.phase == Phase::PREFILL ? *bare.prefill : *bare.decode).tokens_per_s;
}

}  // namespace

void evaluate_backtest(std::vector<BacktestRow>& rows, const Calibration& cal, const PredictOptions& opt) {
    for (auto& r : rows) {
        if (!r.error.empty() || !r.spec) continue;
        LlmQuery q = r.query;
        // A prefill test still needs a token to decode and the other way round; neither changes the phase's figure.
        if (q.n_prompt == 0) q.n_prompt = 1;
        if (q.n_gen == 0) q.n_gen = 1;
        if (r.gpus > 1) {
            try {
                evaluate_split(r, q, cal, opt);
            } catch (const UsageError& e) {
                r.error = e.what();
            }
            continue;
        }
        const LlmPrediction p = predict_llm(*r.spec, q, cal, opt);
        // Published llama-bench runs offload every layer (-ngl 99): OOM there means "not all on the GPU".
        r.predicted_fit = p.plan.fits_device;
        if (!p.plan.fits_device) continue;
        const auto& ph = r.phase == Phase::PREFILL ? *p.prefill : *p.decode;
        r.predicted = ph.tokens_per_s;
        r.bound = ph.bound;
        r.calibration_scope = ph.calibration.scope;
        const LlmPrediction bare = predict_llm(*r.spec, q, Calibration::none(), opt);
        r.uncalibrated = (r.phase == Phase::PREFILL ? *bare.prefill : *bare.decode).tokens_per_s;
    }
}

// Weighted least squares of measured seconds y on the bare roofline seconds x and the layer count L:
// y = a x + c L, minimising the relative residuals sum((1 - a x/y - c L/y)^2). c is dropped (0) for
// prefill, when the rows cannot separate it (one shape and one speed) or when it comes out negative.
Calibration fit_calibration(const std::vector<BacktestRow>& rows, const std::string& scope) {
    struct Obs {
        double x, L, y;
        std::string family;
    };
    std::map<std::tuple<std::string, Phase, std::string>, std::vector<Obs>> groups;
    for (const auto& r : rows) {
        // The table calibrates one device; split rows test the split model on top of it.
        if (!r.error.empty() || !r.spec || r.measured_oom || r.gpus > 1) continue;
        LlmQuery q = r.query;
        if (q.n_prompt == 0) q.n_prompt = 1;
        if (q.n_gen == 0) q.n_gen = 1;
        const Roofline roof = roofline_seconds(device_rates(*r.spec, r.phase, q.ftype), q, r.phase);
        if (roof.seconds <= 0) continue;
        const double passes = layer_passes(r.phase, q.n_prompt);  // the fixed cost comes once per pass
        groups[{scope.empty() ? vendor_group(*r.spec) : scope, r.phase, type_class(q.ftype)}].push_back(
            {roof.seconds, static_cast<double>(q.model.n_layer) * passes, op_tokens(r) / r.measured_tps, r.spec->family});
    }
    // Rows needed to fit a and c together. A public table needs four (its rows are of many builds and machines);
    // one machine's own rows are few but consistent, and two models of different size already separate the
    // fixed cost per layer from the bandwidth term.
    const size_t two_rows = scope.empty() ? 4 : 2;
    // One group's (a, c); `fixed_c` >= 0 holds c and fits a alone.
    auto fit_group = [two_rows](const std::vector<Obs>& obs, Phase phase, double fixed_c) {
        double suu = 0, suv = 0, svv = 0, su = 0, sv = 0;
        for (const auto& o : obs) {
            const double u = o.x / o.y, v = o.L / o.y;
            suu += u * u, suv += u * v, svv += v * v, su += u, sv += v;
        }
        Efficiency e;
        if (fixed_c >= 0) {
            e.c_layer_s = fixed_c;
            e.a = std::max(1e-3, (su - fixed_c * suv) / suu);
            return e;
        }
        // Decode: a and c, with a >= 1 (no code reads memory faster than the spec sheet's bandwidth). Prefill:
        // a alone; its fixed costs are per batch, small beside the arithmetic of 512 tokens.
        const double det = suu * svv - suv * suv;
        bool two = phase == Phase::DECODE && obs.size() >= two_rows && det > 1e-9 * suu * svv;
        if (two) {
            e.a = (su * svv - sv * suv) / det;
            e.c_layer_s = (suu * sv - suv * su) / det;
            if (e.a < 1) {  // on the boundary a = 1: the best c alone
                e.a = 1;
                e.c_layer_s = (sv - suv) / svv;
            }
            two = e.c_layer_s >= 0;
        }
        if (!two) {
            e.a = su / suu;
            e.c_layer_s = 0;
        }
        return e;
    };
    // A decode group with too few rows to separate c borrows it from the vendor's best-populated decode
    // group: the fixed cost per layer is the runtime's (launches, synchronisation), not the format's.
    std::map<std::string, std::pair<size_t, double>> vendor_c;
    for (const auto& [key, obs] : groups) {
        const auto& [vendor, phase, tclass] = key;
        if (phase != Phase::DECODE || obs.size() < two_rows) continue;
        const Efficiency e = fit_group(obs, phase, -1);
        auto& best = vendor_c[vendor];
        if (obs.size() > best.first) best = {obs.size(), e.c_layer_s};
    }
    Calibration cal;
    for (const auto& [key, obs] : groups) {
        const auto& [vendor, phase, tclass] = key;
        // Prefill always takes the decode c (its fixed costs hide under the arithmetic of large batches, so the
        // prefill rows cannot measure them, but they bound a small model's prompt as they bound its tokens).
        const bool borrow = (phase == Phase::PREFILL || obs.size() < two_rows) && vendor_c.count(vendor);
        Efficiency e = fit_group(obs, phase, borrow ? vendor_c[vendor].second : -1.0);
        auto ratios = [&](const std::vector<const Obs*>& sel, double a, double c) {
            std::vector<double> r;
            for (const auto* o : sel) r.push_back((a * o->x + c * o->L) / o->y);  // measured / predicted tokens/s
            return r;
        };
        std::vector<const Obs*> all;
        for (const auto& o : obs) all.push_back(&o);
        // A few rows say little about the spread: at least +-20% from one row, +-10% until there are five.
        auto spread = [](const std::vector<double>& r, Efficiency& x) {
            const double floor = r.size() == 1 ? 0.2 : r.size() < 5 ? 0.1 : 0.0;
            x.ratio_lo = std::min(1.0 - floor, base::percentile(r, 0.1));
            x.ratio_hi = std::max(1.0 + floor, base::percentile(r, 0.9));
        };
        spread(ratios(all, e.a, e.c_layer_s), e);
        e.n_rows = static_cast<int>(obs.size());
        cal.set(vendor, phase, tclass, e);
        // A family with rows of its own gets the vendor's fit scaled by its median ratio: platforms of one
        // vendor differ in how much of their spec the same code reaches (llama.cpp's prefill reaches a far
        // smaller share of an H100's tensor peak than of a GeForce's).
        std::map<std::string, std::vector<const Obs*>> by_family;
        for (const auto& o : obs) by_family[o.family].push_back(&o);
        for (const auto& [family, sel] : by_family) {
            if (!scope.empty()) continue;
            const double k = base::percentile(ratios(sel, e.a, e.c_layer_s), 0.5);
            Efficiency f = e;
            f.a = e.a / k;
            f.c_layer_s = e.c_layer_s / k;
            spread(ratios(sel, f.a, f.c_layer_s), f);
            f.n_rows = static_cast<int>(sel.size());
            cal.set(family, phase, tclass, f);
        }
    }
    return cal;
}

std::vector<BacktestSummary> summarise_backtest(const std::vector<BacktestRow>& rows) {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> g;
    std::vector<std::string> order;
    for (const auto& r : rows) {
        if (!r.error.empty() || r.measured_oom || !r.predicted_fit) continue;
        const double e = ape_pct(r.predicted.value, r.measured_tps), u = ape_pct(r.uncalibrated.value, r.measured_tps);
        std::vector<std::string> keys = {vendor_group(*r.spec) + (r.gpus > 1 ? " split" : "") + " " + phase_name(r.phase),
                                         std::string("all ") + phase_name(r.phase)};
        if (!r.set.empty()) keys.push_back(r.set + " " + phase_name(r.phase));
        for (const std::string& key : keys) {
            if (!g.count(key)) order.push_back(key);
            g[key].first.push_back(e);
            g[key].second.push_back(u);
        }
    }
    std::sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
        // Vendors first, then the sets, then the totals.
        auto rank = [](const std::string& k) { return k.starts_with("all ") ? 2 : k.starts_with("fit ") || k.starts_with("holdout ") ? 1 : 0; };
        return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
    });
    std::vector<BacktestSummary> out;
    for (const auto& k : order) {
        const auto& [e, u] = g[k];
        out.push_back({k, static_cast<int>(e.size()), base::percentile(e, 0.5), base::mean(e), base::percentile(u, 0.5), base::mean(u)});
    }
    return out;
}

FitAccuracy fit_accuracy(const std::vector<BacktestRow>& rows) {
    FitAccuracy a;
    for (const auto& r : rows) {
        if (!r.error.empty() || !r.spec) continue;
        if (!r.measured_oom && r.predicted_fit) continue;
        ++a.n;
        a.right += r.measured_oom != r.predicted_fit;
    }
    return a;
}

nlohmann::ordered_json backtest_json(const std::vector<BacktestRow>& rows) {
    nlohmann::ordered_json out;
    out["rows"] = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
        nlohmann::ordered_json j;
        j["line"] = r.line;
        j["platform"] = r.platform;
        if (r.gpus > 1) j["gpus"] = r.gpus;
        j["model"] = r.model;
        j["type"] = r.type;
        j["test"] = r.test;
        if (!r.set.empty()) j["set"] = r.set;
        if (!r.error.empty()) {
            j["error"] = r.error;
            out["rows"].push_back(j);
            continue;
        }
        j["measured_tokens_per_s"] = r.measured_oom ? nlohmann::ordered_json("OOM") : nlohmann::ordered_json(r.measured_tps);
        j["predicted_fit"] = r.predicted_fit;
        if (r.predicted_fit) {
            j["predicted_tokens_per_s"] = r.predicted.value;
            j["predicted_low"] = r.predicted.low;
            j["predicted_high"] = r.predicted.high;
            j["bound"] = bound_name(r.bound);
            j["calibration"] = r.calibration_scope;
            j["uncalibrated_tokens_per_s"] = r.uncalibrated.value;
        }
        if (!r.measured_oom && r.predicted_fit) {
            j["ratio"] = r.predicted.value / r.measured_tps;
            j["ape_pct"] = ape_pct(r.predicted.value, r.measured_tps);
            j["ape_uncalibrated_pct"] = ape_pct(r.uncalibrated.value, r.measured_tps);
        } else {
            j["fit_right"] = r.measured_oom != r.predicted_fit;
        }
        out["rows"].push_back(j);
    }
    out["summary"] = nlohmann::ordered_json::array();
    for (const auto& s : summarise_backtest(rows))
        out["summary"].push_back({{"group", s.group},
                                  {"n", s.n},
                                  {"median_ape_pct", s.median_ape},
                                  {"mean_ape_pct", s.mean_ape},
                                  {"median_ape_uncalibrated_pct", s.median_ape_uncal},
                                  {"mean_ape_uncalibrated_pct", s.mean_ape_uncal}});
    const FitAccuracy fa = fit_accuracy(rows);
    out["fit"] = {{"rows", fa.n}, {"right", fa.right}};
    return out;
}

std::string backtest_table(const std::vector<BacktestRow>& rows, bool md) {
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"line", "platform", "model", "type", "test", "measured t/s", "predicted t/s", "range", "ratio", "APE %",
                     "bare APE %", "bound"});
    for (const auto& r : rows) {
        std::vector<std::string> c = {std::to_string(r.line), r.gpus > 1 ? fmt::format("{} x{}", r.platform, r.gpus) : r.platform,
                                      r.model, r.type, r.test};
        if (!r.error.empty()) {
            c.push_back("error: " + r.error);
            c.resize(cells[0].size());
        } else {
            c.push_back(r.measured_oom ? "OOM" : fmt::format("{:.4g}", r.measured_tps));
            if (!r.predicted_fit) {
                c.push_back("does not fit");
                c.push_back("");
                c.push_back(r.measured_oom ? "fit right" : "fit WRONG");
                c.resize(cells[0].size());
            } else {
                c.push_back(fmt::format("{:.4g}", r.predicted.value));
                c.push_back(fmt::format("{:.3g}-{:.3g}", r.predicted.low, r.predicted.high));
                if (r.measured_oom) {
                    c.push_back("fit WRONG");
                    c.push_back("");
                    c.push_back("");
                } else {
                    c.push_back(fmt::format("{:.2f}", r.predicted.value / r.measured_tps));
                    c.push_back(fmt::format("{:.1f}", ape_pct(r.predicted.value, r.measured_tps)));
                    c.push_back(fmt::format("{:.1f}", ape_pct(r.uncalibrated.value, r.measured_tps)));
                }
                c.push_back(bound_name(r.bound));
            }
        }
        cells.push_back(std::move(c));
    }
    std::vector<std::vector<std::string>> sum;
    sum.push_back({"group", "rows", "median APE %", "mean APE %", "bare median APE %", "bare mean APE %"});
    for (const auto& s : summarise_backtest(rows))
        sum.push_back({s.group, std::to_string(s.n), fmt::format("{:.1f}", s.median_ape), fmt::format("{:.1f}", s.mean_ape),
                       fmt::format("{:.1f}", s.median_ape_uncal), fmt::format("{:.1f}", s.mean_ape_uncal)});
    const FitAccuracy fa = fit_accuracy(rows);
    auto grid = [&](std::vector<std::vector<std::string>>& t, size_t first_num) {
        std::vector<bool> right(t[0].size());
        for (size_t c = first_num; c < right.size(); ++c) right[c] = true;
        const std::vector<std::string> header = t[0];
        t.erase(t.begin());
        return core::render_grid(header, t, right, md);
    };
    std::string out = grid(cells, 5) + "\n" + grid(sum, 1);
    out += fmt::format("\nfit: {} of {} OOM or predicted-not-to-fit rows called right\n", fa.right, fa.n);
    return out;
}

}  // namespace versus::predict
