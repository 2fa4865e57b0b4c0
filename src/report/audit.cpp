#include "report/audit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "core/printers.hpp"
#include "llm/config.hpp"
#include "predict/fit.hpp"
#include "predict/roofline.hpp"
#include "predict/throughput.hpp"

namespace versus::report {

using predict::Estimate;
using predict::format_estimate;
using predict::format_number;
using predict::Platform;
using base::join;

namespace {

constexpr double GiB = 1024.0 * 1024.0 * 1024.0;
constexpr double INF = std::numeric_limits<double>::infinity();

const std::vector<std::string> KINDS = {"range", "fact", "qualitative", "measurement"};
const std::vector<std::string> TESTS = {"spec-max", "spec-span", "llm-decode", "llm-power", "train-epoch",
                                        "train-ratio", "transfer", "offload", "figures"};
const std::vector<std::string> QUANTITIES = {"",          "mem_bw_GBps", "gpu_mem_max_GB", "power_max_W", "power_W",
                                             "gpu_budget_GB", "nvlink_GBps", "tokens_per_s", "epoch_s", "slowdown"};
const std::vector<std::string> COLUMNS = {"id",   "claim", "dimension", "kind",  "test",     "quantity",
                                          "platforms", "low", "high", "unit", "better", "model",
                                          "types", "datasets", "params", "note"};

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::optional<double> parse_number(const std::string& s) {
    if (s.empty()) return std::nullopt;
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        throw std::invalid_argument(fmt::format("'{}' is not a number", s));
    }
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(fmt::format("'{}' is not a number", s));
    return v;
}

// The shapes the claims name. Llama 3.2 3B is not one of the llm presets; its config.json is: width 3072,
// 28 layers, 24 heads (8 for K/V), feed-forward 8192, the Llama 3 vocabulary, output tied to the embedding.
llm::ModelConfig model_config(const std::string& name) {
    if (name == "llama-3.2-3b") {
        llm::ModelConfig c = llm::preset_config("llama3-8b");
        c.name = name;
        c.n_embd = 3072;
        c.n_layer = 28;
        c.n_head = 24;
        c.n_head_kv = 8;
        c.head_dim = 128;
        c.n_ff = 8192;
        c.n_ctx_train = 131072;
        c.rope_scaling = "llama3";
        c.tied_output = true;
        return c;
    }
    return llm::preset_config(name);
}

// A platform the claim names, with the range it claims for that platform when the row gives one there.
struct Target {
    Platform p;
    std::string label;  // as written, e.g. "m2-ultra-76c@192"
    std::optional<double> low, high;
};

// "15" -> [15, 15]; "45-50"; "300-" -> [300, inf).
std::pair<double, double> parse_range(const std::string& s) {
    const size_t dash = s.find('-');
    if (dash == std::string::npos) {
        const double v = *parse_number(s);
        return {v, v};
    }
    const double lo = *parse_number(s.substr(0, dash));
    const std::string rest = s.substr(dash + 1);
    return {lo, rest.empty() ? INF : *parse_number(rest)};
}

// Items are ';'-separated in the platforms column and ','-separated inside a param (whose items are ';'-separated).
std::vector<Target> parse_targets(const std::string& cell) {
    std::vector<Target> out;
    std::string list = cell;
    std::replace(list.begin(), list.end(), ',', ';');
    for (const auto& item : base::split_copy(list, ';', base::SPLIT_SKIP_EMPTY)) {
        if (item.starts_with("vendor=")) {
            const std::string vendor = item.substr(7);
            for (const auto& p : predict::platforms())
                if (p.vendor == vendor && p.device_kind == predict::DeviceKind::GPU) out.push_back({p, p.id, {}, {}});
            continue;
        }
        const size_t colon = item.find(':');
        Target t;
        t.label = item.substr(0, colon);
        t.p = predict::resolve_platform(t.label);
        if (colon != std::string::npos) {
            const auto [lo, hi] = parse_range(item.substr(colon + 1));
            t.low = lo;
            t.high = hi;
        }
        out.push_back(std::move(t));
    }
    return out;
}

// "30-40", "450", "more than 300", "under 5".
std::string claimed(double lo, double hi) {
    if (hi == INF) return "more than " + format_number(lo);
    if (lo <= 0) return "under " + format_number(hi);
    if (lo == hi) return format_number(lo);
    return format_number(lo) + "-" + format_number(hi);
}

// A measured point prints as one number, an estimate with its range.
std::string estimate_text(const Estimate& e) { return e.low == e.high ? format_number(e.value) : format_estimate(e); }

std::string range_text(double lo, double hi) {
    return lo == hi ? format_number(lo) : format_number(lo) + "-" + format_number(hi);
}

// How a claimed range compares with the evidence. `off` is how far apart they are, as a factor >= 1.
struct Judgement {
    Verdict v = Verdict::CONSISTENT;
    double off = 1;
};

Judgement judge(double clo, double chi, double elo, double ehi, bool higher_better) {
    const double wlo = elo * (1 - AUDIT_TOLERANCE), whi = ehi * (1 + AUDIT_TOLERANCE);
    if (clo > whi) return {higher_better ? Verdict::OPTIMISTIC : Verdict::PESSIMISTIC, ehi > 0 ? clo / ehi : INF};
    if (chi < wlo) return {higher_better ? Verdict::PESSIMISTIC : Verdict::OPTIMISTIC, chi > 0 ? elo / chi : INF};
    return {};
}

// Several figures of one reading of the claim: all must hold; when they miss both ways, the larger miss wins.
Judgement combine(const std::vector<Judgement>& js) {
    Judgement opt{Verdict::OPTIMISTIC, 0}, pes{Verdict::PESSIMISTIC, 0};
    for (const auto& j : js) {
        if (j.v == Verdict::OPTIMISTIC) opt.off = std::max(opt.off, j.off);
        if (j.v == Verdict::PESSIMISTIC) pes.off = std::max(pes.off, j.off);
    }
    if (opt.off == 0 && pes.off == 0) return {};
    return opt.off >= pes.off ? opt : pes;
}

// A claim that leaves something open (the format, the data set) is read every way the row lists: it is
// consistent if one reading is, or if the readings miss on both sides (one in between would fit).
struct Reading {
    std::string name;
    Judgement j;
};

std::pair<Verdict, std::string> combine_readings(const std::vector<Reading>& rs) {
    std::vector<std::string> ok, opt, pes;
    for (const auto& r : rs) (r.j.v == Verdict::CONSISTENT ? ok : r.j.v == Verdict::OPTIMISTIC ? opt : pes).push_back(r.name);
    auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (size_t i = 0; i < v.size(); ++i) s += (i ? (i + 1 == v.size() ? " and " : ", ") : "") + v[i];
        return s;
    };
    if (rs.size() == 1) return {rs[0].j.v, ""};
    if (!ok.empty()) {
        std::string s = "consistent with " + list(ok);
        if (!opt.empty()) s += ", optimistic with " + list(opt);
        if (!pes.empty()) s += ", pessimistic with " + list(pes);
        return {Verdict::CONSISTENT, s};
    }
    if (!opt.empty() && !pes.empty())
        return {Verdict::CONSISTENT,
                "optimistic with " + list(opt) + ", pessimistic with " + list(pes) + ": consistent only with something in between"};
    if (!opt.empty()) return {Verdict::OPTIMISTIC, "optimistic with " + list(opt)};
    return {Verdict::PESSIMISTIC, "pessimistic with " + list(pes)};
}

