#include "report/compare.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/printers.hpp"
#include "llm/config.hpp"
#include "predict/fit.hpp"
#include "predict/throughput.hpp"
#include "report/compare-detail.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

namespace {

std::string pred_text(const Predicted& p, const std::string& measured_bound) {
    if (!p.value) return p.note.empty() ? "-" : p.note;
    std::string s = predict::format_estimate(*p.value);
    if (!p.bound.empty() && measured_bound.rfind(p.bound, 0) != 0) s += " [" + p.bound + "]";
    return s;
}

bool any_prediction(const std::vector<const Row*>& rows, size_t p) {
    return std::any_of(rows.begin(), rows.end(), [&](const Row* r) { return r->predicted[p].value.has_value(); });
}

}  // namespace

std::vector<Table> comparison_tables(const Comparison& c) {
    std::vector<Table> out;
    for (size_t g = 0; g < c.generations.size(); ++g) {
        const auto& gen = c.generations[g];
        std::vector<std::string> workloads;
        for (const auto& r : gen.rows)
            if (std::find(workloads.begin(), workloads.end(), r.workload) == workloads.end()) workloads.push_back(r.workload);
        for (const auto& w : workloads) {
            std::vector<const Row*> rows;
            for (const auto& r : gen.rows)
                if (r.workload == w) rows.push_back(&r);
            Table t;
            t.id = fmt::format("compare-{}-{}", g + 1, w);
            t.title = "Side by side: " + w;
            if (c.generations.size() > 1)
                t.title += fmt::format(" (versus {}, schema {})", gen.versus_version, gen.schema_version);
            t.header = {"test", "unit"};
            t.right = {false, false};
            const auto systems = systems_in(c, rows);
            for (size_t s : systems) {
                t.header.push_back(machine_name(c.systems[s]));
                t.right.push_back(true);
            }
            const bool base_here = c.baseline >= 0 && std::find(systems.begin(), systems.end(), static_cast<size_t>(c.baseline)) != systems.end();
            std::vector<size_t> ratio_cols;
            if (base_here)
                for (size_t s : systems)
                    if (static_cast<int>(s) != c.baseline) {
                        ratio_cols.push_back(s);
                        t.header.push_back(fmt::format("[{}]/[{}]", c.systems[s].number, c.systems[c.baseline].number));
                        t.right.push_back(true);
                    }
            std::vector<size_t> plats;
            for (size_t p = 0; p < c.platforms.size(); ++p)
                if (any_prediction(rows, p)) {
                    plats.push_back(p);
                    t.header.push_back(c.platforms[p].id + " (predicted)");
                    t.right.push_back(true);
                }
            t.header.push_back("bound");
            t.right.push_back(false);
            for (const Row* r : rows) {
                std::vector<std::string> line = {r->label, r->unit};
                for (size_t s : systems) {
                    const Cell& cell = r->cells[s];
                    if (cell.ok)
                        line.push_back(value_text(cell.value, cell.error, cell.unstable) + (cell.note.empty() ? "" : " " + cell.note));
                    else
                        line.push_back(cell.status.empty() ? "-" : cell.status);
                }
                for (size_t s : ratio_cols) {
                    const Cell &a = r->cells[s], &b = r->cells[c.baseline];
                    if (!a.ok || !b.ok || a.value <= 0 || b.value <= 0) {
                        line.push_back("-");
                        continue;
                    }
                    // Always "times as fast": for a latency the baseline's time over this one's.
                    const double ratio = r->lower_is_better ? b.value / a.value : a.value / b.value;
                    line.push_back(fmt::format("{:.2f}x", ratio));
                }
                for (size_t p : plats) line.push_back(pred_text(r->predicted[p], r->bound));
                line.push_back(r->bound.empty() ? "-" : r->bound);
                t.rows.push_back(std::move(line));
            }
            if (std::any_of(rows.begin(), rows.end(), [](const Row* r) {
                    return std::any_of(r->cells.begin(), r->cells.end(), [](const Cell& x) { return !x.note.empty() && x.ok; });
                }))
                t.notes.push_back("@Nt: the best of the thread counts that machine ran, at N threads.");
            if (std::any_of(rows.begin(), rows.end(), [](const Row* r) {
                    return std::any_of(r->cells.begin(), r->cells.end(), [](const Cell& x) { return x.unstable; });
                }))
                t.notes.push_back("!: unstable (MdAPE above 5%); rerun on a quiet machine or with --time.");
            if (!ratio_cols.empty())
                t.notes.push_back(fmt::format("[n]/[{}]: times as fast as [{}]{}.", c.systems[c.baseline].number,
                                              c.systems[c.baseline].number,
                                              std::any_of(rows.begin(), rows.end(), [](const Row* r) { return r->lower_is_better; })
                                                  ? " (for times: the baseline's time over theirs)"
                                                  : ""));
            if (!plats.empty())
                t.notes.push_back("Predicted: median (range) from versus predict; [bound] where the prediction's limit differs "
                                  "from the measured one.");
            if (g > 0)
                t.notes.push_back(fmt::format("versus {} records: not matched with those of versus {} (the work a test "
                                              "counts may differ between versions); rerun both machines with one version "
                                              "to compare them.",
                                              gen.versus_version, c.generations[0].versus_version));
            out.push_back(std::move(t));
        }
    }
    return out;
}

