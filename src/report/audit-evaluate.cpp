#include "report/audit-evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "base/text.hpp"
#include "predict/fit.hpp"
#include "predict/roofline.hpp"
#include "predict/throughput.hpp"
#include "report/compare.hpp"

namespace versus::report::audit_detail {


namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

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

Judgement judge(double clo, double chi, double elo, double ehi, bool higher_better) {
    const double wlo = elo * (1 - AUDIT_TOLERANCE), whi = ehi * (1 + AUDIT_TOLERANCE);
    if (clo > whi) return {higher_better ? Verdict::OPTIMISTIC : Verdict::PESSIMISTIC, ehi > 0 ? clo / ehi : INF};
    if (chi < wlo) return {higher_better ? Verdict::PESSIMISTIC : Verdict::OPTIMISTIC, chi > 0 ? elo / chi : INF};
    return {};
}

Judgement combine(const std::vector<Judgement>& js) {
    Judgement opt{Verdict::OPTIMISTIC, 0}, pes{Verdict::PESSIMISTIC, 0};
    for (const auto& j : js) {
        if (j.v == Verdict::OPTIMISTIC) opt.off = std::max(opt.off, j.off);
        if (j.v == Verdict::PESSIMISTIC) pes.off = std::max(pes.off, j.off);
    }
    if (opt.off == 0 && pes.off == 0) return {};
    return opt.off >= pes.off ? opt : pes;
}

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

std::string quantity_name(const std::string& q) {
    if (q == "mem_bw_GBps") return "memory bandwidth";
    if (q == "gpu_mem_max_GB") return "VRAM";
    if (q == "power_max_W") return "maximum power";
    if (q == "power_W") return "power under load";
    if (q == "gpu_budget_GB") return "GPU working-set limit";
    if (q == "nvlink_GBps") return "NVLink per GPU, each way";
    return q;
}

const std::map<std::string, Auditor::Evaluator, std::less<>>& Auditor::evaluators() {
    static const std::map<std::string, Evaluator, std::less<>> table = {
        {"spec-max", &Auditor::spec},           {"spec-span", &Auditor::spec},
        {"llm-decode", &Auditor::llm_decode},   {"llm-power", &Auditor::llm_power},
        {"train-epoch", &Auditor::train_epoch}, {"train-ratio", &Auditor::train_ratio},
        {"transfer", &Auditor::transfer},       {"offload", &Auditor::offload},
        {"figures", &Auditor::figures},         {"containers", &Auditor::containers},
        {"attention", &Auditor::attention},     {"quality", &Auditor::quality},
    };
    return table;
}

const std::vector<std::string>& test_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [name, f] : Auditor::evaluators()) out.push_back(name);
        return out;
    }();
    return names;
}

AuditRow Auditor::run(const Claim& c) {
    AuditRow row{c.id, c.text, c.dimension, Verdict::NOT_TESTABLE, "", {}};
    ev_ = &row.evidence;
    try {
        const auto [v, line] = (this->*evaluators().at(c.test))(c);
        row.verdict = v;
        // For claims without a figure to test, the note is the reason for the verdict: it leads.
        row.reasoning = c.test == "figures" ? join({c.note, line}, "; ") : join({line, c.note}, "; ");
    } catch (const std::exception& e) {
        row.verdict = Verdict::NOT_TESTABLE;
        row.reasoning = join({std::string("could not be evaluated: ") + e.what(), c.note}, "; ");
    }
    return row;
}

void Auditor::evidence(std::string what, const Estimate& e, std::string unit, std::string source) {
    const EvidenceKind kind = source == MEASURED_HERE     ? EvidenceKind::MEASURED_HERE
                              : source.starts_with("measured") ? EvidenceKind::MEASURED_GIVEN
                              : source == "predicted"       ? EvidenceKind::PREDICTED
                                                            : EvidenceKind::SPEC;
    ev_->push_back({std::move(what), e.value, e.low, e.high, std::move(unit), std::move(source), kind});
}

std::string Auditor::source_of(const core::Record& r) const {
    return in_.here && !in_.here->host.empty() && r.str("host") == in_.here->host ? MEASURED_HERE : MEASURED_GIVEN;
}

// The platform a measured record ran on (measured_platform): on a Mac the CPU backend's device is the chip
// ("Apple M3 Max"), which the database knows as a GPU platform; a CPU row never counts as that GPU.
std::string Auditor::platform_id(const core::Record& r) {
    const std::string device = r.str("device"), backend = r.str("backend");
    if (device.empty()) return {};
    const auto key = std::pair{backend, device};
    auto it = device_ids_.find(key);
    if (it != device_ids_.end()) return it->second;
    const auto p = measured_platform(backend, device);
    return device_ids_[key] = p ? p->id : std::string();
}