std::string gb(double bytes) { return fmt::format("{:.1f} GB", bytes / 1e9); }

std::string layers_text(const predict::MemoryPlan& m) {
    return fmt::format("{}/{} layers on the GPU", m.layers_on_device, m.n_layer);
}

// Names of the spec quantities in the lines.
std::string quantity_name(const std::string& q) {
    if (q == "mem_bw_GBps") return "memory bandwidth";
    if (q == "gpu_mem_max_GB") return "VRAM";
    if (q == "power_max_W") return "maximum power";
    if (q == "power_W") return "power under load";
    if (q == "gpu_budget_GB") return "GPU working-set limit";
    if (q == "nvlink_GBps") return "NVLink per GPU, each way";
    return q;
}

class Auditor {
public:
    explicit Auditor(const AuditInput& in) : in_(in) {}

    AuditRow run(const Claim& c) {
        AuditRow row{c.id, c.text, c.dimension, Verdict::NOT_TESTABLE, "", {}};
        ev_ = &row.evidence;
        try {
            const auto [v, line] = evaluate(c);
            row.verdict = v;
            // For claims without a figure to test, the note is the reason for the verdict: it leads.
            row.reasoning = c.test == "figures" ? join({c.note, line}, "; ") : join({line, c.note}, "; ");
        } catch (const std::exception& e) {
            row.verdict = Verdict::NOT_TESTABLE;
            row.reasoning = join({std::string("could not be evaluated: ") + e.what(), c.note}, "; ");
        }
        return row;
    }

private:
    const AuditInput& in_;
    std::vector<Evidence>* ev_ = nullptr;
    std::map<std::pair<std::string, std::string>, std::string> device_ids_;  // (backend, device) -> platform id

    void evidence(std::string what, const Estimate& e, std::string unit, std::string source) {
        ev_->push_back({std::move(what), e.value, e.low, e.high, std::move(unit), std::move(source)});
    }

    // The platform a measured record ran on: its device name as the spec database knows it, of the kind its
    // backend runs on. On a Mac the CPU backend's device is the chip ("Apple M3 Max"), which the database
    // knows as a GPU platform: a CPU row must never count as a measurement of that GPU.
    std::string platform_id(const core::Record& r) {
        const std::string device = r.str("device"), backend = r.str("backend");
        if (device.empty()) return {};
        const auto key = std::pair{backend, device};
        auto it = device_ids_.find(key);
        if (it != device_ids_.end()) return it->second;
        const predict::DeviceKind kind = backend == "cpu" ? predict::DeviceKind::CPU : predict::DeviceKind::GPU;
        std::string id;
        for (std::string name : {device, device.substr(std::min(device.size(), device.find(' ') + 1))}) {
            try {
                const auto& p = predict::resolve_platform(name);
                if (p.device_kind == kind) id = p.id;
                break;
            } catch (const std::exception&) {
            }
        }
        return device_ids_[key] = id;
    }

    // Completed rows of `workload` measured on platform `id`.
    std::vector<const core::Record*> measured(const std::string& workload, const std::string& id) {
        std::vector<const core::Record*> out;
        if (!in_.records) return out;
        for (const auto& r : *in_.records)
            if (r.str("status") == "ok" && r.str("workload") == workload && platform_id(r) == id) out.push_back(&r);
        return out;
    }

    std::string no_measurement_reason() const {
        const std::string store = in_.store.empty() ? "the results store" : in_.store;
        if (!in_.records) return "no results store at " + store;
        return fmt::format("none among the {} rows of {}", in_.records->size(), store);
    }

    std::pair<Verdict, std::string> evaluate(const Claim& c) {
        if (c.test == "spec-max" || c.test == "spec-span") return spec(c);
        if (c.test == "llm-decode") return llm_decode(c);
        if (c.test == "llm-power") return llm_power(c);
        if (c.test == "train-epoch") return train_epoch(c);
        if (c.test == "train-ratio") return train_ratio(c);
        if (c.test == "transfer") return transfer(c);
        if (c.test == "offload") return offload(c);
        return figures(c);
    }