std::vector<Table> all_tables(const Comparison& c) {
    std::vector<Table> out;
    if (!c.systems.empty()) out.push_back(machines_table(c));
    for (auto& t : headline_tables(c)) out.push_back(std::move(t));
    for (auto& t : comparison_tables(c)) out.push_back(std::move(t));
    for (auto& t : parity_tables(c)) out.push_back(std::move(t));
    return out;
}

std::string render_text(const Comparison& c, bool md) {
    std::string out = md ? "# versus compare\n\n" : "versus compare\n";
    for (const auto& f : c.inputs.files) out += (md ? "- " : "  ") + f + "\n";
    if (!c.inputs.problems.empty()) {
        out += md ? "\nSkipped:\n\n" : "skipped:\n";
        for (const auto& p : c.inputs.problems) out += (md ? "- " : "  ") + p + "\n";
    }
    for (const auto& t : all_tables(c)) {
        out += md ? "\n## " + t.title + "\n\n" : "\n" + t.title + "\n";
        if (!t.rows.empty()) {
            if (md) {
                // A '|' in a cell (a reason, a path) would end the cell in Markdown.
                auto esc = [](std::vector<std::string> cells) {
                    for (auto& x : cells)
                        for (size_t p = x.find('|'); p != std::string::npos; p = x.find('|', p + 2)) x.replace(p, 1, "\\|");
                    return cells;
                };
                std::vector<std::vector<std::string>> rows;
                for (const auto& r : t.rows) rows.push_back(esc(r));
                out += core::render_grid(esc(t.header), rows, t.right, true);
            } else {
                out += core::render_grid(t.header, t.rows, t.right, false);
            }
        } else {
            out += md ? "Nothing to show.\n" : "  nothing to show\n";
        }
        if (!t.notes.empty()) {
            out += md ? "\n" : "";
            for (const auto& n : t.notes) out += (md ? "" : "  ") + n + (md ? "\n\n" : "\n");
            if (md) out.pop_back();
        }
    }
    return out;
}