// Completed rows of `workload` measured on platform `id`.
std::vector<const core::Record*> Auditor::measured(const std::string& workload, const std::string& id) {
    std::vector<const core::Record*> out;
    if (!in_.records) return out;
    for (const auto& r : *in_.records)
        if (r.str("status") == "ok" && r.str("workload") == workload && platform_id(r) == id) out.push_back(&r);
    return out;
}

std::string Auditor::no_measurement_reason() const {
    const std::string store = in_.store.empty() ? "the results store" : in_.store;
    if (!in_.records) return "no results store at " + store;
    return fmt::format("none among the {} rows of {}", in_.records->size(), store);
}

// A spec figure of a platform (the predictor's rule for the GPU working-set limit); empty when the
// database has none. Power is the typical figure with the range typical to maximum.
std::optional<Estimate> Auditor::spec_figure(const Platform& p, const std::string& q, std::string* source) {
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
std::optional<Auditor::Measured> Auditor::measured_figure(const Platform& p, const std::string& q) {
    Measured best;
    if (q == "mem_bw_GBps") {
        for (const auto* r : measured("membw", p.id))
            if (r->num("gbps") > best.value)
                best = {r->num("gbps"), fmt::format("{} {}", r->str("device"), r->str("op")), source_of(*r)};
    } else if (q == "power_W" || q == "power_max_W") {
        if (in_.records)
            for (const auto& r : *in_.records)
                if (r.str("status") == "ok" && platform_id(r) == p.id && r.num("power_w") > best.value)
                    best = {r.num("power_w"), fmt::format("{} {}", r.str("device"), r.str("workload")), source_of(r)};
    }
    if (best.value <= 0) return std::nullopt;
    return best;
}

// spec-max: the highest figure over the platforms against the claim ("reaches up to").
// spec-span: the range the platforms cover against the claimed range (overlap within the tolerance).
Outcome Auditor::spec(const Claim& c) {
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
            const std::string pct = e ? fmt::format(", {:.0f}% of the spec", 100 * m->value / e->high) : "";
            context.push_back(fmt::format("measured {} {} on {}{}", format_number(m->value), unit, m->from, pct));
            evidence(t.label + " " + quantity_name(c.quantity), {m->value, m->value, m->value}, unit, m->source);
        }
        if (!e && m) e = Estimate{m->value, m->value, m->value}, source = m->source;
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

// Discrete GPUs reach host memory only over their link; unified memory is one memory.
Outcome Auditor::transfer(const Claim& c) {
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
    std::map<std::string, std::pair<double, std::string>> best;  // GB/s and evidence source
    if (in_.records)
        for (const auto& r : *in_.records)
            if (r.str("status") == "ok" && r.str("workload") == "transfer" && r.num("gbps") > 0) {
                const std::string key = fmt::format("{} {} on {} ({} memory)", r.str("direction"), r.str("mode"),
                                                    r.str("device"), r.str("memory_kind"));
                if (r.num("gbps") > best[key].first) best[key] = {r.num("gbps"), source_of(r)};
            }
    std::vector<std::string> meas;
    for (const auto& [k, vs] : best) {
        const double v = vs.first;
        if (meas.size() < 4) meas.push_back(fmt::format("{} {} GB/s", k, format_number(v)));
        evidence(k, {v, v, v}, "GB/s", vs.second);
    }
    const std::string m = meas.empty() ? "no transfer rows measured (" + no_measurement_reason() + ")"
                                       : "measured: " + join(meas, ", ") + (best.size() > meas.size() ? ", ..." : "");
    return {combine(js).v, join({join(figs, "; "), m}, "; ")};
}

// The model does not fit the card: offloaded decode against the same card with enough VRAM.
Outcome Auditor::offload(const Claim& c) {
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
    // What a measured sweep says, beside the prediction.
    const auto sweeps = offload_sweeps(&js);
    parts.push_back(sweeps.empty() ? "no measured --gpu-layers sweep (" + no_measurement_reason() + ")"
                                   : "measured: " + join(sweeps, "; "));
    if (js.empty()) return {Verdict::NOT_TESTABLE, join(parts, "; ")};
    return {combine(js).v, join(parts, "; ")};
}

// Qualitative claims and those only a measurement versus cannot make would test: the figures that
// bear on them, no verdict on the figure.
Outcome Auditor::figures(const Claim& c) {
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

}  // namespace versus::report::audit_detail