    // A spec figure of a platform (the predictor's rule for the GPU working-set limit); empty when the
    // database has none. Power is the typical figure with the range typical to maximum.
    std::optional<Estimate> spec_figure(const Platform& p, const std::string& q, std::string* source) {
        *source = "spec";
        auto point = [](std::optional<double> v) -> std::optional<Estimate> {
            if (!v) return std::nullopt;
            return Estimate{*v, *v, *v};
        };
        if (q == "mem_bw_GBps") return point(p.mem_bw_GBps);
        if (q == "gpu_mem_max_GB") return point(p.gpu_mem_max_GB);
        if (q == "power_max_W") return point(p.power_max_W);
        if (q == "nvlink_GBps") return point(p.nvlink_GBps);
        if (q == "power_W") {
            if (!p.power_typical_W && !p.power_max_W) return std::nullopt;
            const double typ = p.power_typical_W.value_or(*p.power_max_W), mx = p.power_max_W.value_or(typ);
            return Estimate{typ, std::min(typ, mx), std::max(typ, mx)};
        }
        if (q == "gpu_budget_GB") {
            std::string rule;
            *source = "predicted";
            return point(predict::device_budget_bytes(p, {}, &rule) / GiB);
        }
        throw std::logic_error("unknown quantity " + q);
    }

    // The highest measured figure of this kind on the platform, with the device it came from.
    std::optional<std::pair<double, std::string>> measured_figure(const Platform& p, const std::string& q) {
        double best = 0;
        std::string from;
        if (q == "mem_bw_GBps") {
            for (const auto* r : measured("membw", p.id))
                if (r->num("gbps") > best) best = r->num("gbps"), from = fmt::format("{} {}", r->str("device"), r->str("op"));
        } else if (q == "power_W" || q == "power_max_W") {
            if (in_.records)
                for (const auto& r : *in_.records)
                    if (r.str("status") == "ok" && platform_id(r) == p.id && r.num("power_w") > best)
                        best = r.num("power_w"), from = fmt::format("{} {}", r.str("device"), r.str("workload"));
        }
        if (best <= 0) return std::nullopt;
        return std::pair{best, from};
    }

    // spec-max: the highest figure over the platforms against the claim ("reaches up to").
    // spec-span: the range the platforms cover against the claimed range (overlap within the tolerance).
    std::pair<Verdict, std::string> spec(const Claim& c) {
        const bool span = c.test == "spec-span";
        const bool selector = c.platforms.find("vendor=") != std::string::npos;
        const std::string unit = c.quantity == "gpu_budget_GB" ? "GiB" : c.unit;
        struct Fig {
            std::string label;
            Estimate e;
            std::string source;
        };
        std::vector<Fig> figs;
        std::vector<std::string> unknown, context;
        const auto targets = parse_targets(c.platforms);
        for (const auto& t : targets) {
            std::string source;
            auto e = spec_figure(t.p, c.quantity, &source);
            const auto m = measured_figure(t.p, c.quantity);
            if (m) {
                const std::string pct = e ? fmt::format(", {:.0f}% of the spec", 100 * m->first / e->high) : "";
                context.push_back(fmt::format("measured {} {} on {}{}", format_number(m->first), unit, m->second, pct));
                evidence(t.label + " " + quantity_name(c.quantity), {m->first, m->first, m->first}, unit, "measured");
            }
            if (!e && m) e = Estimate{m->first, m->first, m->first}, source = "measured";
            if (!e) {
                if (!selector) unknown.push_back(t.label);
                continue;
            }
            figs.push_back({t.label, *e, source});
            evidence(t.label + " " + quantity_name(c.quantity), *e, unit, source);
            if (c.quantity == "gpu_budget_GB")
                context.push_back(fmt::format("{} of {:.0f} GiB on {} (the predictor's rule)", format_number(e->value / t.p.memory_GB),
                                              t.p.memory_GB, t.label));
            if (c.quantity == "mem_bw_GBps" && targets.size() == 1) {
                const auto bw = predict::predict_bandwidth(t.p);
                context.push_back(fmt::format("a STREAM triad would sustain {} {} (predicted)", format_estimate(bw.value), unit));
                evidence(t.label + " triad bandwidth", bw.value, unit, "predicted");
            }
        }
        std::string missing = unknown.empty() ? "" : join(unknown, ", ") + ": no figure in the spec database";
        if (figs.empty()) return {Verdict::NOT_TESTABLE, join({missing, "nothing to compare with"}, "; ")};

        const double clo = c.low.value_or(0), chi = c.high.value_or(INF);
        auto fig_text = [&](const Fig& f) {
            return fmt::format("{} {} {}", f.label, range_text(f.e.low, f.e.high), unit);
        };
        const auto lo = std::min_element(figs.begin(), figs.end(), [](auto& a, auto& b) { return a.e.low < b.e.low; });
        const auto hi = std::max_element(figs.begin(), figs.end(), [](auto& a, auto& b) { return a.e.high < b.e.high; });
        std::vector<std::string> sources;
        for (const auto& f : figs)
            if (!contains(sources, f.source)) sources.push_back(f.source);
        const std::string src = "(" + join(sources, ", ") + ")";

        std::string line;
        Judgement j;
        if (span) {
            j = judge(clo, chi, lo->e.low, hi->e.high, c.higher_better);
            std::vector<std::string> outside;
            int inside = 0;
            for (const auto& f : figs) {
                if (f.e.low >= clo && f.e.high <= chi) ++inside;
                else outside.push_back(fig_text(f));
            }
            if (figs.size() <= 3) {
                std::vector<std::string> all;
                for (const auto& f : figs) all.push_back(fig_text(f));
                line = fmt::format("{} {} {}", quantity_name(c.quantity), join(all, ", "), src);
            } else {
                line = fmt::format("{} spans {} {} ({}) to {} {} ({}) {}; {} of {} inside the claimed {} {}",
                                   quantity_name(c.quantity), format_number(lo->e.low), unit, lo->label,
                                   format_number(hi->e.high), unit, hi->label, src, inside, figs.size(), claimed(clo, chi), unit);
                if (!outside.empty() && outside.size() <= 4) line += ", outside: " + join(outside, ", ");
            }
            if (figs.size() <= 3) line += fmt::format(" against {} {} claimed", claimed(clo, chi), unit);
        } else {
            const double top = hi->e.high;
            j = judge(clo, chi, top, top, c.higher_better);
            if (figs.size() == 1) {
                line = fmt::format("{} {} {} against {} claimed", quantity_name(c.quantity), fig_text(*hi), src, claimed(clo, chi));
            } else {
                std::vector<std::string> all;
                for (const auto& f : figs) all.push_back(fmt::format("{} {}", f.label, range_text(f.e.low, f.e.high)));
                line = fmt::format("{} {} {} {}; the highest, {} {} {}, against {} claimed{}", quantity_name(c.quantity),
                                   join(all, ", "), unit, src, hi->label, format_number(top), unit, claimed(clo, chi),
                                   j.off > 1 ? fmt::format(" ({}x apart)", format_number(j.off)) : "");
            }
            if (c.param("context") == "vendor") {
                const std::string vendor = parse_targets(c.platforms).front().p.vendor;
                const Platform* best = nullptr;
                double best_v = 0;
                for (const auto& p : predict::platforms()) {
                    std::string s;
                    const auto e = p.vendor == vendor ? spec_figure(p, c.quantity, &s) : std::nullopt;
                    if (e && e->high >= best_v) best = &p, best_v = e->high;  // ties: the top variant, listed last
                }
                if (best && best_v > top)
                    context.push_back(fmt::format("the highest {} figure in the database is {} {} {} (spec)", vendor,
                                                  best->id, format_number(best_v), unit));
            }
        }
        return {j.v, join({line, missing, join(context, "; ")}, "; ")};
    }