nlohmann::ordered_json to_json(const Comparison& c) {
    using J = nlohmann::ordered_json;
    auto est = [](const predict::Estimate& e) { return J{{"value", e.value}, {"low", e.low}, {"high", e.high}}; };
    J j;
    j["files"] = c.inputs.files;
    j["problems"] = c.inputs.problems;
    J systems = J::array();
    for (const auto& s : c.systems) {
        systems.push_back({{"number", s.number},   {"label", s.label},     {"host", s.host},
                           {"backend", s.backend}, {"device", s.device},   {"memory_kind", s.memory_kind},
                           {"os", s.os},           {"cpu", s.cpu},         {"gpu", s.gpu},
                           {"build_type", s.build_type}, {"versus_versions", s.versions}, {"run_ids", s.run_ids},
                           {"threads", s.threads}, {"first_time", s.first_time}, {"last_time", s.last_time},
                           {"records", s.n_records}, {"ok", s.n_ok}, {"caution", s.caution}});
    }
    j["machines"] = systems;
    j["baseline"] = c.baseline >= 0 ? J(c.systems[c.baseline].number) : J(nullptr);
    J plats = J::array();
    for (const auto& p : c.platforms) plats.push_back(p.id);
    j["predicted_platforms"] = plats;
    J gens = J::array();
    for (const auto& g : c.generations) {
        J rows = J::array();
        for (const auto& r : g.rows) {
            J cells = J::array();
            for (size_t s = 0; s < r.cells.size(); ++s) {
                const Cell& cell = r.cells[s];
                if (cell.record < 0) continue;
                const Record& rec = c.inputs.records[static_cast<size_t>(cell.record)];
                J x = {{"machine", c.systems[s].number}, {"label", c.systems[s].label}, {"status", cell.status}};
                if (cell.ok) {
                    x["value"] = cell.value;
                    x["error"] = cell.error;
                    x["unstable"] = cell.unstable;
                    if (cell.watts) x["power_w"] = *cell.watts;
                    if (cell.joules_per_token) x["joules_per_token"] = *cell.joules_per_token;
                }
                x["threads"] = has_value(rec, "threads") ? J(rec.integer("threads")) : J(nullptr);
                x["run_id"] = rec.str("run_id");
                if (!cell.ok) x["reason"] = rec.str("reason");
                cells.push_back(x);
            }
            J preds = J::array();
            for (size_t p = 0; p < r.predicted.size(); ++p) {
                const auto& pr = r.predicted[p];
                J x = {{"platform", c.platforms[p].id}};
                if (pr.value) {
                    x["value"] = est(*pr.value);
                    x["bound"] = pr.bound;
                } else {
                    x["note"] = pr.note;
                }
                if (pr.joules_per_token) x["joules_per_token"] = est(*pr.joules_per_token);
                preds.push_back(x);
            }
            rows.push_back({{"workload", r.workload}, {"test", r.label}, {"identity", r.identity}, {"unit", r.unit},
                            {"field", r.field}, {"lower_is_better", r.lower_is_better}, {"bound", r.bound},
                            {"cells", cells}, {"predicted", preds}});
        }
        gens.push_back({{"schema_version", g.schema_version}, {"versus_version", g.versus_version},
                        {"records", g.n_records}, {"rows", rows}});
    }
    j["generations"] = gens;
    J parity = J::array();
    for (const auto& p : c.parity)
        parity.push_back({{"run", p.b}, {"against", p.a}, {"same_prompt", p.same_prompt}, {"steps", p.steps},
                          {"top1_agree", p.top1_agree}, {"first_divergence", p.first_divergence},
                          {"compared_steps", p.compared_steps}, {"max_abs_diff", p.max_abs_diff},
                          {"kl_mean", p.kl_mean}, {"kl_max", p.kl_max}, {"top5_overlap", p.top5_overlap}});
    j["parity"] = parity;
    J cost = J::array();
    for (const auto& e : cost_entries(c))
        cost.push_back({{"workload", e.row->workload}, {"test", e.row->label}, {"machine", e.who}, {"priced_as", e.priced_as},
                        {"predicted", e.predicted}, {"rate", est(e.rate)}, {"rate_unit", e.rate_unit},
                        {"figures", predict::cost_json(e.cost)}});
    j["cost"] = cost;
    J tables = J::object();
    for (const auto& t : headline_tables(c))
        tables[t.id] = {{"title", t.title}, {"header", t.header}, {"rows", t.rows}, {"notes", t.notes}};
    j["headline_tables"] = tables;
    return j;
}

// ---------------------------------------------------------------------------------------------------
// Chart data

std::vector<DeviceRoofline> rooflines(const Comparison& c) {
    std::vector<DeviceRoofline> out;
    const Generation* g = main_generation(c);
    if (!g) return out;
    for (size_t s : measured_systems(c)) {
        DeviceRoofline d;
        d.system = machine_name(c.systems[s]);
        d.color = c.systems[s].number - 1;
        double peak = 0, best = 0;
        for (const auto& row : g->rows) {
            if (!row.cells[s].ok) continue;
            const Record& r = *cell_record(c, row.cells[s]);
            const double flops = r.num("flops"), bytes = r.num("bytes"), gflops = r.num("gflops");
            if (flops > 0 && bytes > 0 && gflops > 0) {
                d.points.push_back({flops / bytes, gflops, row.workload + " " + row.label});
                best = std::max(best, gflops);
            }
            // The peak the runner measured % of peak against: gflops / (peak_pct / 100).
            if (has_value(r, "peak_pct") && r.num("peak_pct") > 0 && gflops > 0)
                peak = std::max(peak, gflops * 100.0 / r.num("peak_pct"));
        }
        if (d.points.empty()) continue;
        double bw = 0;
        Best b = bandwidth_of(c, *g, s);
        if (b.found) bw = b.value;
        else
            for (const auto& row : g->rows)
                if (row.cells[s].ok) bw = std::max(bw, cell_record(c, row.cells[s])->num("bandwidth_gbps"));
        d.roof = {c.systems[s].label, peak > 0 ? peak : best, bw,
                  peak > 0 ? "the peak behind its % of peak" : "its best GFLOP/s"};
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<Roof> platform_roofs(const Comparison& c) {
    std::vector<Roof> out;
    for (const auto& p : c.platforms) {
        // The plain vector rate (FP32), derived from the core count where the spec gives none.
        const auto rates = predict::device_rates(p, predict::Phase::DECODE, llm::parse_file_type("f16"));
        out.push_back({p.id, rates.peak_flops / 1e9, p.mem_bw_GBps, "spec"});
    }
    return out;
}

}  // namespace versus::report
