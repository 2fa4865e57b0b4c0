// The cost table of a comparison: what the measured and predicted throughput of the llm decode and training
// rows costs on each machine and platform with a price. The formulas and the prices are the predictor's
// (predict/cost.hpp, docs/metrics.md "Cost"); this file only picks the rates and lays them out.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "report/compare-detail.hpp"
#include "report/compare.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

std::optional<predict::Platform> measured_platform(const std::string& backend, const std::string& device) {
    if (device.empty()) return std::nullopt;
    const predict::DeviceKind kind = backend == "cpu" ? predict::DeviceKind::CPU : predict::DeviceKind::GPU;
    // "NVIDIA GeForce RTX 4090" is known as "GeForce RTX 4090": the name, then the name less its first word.
    for (const std::string& name : {device, device.substr(std::min(device.size(), device.find(' ') + 1))}) {
        try {
            auto p = predict::resolve_platform(name);
            if (p.device_kind == kind) return p;
            return std::nullopt;
        } catch (const std::exception&) {
        }
    }
    return std::nullopt;
}

namespace {

// The rows a cost applies to: generated tokens (llm decode) and training throughput.
std::string costed_unit(const Comparison& c, const Row& row) {
    const Record* r = first_ok_record(c, row);
    if (!r) return {};
    if (row.workload == "llm") return r->str("phase") == "decode" ? "tokens/s" : "";
    if (row.workload.rfind("train", 0) == 0 || row.field == "images_per_s")
        return row.field == "images_per_s" ? "images/s" : row.field == "tokens_per_s" ? "tokens/s" : "";
    return {};
}

predict::CostReport cost_of(const predict::Platform& p, const std::string& unit, bool generated,
                            const predict::Estimate& rate, const std::optional<predict::Estimate>& watts,
                            const predict::CostOptions& opt) {
    if (generated) return predict::generated_tokens_cost(p, rate, watts, opt);
    predict::ThroughputPrediction t;
    t.platform_id = p.id;
    t.figure = unit;
    t.value = rate;
    if (watts)  // J per item at that power: what throughput_cost turns back into the load power
        t.joules_per_op = predict::Estimate{watts->value / rate.value, watts->low / rate.high, watts->high / rate.low};
    return predict::throughput_cost(p, t, opt);
}

std::string priced_as(const predict::Platform& p) { return fmt::format("{}@{:g}", p.id, p.memory_GB); }

// A measured figure has no range: its value alone.
std::string estimate_text(const predict::Estimate& e) {
    const bool point = std::fabs(e.high - e.low) <= 1e-9 * std::max(1.0, std::fabs(e.value));
    return point ? num(e.value) : predict::format_estimate(e);
}

// Footnote labels: a, b, ..., z, aa, ab, ...
std::string footnote(size_t i) {
    std::string s;
    for (size_t n = i + 1; n > 0; n = (n - 1) / 26) s.insert(s.begin(), static_cast<char>('a' + (n - 1) % 26));
    return s;
}

}  // namespace

std::vector<CostEntry> cost_entries(const Comparison& c, std::vector<std::string>* missing) {
    std::vector<CostEntry> out;
    std::map<std::string, std::string> why_not;  // who -> the first reason it has no cost
    std::vector<std::string> order;
    auto note = [&](const std::string& who, const std::string& why) {
        if (why_not.emplace(who, why).second) order.push_back(who);
    };
    const Generation* g = main_generation(c);
    if (g) {
        std::map<size_t, std::optional<predict::Platform>> platform_of;
        for (size_t s : measured_systems(c))
            platform_of[s] = measured_platform(c.systems[s].backend, c.systems[s].device);
        for (const auto& row : g->rows) {
            const std::string unit = costed_unit(c, row);
            if (unit.empty()) continue;
            const bool generated = row.workload == "llm";
            for (size_t s : measured_systems(c)) {
                const Cell& cell = row.cells[s];
                if (!cell.ok || cell.value <= 0) continue;
                const std::string who = machine_name(c.systems[s]);
                const auto& p = platform_of[s];
                if (!p) {
                    note(who, fmt::format("its device '{}' is not a {} of the spec database", c.systems[s].device,
                                          c.systems[s].backend == "cpu" ? "CPU" : "GPU"));
                    continue;
                }
                std::optional<predict::Estimate> watts;
                if (cell.watts) watts = predict::Estimate{*cell.watts, *cell.watts, *cell.watts};
                const predict::Estimate rate{cell.value, cell.value, cell.value};
                CostEntry e{
                    &row, who, priced_as(*p), false, rate, unit, cost_of(*p, unit, generated, rate, watts, c.cost)};
                if (e.cost.figures.empty())
                    note(who, e.cost.notes.empty() ? "no cost" : e.cost.notes.front());
                else
                    out.push_back(std::move(e));
            }
            for (size_t i = 0; i < c.platforms.size() && i < row.predicted.size(); ++i) {
                const Predicted& pr = row.predicted[i];
                if (!pr.value || pr.value->low <= 0) continue;
                const auto& p = c.platforms[i];
                const std::string who = p.id + " (predicted)";
                // A training prediction carries its epoch time and J per item: the whole figure is costed.
                auto cost = pr.training ? predict::throughput_cost(p, *pr.training, c.cost)
                                        : cost_of(p, unit, generated, *pr.value, pr.watts, c.cost);
                CostEntry e{&row, who, priced_as(p), true, *pr.value, unit, std::move(cost)};
                if (e.cost.figures.empty())
                    note(who, e.cost.notes.empty() ? "no cost" : e.cost.notes.front());
                else
                    out.push_back(std::move(e));
            }
        }
    }
    if (missing)
        for (const auto& who : order) missing->push_back(who + ": " + why_not[who]);
    return out;
}