    predict::LlmQuery query(const std::string& model, const std::string& type) {
        predict::LlmQuery q;
        q.model_name = model;
        q.model = model_config(model);
        q.ftype = llm::parse_file_type(type);
        q.n_prompt = 512;
        q.n_gen = 128;
        return q;
    }

    // Decode tokens/s: measured when the results store has the model and format on this platform (the
    // best row), else predicted. Empty when the model does not fit.
    std::optional<std::pair<Estimate, std::string>> decode_speed(const Target& t, const std::string& model,
                                                                 const std::string& type) {
        double best = 0;
        for (const auto* r : measured("llm", t.p.id))
            if (r->str("phase") == "decode" && r->str("model") == model && r->str("type") == type && r->str("gguf").empty())
                best = std::max(best, r->num("tokens_per_s"));
        if (best > 0) return std::pair{Estimate{best, best, best}, std::string("measured")};
        const auto pred = predict::predict_llm(t.p, query(model, type), predict::Calibration::builtin());
        if (!pred.decode) return std::nullopt;
        return std::pair{pred.decode->tokens_per_s, std::string("predicted")};
    }

    std::pair<Verdict, std::string> llm_decode(const Claim& c) {
        const auto targets = parse_targets(c.platforms);
        std::vector<Reading> readings;
        std::vector<std::string> parts;
        for (const auto& type : c.types) {
            std::vector<Judgement> js;
            std::vector<std::string> figs;
            for (const auto& t : targets) {
                const double clo = t.low.value_or(c.low.value_or(0)), chi = t.high.value_or(c.high.value_or(INF));
                const auto s = decode_speed(t, c.model, type);
                if (!s) {
                    figs.push_back(fmt::format("{} does not fit {}", type, t.label));
                    js.push_back({Verdict::OPTIMISTIC, INF});
                    continue;
                }
                evidence(fmt::format("{} {} decode on {}", c.model, type, t.label), s->first, "tokens/s", s->second);
                figs.push_back(fmt::format("{} {} ({})", type, estimate_text(s->first), s->second));
                js.push_back(judge(clo, chi, s->first.low, s->first.high, c.higher_better));
            }
            parts.push_back(join(figs, ", "));
            readings.push_back({type, combine(js)});
        }
        const double clo = c.low.value_or(0), chi = c.high.value_or(INF);
        std::vector<std::string> labels;
        for (const auto& t : targets) labels.push_back(t.label);
        auto [v, why] = combine_readings(readings);
        std::string line = fmt::format("{} {} decode (tg128): {} t/s against {} claimed", join(labels, ", "), c.model,
                                       join(parts, ", "), claimed(clo, chi));
        line = join({line, why}, ": ");

        // "impossible on one consumer GPU": the smallest format the row lists must not fit on the GPU alone.
        const auto no_fit = c.param("no_fit");
        if (!no_fit.empty()) {
            const auto q = query(c.model, c.types.front());
            std::vector<std::string> fit;
            bool fits_somewhere = false;
            double need = 0;
            for (const auto& t : parse_targets(no_fit)) {
                const auto pred = predict::predict_llm(t.p, q, predict::Calibration::builtin());
                need = pred.plan.need_bytes();
                fits_somewhere = fits_somewhere || pred.plan.fits_device;
                std::string s = fmt::format("{} holds {}: {}", t.label, gb(pred.plan.budget_bytes),
                                            pred.plan.fits_device ? "it fits" : layers_text(pred.plan));
                if (!pred.plan.fits_device && pred.decode) {
                    s += fmt::format(", {} t/s (predicted)", format_estimate(pred.decode->tokens_per_s));
                    evidence(fmt::format("{} {} decode on {} (offloaded)", c.model, c.types.front(), t.label),
                             pred.decode->tokens_per_s, "tokens/s", "predicted");
                }
                fit.push_back(s);
            }
            line += fmt::format("; on one GPU, {} {} needs {}: {}", c.model, c.types.front(), gb(need), join(fit, ", "));
            line += fits_somewhere ? ": it fits, so not impossible" : ": not on the GPU alone, only offloaded";
            // Calling possible impossible understates the GPUs.
            if (fits_somewhere && v == Verdict::CONSISTENT) v = Verdict::PESSIMISTIC;
        }
        return {v, line};
    }

