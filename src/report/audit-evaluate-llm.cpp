#include "report/audit-evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "base/text.hpp"
#include "predict/fit.hpp"
#include "predict/roofline.hpp"
#include "predict/throughput.hpp"

namespace versus::report::audit_detail {


predict::LlmQuery Auditor::query(const std::string& model, const std::string& type) {
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
std::optional<std::pair<Estimate, std::string>> Auditor::decode_speed(const Target& t, const std::string& model,
                                                             const std::string& type) {
    double best = 0;
    std::string source;
    for (const auto* r : measured("llm", t.p.id))
        if (r->str("phase") == "decode" && r->str("model") == model && r->str("type") == type && r->str("gguf").empty() &&
            r->num("tokens_per_s") > best)
            best = r->num("tokens_per_s"), source = source_of(*r);
    if (best > 0) return std::pair{Estimate{best, best, best}, source};
    const auto pred = predict::predict_llm(t.p, query(model, type), predict::Calibration::builtin());
    if (!pred.decode) return std::nullopt;
    return std::pair{pred.decode->tokens_per_s, std::string("predicted")};
}

Outcome Auditor::llm_decode(const Claim& c) {
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
            figs.push_back(fmt::format("{} {} ({})", type, estimate_text(s->first),
                                       s->second.starts_with("measured") ? "measured" : s->second));
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
Outcome Auditor::llm_power(const Claim& c) {
    std::vector<Judgement> js;
    std::vector<std::string> figs, missing, bounds;
    for (const auto& t : parse_targets(c.platforms)) {
        const double clo = t.low.value_or(c.low.value_or(0)), chi = t.high.value_or(c.high.value_or(INF));
        std::vector<double> watts;
        std::string device, from;
        for (const auto* r : measured("llm", t.p.id))
            if (r->str("phase") == "decode" && r->num("power_w") > 0)
                watts.push_back(r->num("power_w")), device = r->str("device"), from = source_of(*r);
        std::string source;
        if (const auto e = spec_figure(t.p, "power_W", &source))
            bounds.push_back(fmt::format("{} {} W", t.label, range_text(e->low, e->high)));
        if (watts.empty()) {
            missing.push_back(t.label);
            continue;
        }
        std::sort(watts.begin(), watts.end());
        const double median = watts[watts.size() / 2];
        evidence(t.label + " power during LLM decode", {median, watts.front(), watts.back()}, "W", from);
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

// ResNet-50 training images/s on the platform and data set: the best measured `train-resnet50` row
// (with its MFU), else the prediction. `source` is the evidence source; `text` the figure for the line.
Auditor::Speed Auditor::training_speed(const Target& t, const predict::DataSet& d) {
    Speed best;
    for (const auto* r : measured("train-resnet50", t.p.id))
        if (r->str("dataset") == d.name && r->num("images_per_s") > best.e.value) {
            const double v = r->num("images_per_s");
            best.e = {v, v, v};
            best.source = source_of(*r);
            best.text = fmt::format("measured {} img/s{}", format_number(v),
                                    r->has("mfu_pct") ? fmt::format(" (MFU {:.0f}%)", r->num("mfu_pct")) : "");
        }
    if (best.e.value > 0) return best;
    const auto pred = predict::predict_resnet50_training(t.p, d);
    return {pred.value, "predicted", "predicted " + format_estimate(pred.value)};
}

// Which platforms had no training row of the data set: the line says the evidence is missing.
std::string Auditor::missing_training(const std::vector<Target>& targets, const std::vector<std::string>& datasets) {
    std::vector<std::string> missing;
    for (const auto& t : targets)
        for (const auto& name : datasets)
            if (training_speed(t, predict::data_set(name)).source == "predicted") missing.push_back(t.label + " " + name);
    if (missing.empty()) return {};
    return fmt::format("no measured train-resnet50 row for {} ({}): predicted there", join(missing, ", "), no_measurement_reason());
}

Outcome Auditor::train_epoch(const Claim& c) {
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
            const auto speed = training_speed(t, d);
            evidence(fmt::format("ResNet-50 on {} on {}", name, t.label), speed.e, "images/s", speed.source);
            speeds.push_back(speed.e.value);
            // The claimed time as images/s, compared with the measured or predicted images/s.
            const double ilo = n / chi, ihi = n / clo;
            figs.push_back(fmt::format("{} {} s implies {} img/s, {}", t.label, claimed(clo, chi),
                                       range_text(std::round(ilo), std::round(ihi)), speed.text));
            js.push_back(judge(ilo, ihi, speed.e.low, speed.e.high, true));
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
    return {v, join({join(parts, "; "), ratio, why, missing_training(targets, c.datasets)}, "; ")};
}

// The first platform against the second: slowdown (claimed low-high) and, with energy_saving_pct, the
// energy per image.
Outcome Auditor::train_ratio(const Claim& c) {
    const auto targets = parse_targets(c.platforms);
    if (targets.size() != 2) throw std::logic_error("train-ratio needs two platforms");
    const auto d = predict::data_set(c.datasets.at(0));
    const auto sa = training_speed(targets[0], d), sb = training_speed(targets[1], d);
    evidence(fmt::format("ResNet-50 on {} on {}", d.name, targets[0].label), sa.e, "images/s", sa.source);
    evidence(fmt::format("ResNet-50 on {} on {}", d.name, targets[1].label), sb.e, "images/s", sb.source);
    const Estimate slow{sb.e.value / sa.e.value, sb.e.low / sa.e.high, sb.e.high / sa.e.low};
    // The ratio is only as strong as its weaker side.
    const std::string both = sa.source == "predicted" || sb.source == "predicted" ? std::string("predicted") : sa.source;
    evidence(fmt::format("{} slowdown against {}", targets[0].label, targets[1].label), slow, "x", both);
    const double clo = c.low.value_or(0), chi = c.high.value_or(INF);
    std::vector<Judgement> js = {judge(clo, chi, slow.low, slow.high, c.higher_better)};
    std::string line = fmt::format("{} {} vs {} {} on {}: {}x slower ({}) against {}x claimed", targets[0].label, sa.text,
                                   targets[1].label, sb.text, d.name, format_number(slow.value), range_text(slow.low, slow.high),
                                   claimed(clo, chi));
    const auto a = predict::predict_resnet50_training(targets[0].p, d), b = predict::predict_resnet50_training(targets[1].p, d);
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
    return {combine(js).v, join({line, missing_training(targets, c.datasets)}, "; ")};
}

}  // namespace versus::report::audit_detail