Table detail::cost_table(const Comparison& c) {
    const std::string& cur = c.cost.currency.code;
    std::vector<std::string> missing, inputs;
    const auto entries = cost_entries(c, &missing);
    // Cost per epoch is a column only where a figure has one (training predictions of a data set).
    const bool epochs = std::any_of(entries.begin(), entries.end(), [](const CostEntry& e) {
        return std::any_of(e.cost.figures.begin(), e.cost.figures.end(),
                           [](const predict::CostFigure& f) { return f.what == "cost per epoch"; });
    });
    Table t;
    t.id = "cost";
    t.title = "Cost: throughput per price and cost per million";
    t.header = {"test", "machine or platform, priced as", "throughput", fmt::format("per 1000 {}", cur),
                fmt::format("cost per million ({})", cur)};
    if (epochs) t.header.push_back(fmt::format("cost per epoch ({})", cur));
    t.header.push_back("inputs");
    t.right = {false, false, true, true, true};
    if (epochs) t.right.push_back(true);
    t.right.push_back(false);
    for (const auto& e : entries) {
        std::string per_1000 = "-", per_million = "-", per_epoch = "-", in;
        for (const auto& f : e.cost.figures) {
            if (f.what.starts_with("cost per million"))
                per_million = estimate_text(f.value);
            else if (f.what == "cost per epoch")
                per_epoch = estimate_text(f.value);
            else if (f.what.find(" per 1000 ") != std::string::npos)
                per_1000 = estimate_text(f.value);
            else
                continue;
            in = f.inputs.describe();
        }
        auto at = std::find(inputs.begin(), inputs.end(), in);
        if (at == inputs.end()) at = inputs.insert(at, in);
        const Row& row = *e.row;
        // A predicted platform is priced as itself; a machine as the platform its device is.
        const std::string who = e.predicted ? e.priced_as + " (predicted)" : e.who + " as " + e.priced_as;
        std::vector<std::string> line = {row.workload == "llm" ? row.label : row.workload + " " + row.label, who,
                                         estimate_text(e.rate) + " " + e.rate_unit, per_1000, per_million};
        if (epochs) line.push_back(per_epoch);
        line.push_back("[" + footnote(static_cast<size_t>(at - inputs.begin())) + "]");
        t.rows.push_back(std::move(line));
    }
    for (size_t i = 0; i < inputs.size(); ++i) t.notes.push_back("[" + footnote(i) + "] " + inputs[i]);
    for (const auto& m : missing) t.notes.push_back("No cost for " + m + ".");
    if (t.rows.empty() && missing.empty())
        t.notes.push_back("No llm decode or training rows in these results to cost.");
    t.notes.push_back(fmt::format(
        "Cost per million (generated tokens for llm rows) = (hardware cost per paid hour / utilisation + load power x "
        "energy price) / (throughput x 3600) x 10^6; per 1000 {}: throughput x 1000 / purchase price (purchases "
        "only){}. "
        "Load power: the row's measured average where a meter was read, else the prediction's or the spec's "
        "(docs/metrics.md, \"Cost\"). Set with --cost-basis, --currency, --energy-price, --utilisation, --years.",
        cur, epochs ? "; cost per epoch: the cost per busy hour x the predicted epoch time in hours" : ""));
    return t;
}

}  // namespace versus::report