    // Power while generating: only a reading tests it (the predictor's power is the spec's).
    std::pair<Verdict, std::string> llm_power(const Claim& c) {
        std::vector<Judgement> js;
        std::vector<std::string> figs, missing, bounds;
        for (const auto& t : parse_targets(c.platforms)) {
            const double clo = t.low.value_or(c.low.value_or(0)), chi = t.high.value_or(c.high.value_or(INF));
            std::vector<double> watts;
            std::string device;
            for (const auto* r : measured("llm", t.p.id))
                if (r->str("phase") == "decode" && r->num("power_w") > 0) watts.push_back(r->num("power_w")), device = r->str("device");
            std::string source;
            if (const auto e = spec_figure(t.p, "power_W", &source))
                bounds.push_back(fmt::format("{} {} W", t.label, range_text(e->low, e->high)));
            if (watts.empty()) {
                missing.push_back(t.label);
                continue;
            }
            std::sort(watts.begin(), watts.end());
            const double median = watts[watts.size() / 2];
            evidence(t.label + " power during LLM decode", {median, watts.front(), watts.back()}, "W", "measured");
            figs.push_back(fmt::format("{} {} W (measured, median of {} decode row{} on {}) against {} W claimed", t.label,
                                       format_number(median), watts.size(), watts.size() == 1 ? "" : "s", device,
                                       claimed(clo, chi)));
            js.push_back(judge(clo, chi, median, median, c.higher_better));
        }
        const std::string spec = bounds.empty() ? "" : "spec power under load: " + join(bounds, ", ");
        if (figs.empty())
            return {Verdict::NOT_TESTABLE, fmt::format("needs power read during LLM decode on {}: {}; {}", join(missing, " and "),
                                                       no_measurement_reason(), spec)};
        const std::string not_measured = missing.empty() ? "" : join(missing, ", ") + " not measured";
        return {combine(js).v, join({join(figs, "; "), not_measured, spec}, "; ")};
    }

    std::pair<Verdict, std::string> train_epoch(const Claim& c) {
        const auto targets = parse_targets(c.platforms);
        std::vector<Reading> readings;
        std::vector<std::string> parts;
        std::string ratio;
        for (const auto& name : c.datasets) {
            const auto d = predict::data_set(name);
            const double n = static_cast<double>(d.images);
            std::vector<Judgement> js;
            std::vector<std::string> figs;
            std::vector<double> speeds;
            for (const auto& t : targets) {
                const double clo = t.low.value_or(c.low.value_or(0)), chi = t.high.value_or(c.high.value_or(INF));
                const auto pred = predict::predict_resnet50_training(t.p, d);
                evidence(fmt::format("ResNet-50 on {} on {}", name, t.label), pred.value, "images/s", "predicted");
                speeds.push_back(pred.value.value);
                // The claimed time as images/s, compared with the predicted images/s.
                const double ilo = n / chi, ihi = n / clo;
                figs.push_back(fmt::format("{} {} s implies {} img/s, predicted {}", t.label, claimed(clo, chi),
                                           range_text(std::round(ilo), std::round(ihi)), format_estimate(pred.value)));
                js.push_back(judge(ilo, ihi, pred.value.low, pred.value.high, true));
            }
            parts.push_back(fmt::format("{} ({} images at {} px): {}", name, d.images, d.side_px, join(figs, ", ")));
            readings.push_back({name, combine(js)});
            if (ratio.empty() && targets.size() > 1 && targets[0].low) {
                // Time ratios of the other platforms to the first: claimed and predicted (data-set free).
                std::vector<std::string> rs;
                for (size_t i = 1; i < targets.size(); ++i) {
                    if (!targets[i].low) continue;
                    const double lo = *targets[i].low / *targets[0].high, hi = *targets[i].high / *targets[0].low;
                    rs.push_back(fmt::format("{}/{} {}x claimed, {}x predicted", targets[i].label, targets[0].label,
                                             range_text(lo, hi), format_number(speeds[0] / speeds[i])));
                }
                ratio = "time ratios " + join(rs, ", ");
            }
        }
        const auto [v, why] = combine_readings(readings);
        return {v, join({join(parts, "; "), ratio, why}, "; ")};
    }

    // The first platform against the second: slowdown (claimed low-high) and, with energy_saving_pct, the
    // energy per image.
    std::pair<Verdict, std::string> train_ratio(const Claim& c) {
        const auto targets = parse_targets(c.platforms);
        if (targets.size() != 2) throw std::logic_error("train-ratio needs two platforms");
        const auto d = predict::data_set(c.datasets.at(0));
        const auto a = predict::predict_resnet50_training(targets[0].p, d), b = predict::predict_resnet50_training(targets[1].p, d);
        evidence(fmt::format("ResNet-50 on {} on {}", d.name, targets[0].label), a.value, "images/s", "predicted");
        evidence(fmt::format("ResNet-50 on {} on {}", d.name, targets[1].label), b.value, "images/s", "predicted");
        const Estimate slow{b.value.value / a.value.value, b.value.low / a.value.high, b.value.high / a.value.low};
        evidence(fmt::format("{} slowdown against {}", targets[0].label, targets[1].label), slow, "x", "predicted");
        const double clo = c.low.value_or(0), chi = c.high.value_or(INF);
        std::vector<Judgement> js = {judge(clo, chi, slow.low, slow.high, c.higher_better)};
        std::string line = fmt::format("{} {} img/s vs {} {} img/s on {} (predicted): {}x slower ({}) against {}x claimed",
                                       targets[0].label, format_estimate(a.value), targets[1].label, format_estimate(b.value),
                                       d.name, format_number(slow.value), range_text(slow.low, slow.high), claimed(clo, chi));
        const auto saving = c.param("energy_saving_pct");
        if (!saving.empty()) {
            const double claimed_ratio = 1 - *parse_number(saving) / 100;  // energy of the first over the second
            if (a.joules_per_op && b.joules_per_op) {
                const auto &ja = *a.joules_per_op, &jb = *b.joules_per_op;
                const Estimate r{ja.value / jb.value, ja.low / jb.high, ja.high / jb.low};
                evidence(fmt::format("{} energy per image relative to {}", targets[0].label, targets[1].label), r, "x", "predicted");
                js.push_back(judge(0, claimed_ratio, r.low, r.high, false));
                line += fmt::format("; energy {} vs {} J/image (predicted, spec power): {}x ({}) against at most {}x ({}% less) claimed",
                                    format_number(ja.value), format_number(jb.value), format_number(r.value),
                                    range_text(r.low, r.high), format_number(claimed_ratio), saving);
            } else {
                line += "; energy: no spec power for one of them";
            }
        }
        return {combine(js).v, line};
    }

    // Discrete GPUs reach host memory only over their link; unified memory is one memory.
    std::pair<Verdict, std::string> transfer(const Claim& c) {
        std::vector<std::string> figs;
        std::vector<Judgement> js;
        for (const auto& t : parse_targets(c.platforms)) {
            const auto& p = t.p;
            if (p.memory_kind == predict::MemoryKind::DISCRETE && p.host_link_GBps) {
                figs.push_back(fmt::format("{} {} {} GB/s each way vs {} GB/s VRAM, {}x slower (spec)", t.label, p.host_link,
                                           format_number(*p.host_link_GBps), format_number(p.mem_bw_GBps),
                                           format_number(p.mem_bw_GBps / *p.host_link_GBps)));
                evidence(t.label + " host link", {*p.host_link_GBps, *p.host_link_GBps, *p.host_link_GBps}, "GB/s", "spec");
                // The claim holds while the link is far slower than the memory it feeds.
                js.push_back(*p.host_link_GBps < p.mem_bw_GBps * (1 - AUDIT_TOLERANCE) ? Judgement{}
                                                                                        : Judgement{Verdict::PESSIMISTIC, 2});
            } else if (p.memory_kind == predict::MemoryKind::UNIFIED) {
                figs.push_back(fmt::format("{} unified: CPU and GPU share {} GB/s, no copy (spec)", t.label, format_number(p.mem_bw_GBps)));
            }
        }
        // This machine's transfer rows: the best GB/s per device, mode and direction.
        std::map<std::string, double> best;
        if (in_.records)
            for (const auto& r : *in_.records)
                if (r.str("status") == "ok" && r.str("workload") == "transfer" && r.num("gbps") > 0) {
                    const std::string key = fmt::format("{} {} on {} ({} memory)", r.str("direction"), r.str("mode"),
                                                        r.str("device"), r.str("memory_kind"));
                    best[key] = std::max(best[key], r.num("gbps"));
                }
        std::vector<std::string> meas;
        for (const auto& [k, v] : best) {
            if (meas.size() < 4) meas.push_back(fmt::format("{} {} GB/s", k, format_number(v)));
            evidence(k, {v, v, v}, "GB/s", "measured");
        }
        const std::string m = meas.empty() ? "no transfer rows measured (" + no_measurement_reason() + ")"
                                           : "measured: " + join(meas, ", ") + (best.size() > meas.size() ? ", ..." : "");
        return {combine(js).v, join({join(figs, "; "), m}, "; ")};
    }

    // The model does not fit the card: offloaded decode against the same card with enough VRAM.
    std::pair<Verdict, std::string> offload(const Claim& c) {
        std::vector<std::string> parts;
        std::vector<Judgement> js;
        for (const auto& t : parse_targets(c.platforms))
            for (const auto& type : c.types) {
                const auto q = query(c.model, type);
                const auto pred = predict::predict_llm(t.p, q, predict::Calibration::builtin());
                if (pred.plan.fits_device) {
                    parts.push_back(fmt::format("{} {} fits {}: no offload to test", c.model, type, t.label));
                    continue;
                }
                if (!pred.decode) {
                    parts.push_back(fmt::format("{} {} does not fit {} even offloaded", c.model, type, t.label));
                    continue;
                }
                Platform big = t.p;  // the same card with room for the model
                big.gpu_mem_max_GB = big.memory_GB = 4 * pred.plan.need_bytes() / GiB;
                const auto whole = predict::predict_llm(big, q, predict::Calibration::builtin());
                if (!whole.decode) throw std::logic_error(fmt::format("{} {} does not fit {} with room for it", c.model, type, t.label));
                const auto &off = pred.decode->tokens_per_s, &all = whole.decode->tokens_per_s;
                evidence(fmt::format("{} {} decode on {} (offloaded)", c.model, type, t.label), off, "tokens/s", "predicted");
                evidence(fmt::format("{} {} decode on {} with enough VRAM", c.model, type, t.label), all, "tokens/s", "predicted");
                parts.push_back(fmt::format("{} {} needs {}, {} holds {}: {}, decode {} t/s (predicted); the same card with "
                                            "enough VRAM {} t/s: {}x slower offloaded",
                                            c.model, type, gb(pred.plan.need_bytes()), t.label, gb(pred.plan.budget_bytes),
                                            layers_text(pred.plan), format_estimate(off), format_estimate(all),
                                            format_number(all.value / off.value)));
                js.push_back(all.value > off.value * (1 + AUDIT_TOLERANCE) ? Judgement{} : Judgement{Verdict::PESSIMISTIC, 2});
            }
        if (js.empty()) return {Verdict::NOT_TESTABLE, join(parts, "; ")};
        return {combine(js).v, join(parts, "; ")};
    }

    // Qualitative claims and those only a measurement versus cannot make would test: the figures that
    // bear on them, no verdict on the figure.
    std::pair<Verdict, std::string> figures(const Claim& c) {
        const Verdict v = c.kind == "qualitative" ? Verdict::QUALITATIVE : Verdict::NOT_TESTABLE;
        std::vector<std::string> parts;
        const auto targets = parse_targets(c.platforms);
        if (!c.model.empty() && !targets.empty()) {
            for (const auto& type : c.types) {
                std::vector<std::string> figs;
                for (const auto& t : targets) {
                    const auto pred = predict::predict_llm(t.p, query(c.model, type), predict::Calibration::builtin());
                    if (!pred.decode) {
                        figs.push_back(t.label + " does not fit");
                        continue;
                    }
                    evidence(fmt::format("{} {} decode on {}", c.model, type, t.label), pred.decode->tokens_per_s, "tokens/s", "predicted");
                    evidence(fmt::format("{} {} time to first token (512 tokens) on {}", c.model, type, t.label), *pred.ttft_ms, "ms",
                             "predicted");
                    figs.push_back(fmt::format("{} {} t/s, TTFT {} s", t.label, format_number(pred.decode->tokens_per_s.value),
                                               format_number(pred.ttft_ms->value / 1e3)));
                }
                parts.push_back(fmt::format("{} {} decode and time to first token for a 512-token prompt (predicted): {}",
                                            c.model, type, join(figs, ", ")));
            }
        } else if (!c.model.empty()) {
            const auto cfg = model_config(c.model);
            std::vector<std::string> figs;
            double first = 0;
            for (const auto& type : c.types) {
                const double b = static_cast<double>(llm::weight_summary(cfg, llm::parse_file_type(type)).total_bytes);
                if (first == 0) first = b;
                evidence(fmt::format("{} {} weights", c.model, type), {b / GiB, b / GiB, b / GiB}, "GiB", "predicted");
                figs.push_back(fmt::format("{} {:.2f} GiB{}", type, b / GiB,
                                           b < first ? fmt::format(" (-{:.0f}%)", 100 * (1 - b / first)) : ""));
            }
            parts.push_back(fmt::format("{} weights as llama.cpp lays them out: {}", c.model, join(figs, ", ")));
        }
        if (!c.quantity.empty() && !targets.empty()) {
            const std::string unit = c.quantity.ends_with("_W") ? "W" : c.unit;
            std::vector<std::string> figs;
            for (const auto& t : targets) {
                std::string source;
                const auto e = spec_figure(t.p, c.quantity, &source);
                if (e) evidence(t.label + " " + quantity_name(c.quantity), *e, unit, source);
                figs.push_back(fmt::format("{} {}", t.label, e ? range_text(e->low, e->high) : "none"));
            }
            parts.push_back(fmt::format("{}: {} {} (spec)", quantity_name(c.quantity), join(figs, ", "), unit));
        }
        return {v, join(parts, "; ")};
    }
};

}  // namespace

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::CONSISTENT: return "consistent";
        case Verdict::OPTIMISTIC: return "optimistic";
        case Verdict::PESSIMISTIC: return "pessimistic";
        case Verdict::QUALITATIVE: return "qualitative";
        case Verdict::NOT_TESTABLE: return "not testable here";
    }
    return "?";
}

std::string Claim::param(std::string_view key, std::string fallback) const {
    for (const auto& [k, v] : params)
        if (k == key) return v;
    return fallback;
}

std::vector<Claim> parse_claims(std::string_view csv, const std::string& place) {
    base::CsvTable table(csv, place);
    for (const auto& col : COLUMNS)
        if (table.column(col) < 0) throw std::logic_error(fmt::format("{}:1: no column '{}'", place, col));
    std::vector<Claim> out;
    std::set<std::string> ids;
    static const std::regex ID("C[1-9][0-9]*");
    for (const auto& row : table.rows()) {
        auto fail = [&](const std::string& what) { return std::logic_error(fmt::format("{}:{}: {}", place, row.line, what)); };
        if (!row.error.empty()) throw fail(row.error);
        if (row.cells.size() != table.header().size())
            throw fail(fmt::format("{} cells, the header has {}", row.cells.size(), table.header().size()));
        auto cell = [&](const char* name) { return std::string(table.cell(row, name)); };
        Claim c;
        c.line = row.line;
        c.id = cell("id");
        c.text = cell("claim");
        c.dimension = cell("dimension");
        c.kind = cell("kind");
        c.test = cell("test");
        c.quantity = cell("quantity");
        c.platforms = cell("platforms");
        c.unit = cell("unit");
        c.model = cell("model");
        c.types = base::split_copy(cell("types"), ';', base::SPLIT_SKIP_EMPTY);
        c.datasets = base::split_copy(cell("datasets"), ';', base::SPLIT_SKIP_EMPTY);
        c.note = cell("note");
        if (!std::regex_match(c.id, ID)) throw fail(fmt::format("id '{}' is not C<number>", c.id));
        if (!ids.insert(c.id).second) throw fail(fmt::format("{} appears twice", c.id));
        if (c.text.empty()) throw fail(c.id + " has no claim text");
        if (!contains(KINDS, c.kind)) throw fail(fmt::format("unknown kind '{}'", c.kind));
        if (!contains(TESTS, c.test)) throw fail(fmt::format("unknown test '{}'", c.test));
        if (!contains(QUANTITIES, c.quantity)) throw fail(fmt::format("unknown quantity '{}'", c.quantity));
        const std::string better = cell("better");
        if (better != "higher" && better != "lower") throw fail(fmt::format("better is '{}', not higher or lower", better));
        c.higher_better = better == "higher";
        try {
            c.low = parse_number(cell("low"));
            c.high = parse_number(cell("high"));
            for (const auto& item : base::split_copy(cell("params"), ';', base::SPLIT_SKIP_EMPTY)) {
                const size_t eq = item.find('=');
                if (eq == std::string::npos) throw std::invalid_argument(fmt::format("param '{}' is not key=value", item));
                c.params.emplace_back(item.substr(0, eq), item.substr(eq + 1));
            }
            // Everything the evaluators will look up must exist: platforms, formats, data sets, models.
            parse_targets(c.platforms);
            if (const auto nf = c.param("no_fit"); !nf.empty()) parse_targets(nf);
            for (const auto& t : c.types) llm::parse_file_type(t);
            for (const auto& d : c.datasets) predict::data_set(d);
            if (!c.model.empty()) model_config(c.model);
        } catch (const std::exception& e) {
            throw fail(c.id + ": " + e.what());
        }
        const bool ranged = c.kind == "range";
        if (ranged && !c.low && !c.high && c.platforms.find(':') == std::string::npos)
            throw fail(c.id + ": a range claim needs low/high or per-platform ranges");
        if ((c.test == "llm-decode" || c.test == "offload") && (c.model.empty() || c.types.empty()))
            throw fail(c.id + ": " + c.test + " needs a model and types");
        if ((c.test == "train-epoch" || c.test == "train-ratio") && c.datasets.empty())
            throw fail(c.id + ": " + c.test + " needs datasets");
        if ((c.test == "spec-max" || c.test == "spec-span") && (c.quantity.empty() || c.platforms.empty()))
            throw fail(c.id + ": " + c.test + " needs a quantity and platforms");
        out.push_back(std::move(c));
    }
    return out;
}

const std::vector<Claim>& builtin_claims() {
    static const std::vector<Claim> claims = [] {
        std::vector<Claim> all;
        for (const auto& f : detail::embedded_claim_files()) {
            auto part = parse_claims(f.text, std::string(f.name));
            all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
        }
        return all;
    }();
    return claims;
}

AuditRow audit_claim(const Claim& c, const AuditInput& in) { return Auditor(in).run(c); }

std::vector<AuditRow> audit_claims(const std::vector<Claim>& claims, const AuditInput& in) {
    Auditor a(in);  // one device-name cache for the whole table
    std::vector<AuditRow> out;
    for (const auto& c : claims) out.push_back(a.run(c));
    return out;
}

std::string audit_table(const std::vector<AuditRow>& rows, bool md) {
    // A terminal cannot show the claims and their reasoning in full side by side; Markdown can.
    constexpr size_t CLAIM_WIDTH = 48;
    std::vector<std::vector<std::string>> cells;
    std::map<Verdict, int> count;
    for (const auto& r : rows) {
        std::string claim = r.claim;
        if (!md && claim.size() > CLAIM_WIDTH) claim = claim.substr(0, CLAIM_WIDTH - 3) + "...";
        cells.push_back({r.id, claim, verdict_name(r.verdict), r.reasoning});
        ++count[r.verdict];
    }
    std::string out = core::render_grid({"id", "claim", "verdict", "reasoning"}, cells, {false, false, false, false}, md);
    std::vector<std::string> parts;
    for (Verdict v : {Verdict::CONSISTENT, Verdict::OPTIMISTIC, Verdict::PESSIMISTIC, Verdict::QUALITATIVE, Verdict::NOT_TESTABLE})
        parts.push_back(fmt::format("{} {}", count[v], verdict_name(v)));
    out += fmt::format("\n{} claims: {}. Figures are marked measured, predicted or spec; a claim is consistent within "
                       "+-{:.0f}% of the evidence (docs/audit.md).\n",
                       rows.size(), join(parts, ", "), AUDIT_TOLERANCE * 100);
    return out;
}

nlohmann::ordered_json audit_json(const std::vector<AuditRow>& rows) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : rows) {
        nlohmann::ordered_json j;
        j["id"] = r.id;
        j["claim"] = r.claim;
        j["dimension"] = r.dimension;
        j["verdict"] = verdict_name(r.verdict);
        j["reasoning"] = r.reasoning;
        j["evidence"] = nlohmann::ordered_json::array();
        for (const auto& e : r.evidence)
            j["evidence"].push_back({{"what", e.what}, {"value", e.value}, {"low", e.low}, {"high", e.high},
                                     {"unit", e.unit}, {"source", e.source}});
        out.push_back(j);
    }
    return out;
}

}  // namespace versus::report
