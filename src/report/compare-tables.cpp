#include "report/compare.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "base/text.hpp"
#include "core/params.hpp"
#include "core/printers.hpp"
#include "predict/fit.hpp"
#include "predict/throughput.hpp"
#include "report/compare-detail.hpp"
#include "report/summary-tables.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

Table machines_table(const Comparison& c) {
    Table t;
    t.id = "machines";
    t.title = "Machines";
    t.header = {"#", "machine", "device", "memory", "CPU", "GPU", "OS", "build", "versus", "threads", "records", "file"};
    t.right = {false, false, false, false, false, false, false, false, false, false, true, false};
    auto row_of = [&](const System& s) {
        std::string threads;
        for (int64_t x : s.threads) threads += (threads.empty() ? "" : ",") + std::to_string(x);
        std::string versions, files;
        for (const auto& v : s.versions) versions += (versions.empty() ? "" : ", ") + v;
        for (const auto& f : s.files) files += (files.empty() ? "" : ", ") + f;
        return std::vector<std::string>{s.number ? std::to_string(s.number) : "-",
                                        s.label,
                                        s.device.empty() ? "-" : s.device,
                                        s.memory_kind.empty() ? "-" : s.memory_kind,
                                        s.cpu,
                                        s.gpu.empty() ? "-" : s.gpu,
                                        s.os,
                                        s.build_type,
                                        versions,
                                        threads.empty() ? "-" : threads,
                                        fmt::format("{} ({} ok)", s.n_records, s.n_ok),
                                        files};
    };
    for (size_t i : measured_systems(c)) t.rows.push_back(row_of(c.systems[i]));
    for (const auto& s : c.systems)
        if (s.number == 0) t.rows.push_back(row_of(s));
    if (c.baseline >= 0)
        t.notes.push_back(fmt::format("Ratios are against [{}] {} (--baseline).", c.systems[c.baseline].number,
                                      c.systems[c.baseline].label));
    for (const auto& s : c.systems)
        if (s.build_type.find("Debug") != std::string::npos || s.build_type.find("san") != std::string::npos)
            t.notes.push_back(fmt::format("{}: a {} build; its figures are not comparable with a release build.", s.label,
                                          s.build_type));
    for (size_t i : measured_systems(c))
        if (!c.systems[i].caution.empty())
            t.notes.push_back(fmt::format("Caution for {}: {}.", machine_name(c.systems[i]), c.systems[i].caution));
    return t;
}

namespace {

std::string capacity_of(const Comparison& c, size_t sys) {
    static const std::regex avail(R"(, ([0-9.]+) (B|KiB|MiB|GiB|TiB) available)");
    for (size_t i = 0; i < c.inputs.records.size(); ++i) {
        const Record& r = c.inputs.records[i];
        if (system_key(r) != system_key(c.systems[sys])) continue;
        if (has_value(r, "mem_budget_bytes")) return base::human_bytes(r.num("mem_budget_bytes"));
        std::smatch m;
        const std::string reason = r.str("reason");
        if (std::regex_search(reason, m, avail)) return m[1].str() + " " + m[2].str() + " (from a refusal)";
    }
    return "not recorded";
}

std::string transfer_of(const Comparison& c, const Generation& g, size_t sys) {
    std::map<std::string, std::pair<int64_t, double>> by_mode;  // mode -> (largest size, best GB/s there)
    std::vector<std::string> order;
    for (const auto& row : g.rows) {
        if (row.workload != "transfer" || !row.cells[sys].ok) continue;
        const Record& r = *cell_record(c, row.cells[sys]);
        const std::string mode = r.str("mode");
        const int64_t size = size_param(r);
        const double gbps = r.num("gbps");
        auto it = by_mode.find(mode);
        if (it == by_mode.end()) {
            order.push_back(mode);
            by_mode[mode] = {size, gbps};
        } else if (size > it->second.first) {
            it->second = {size, gbps};
        } else if (size == it->second.first) {
            it->second.second = std::max(it->second.second, gbps);
        }
    }
    std::string out;
    for (const auto& m : order)
        out += (out.empty() ? "" : ", ") + fmt::format("{} {} GB/s", m, num(by_mode[m].second));
    return out.empty() ? "-" : out;
}

// A value table: one column per machine, then the predicted platforms. `value` gives a cell's text
// (empty: "-"), `pred` a prediction's.
Table figure_table(const Comparison& c, const std::vector<const Row*>& rows, const std::string& id,
                   const std::string& title, const std::function<std::string(const Row&, const Cell&)>& value,
                   const std::function<std::string(const Predicted&)>& pred, bool with_unit) {
    Table t;
    t.id = id;
    t.title = title;
    t.header = {"test"};
    t.right = {false};
    if (with_unit) {
        t.header.push_back("unit");
        t.right.push_back(false);
    }
    const auto systems = systems_in(c, rows);
    for (size_t s : systems) {
        t.header.push_back(machine_name(c.systems[s]));
        t.right.push_back(true);
    }
    std::vector<size_t> plats;
    for (size_t p = 0; p < c.platforms.size(); ++p)
        if (std::any_of(rows.begin(), rows.end(), [&](const Row* r) { return !pred(r->predicted[p]).empty(); })) {
            plats.push_back(p);
            t.header.push_back(c.platforms[p].id + " (predicted)");
            t.right.push_back(true);
        }
    for (const Row* r : rows) {
        std::vector<std::string> line = {r->workload == "llm" ? r->label : r->workload + " " + r->label};
        if (with_unit) line.push_back(r->unit);
        for (size_t s : systems) {
            const std::string v = r->cells[s].ok ? value(*r, r->cells[s]) : "";
            line.push_back(v.empty() ? "-" : v);
        }
        for (size_t p : plats) {
            const std::string v = pred(r->predicted[p]);
            line.push_back(v.empty() ? "-" : v);
        }
        t.rows.push_back(std::move(line));
    }
    return t;
}

// The variant of a workload a support row stands for: its dtype, else its weight type, mode or kernel.
std::string support_variant(const Record& r) {
    for (const char* f : {"dtype", "type", "mode", "impl"})
        if (has_value(r, f)) return r.str(f);
    return "";
}

}  // namespace

Table detail::architecture_table(const Comparison& c) {
    Table t;
    t.id = "architecture";
    t.title = "Architecture";
    t.header = {"machine", "memory", "bandwidth GB/s", "usable by the accelerator", "host<->device"};
    t.right = {false, false, true, false, false};
    const Generation* g = main_generation(c);
    for (size_t s : measured_systems(c)) {
        const System& sys = c.systems[s];
        std::string bw = "-";
        if (g) {
            Best b = bandwidth_of(c, *g, s);
            if (b.found) {
                const Record& r = *cell_record(c, b.row->cells[s]);
                bw = fmt::format("{} ({} {})", num(b.value), r.str("op"), core::format_size(size_param(r)));
            } else {
                // The llm workload's reference bandwidth, when no STREAM row ran.
                for (const auto& row : g->rows)
                    if (row.cells[s].ok && has_value(*cell_record(c, row.cells[s]), "bandwidth_gbps")) {
                        bw = num(cell_record(c, row.cells[s])->num("bandwidth_gbps")) + " (llm reference)";
                        break;
                    }
            }
        }
        const std::string link = g ? transfer_of(c, *g, s) : "-";
        t.rows.push_back({machine_name(sys), sys.memory_kind.empty() ? "-" : sys.memory_kind, bw, capacity_of(c, s),
                          link});
    }
    for (const auto& p : c.platforms) {
        std::string rule;
        const double budget = predict::device_budget_bytes(p, {}, &rule);
        std::string link;
        if (p.memory_kind == predict::MemoryKind::UNIFIED) link = "zero-copy (unified memory)";
        else if (p.host_link_GBps) link = fmt::format("{} {} GB/s (spec)", p.host_link, num(*p.host_link_GBps));
        else link = p.host_link.empty() ? "-" : p.host_link;
        t.rows.push_back({p.id + " (spec)", std::string(predict::memory_kind_name(p.memory_kind)),
                          fmt::format("{} (spec)", num(p.mem_bw_GBps)),
                          fmt::format("{} of {:g} GB ({})", base::human_bytes(budget), p.memory_GB, rule), link});
    }
    t.notes.push_back("Bandwidth: the best STREAM figure at the largest working set each machine ran; host<->device: the "
                      "transfer workload at its largest size, best direction, per mode (pinned/pageable copies cross a "
                      "link, zero-copy reads memory the host shares).");
    t.notes.push_back("Usable by the accelerator: what the device reported as its budget, read from a refusal "
                      "(\"needs X, Y available\") where no record carries it.");
    return t;
}

Table detail::performance_table(const Comparison& c) {
    const Generation* g = main_generation(c);
    const auto rows = rows_where(g, [](const Row& r) {
        return r.workload == "llm" || r.workload.rfind("train", 0) == 0 || r.field == "images_per_s";
    });
    Table t = figure_table(
        c, rows, "performance", "Performance: inference (and training) throughput",
        [](const Row&, const Cell& cell) { return num(cell.value); },
        [](const Predicted& p) { return p.value ? predict::format_estimate(*p.value) : p.note; }, true);
    if (rows.empty()) t.notes.push_back("No llm or training rows in these results (versus run measures the llm workload).");
    else t.notes.push_back("pp: prefill of a prompt of that many tokens; tg: generating that many tokens; @d: after that "
                           "many tokens of context.");
    if (std::any_of(rows.begin(), rows.end(), [](const Row* r) {
            return std::any_of(r->predicted.begin(), r->predicted.end(), [](const Predicted& p) { return p.training; });
        }))
        t.notes.push_back("Training predictions are the predictor's for that model and data set at its own precision "
                          "(mixed on GPUs, fp32 on CPUs), whatever the measured row's batch and precision "
                          "(docs/predictor.md).");
    return t;
}

Table detail::energy_table(const Comparison& c) {
    const Generation* g = main_generation(c);
    const auto rows = rows_where(g, [](const Row& r) {
        if (r.workload != "llm") return false;
        return std::any_of(r.cells.begin(), r.cells.end(), [](const Cell& x) { return x.watts.has_value(); }) ||
               std::any_of(r.predicted.begin(), r.predicted.end(),
                           [](const Predicted& p) { return p.joules_per_token.has_value(); });
    });
    Table t = figure_table(
        c, rows, "energy", "Energy: power and J/token",
        [](const Row&, const Cell& cell) {
            if (!cell.watts) return std::string("not measured");
            return fmt::format("{} W, {} J/token", num(*cell.watts),
                               cell.joules_per_token ? num(*cell.joules_per_token) : "-");
        },
        [](const Predicted& p) {
            return p.joules_per_token ? predict::format_estimate(*p.joules_per_token) + " J/token" : std::string();
        },
        false);
    if (g)
        for (size_t s : measured_systems(c)) {
            const bool any = std::any_of(g->rows.begin(), g->rows.end(), [&](const Row& r) { return r.cells[s].watts.has_value(); });
            if (!any && !c.systems[s].energy_reason.empty())
                t.notes.push_back(fmt::format("{}: no power reading ({}).", machine_name(c.systems[s]),
                                              c.systems[s].energy_reason));
        }
    if (rows.empty() && t.notes.empty()) t.notes.push_back("No power readings in these results.");
    t.notes.push_back("J/token = average power over the measurement / tokens per second; predicted: the spec's load power "
                      "over the predicted tokens/s (docs/predictor.md, \"Energy\").");
    return t;
}

Table detail::support_table(const Comparison& c) {
    Table t;
    t.id = "support";
    t.title = "Software support";
    t.header = {"workload", "variant"};
    t.right = {false, false};
    const Generation* g = main_generation(c);
    if (!g) return t;
    // Records of the main generation by (workload, variant) and machine; a backend that was not available
    // wrote one row per workload without parameters, which stands for every variant.
    std::vector<std::pair<std::string, std::string>> keys;
    std::map<std::pair<std::string, std::string>, std::map<size_t, std::vector<const Record*>>> by;
    std::map<std::pair<std::string, size_t>, const Record*> unavailable;
    std::set<size_t> systems;
    std::map<std::string, size_t> sys_of;
    for (size_t s = 0; s < c.systems.size(); ++s) sys_of[system_key(c.systems[s])] = s;
    for (const auto& r : c.inputs.records) {
        if (r.integer("schema_version") != g->schema_version || r.str("versus_version") != g->versus_version) continue;
        const size_t s = sys_of[system_key(r)];
        systems.insert(s);
        const std::string w = r.str("workload");
        if (r.str("key").empty()) {
            unavailable[{w, s}] = &r;
            if (std::none_of(keys.begin(), keys.end(), [&](const auto& k) { return k.first == w; })) keys.push_back({w, ""});
            continue;
        }
        const std::pair<std::string, std::string> k{w, support_variant(r)};
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
        by[k][s].push_back(&r);
    }
    // A workload-wide placeholder row goes once real variants exist.
    std::vector<std::pair<std::string, std::string>> shown;
    for (const auto& k : keys) {
        const bool has_variants = std::any_of(keys.begin(), keys.end(), [&](const auto& o) { return o.first == k.first && o != k; });
        if (k.second.empty() && has_variants && !by.count(k)) continue;
        shown.push_back(k);
    }
    std::stable_sort(shown.begin(), shown.end(), [&](const auto& a, const auto& b) {
        auto pos = [&](const std::string& w) {
            return std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == w; }) - keys.begin();
        };
        return pos(a.first) < pos(b.first);
    });
    std::vector<size_t> cols;
    for (size_t s : measured_systems(c))
        if (systems.count(s)) cols.push_back(s);
    for (size_t s = 0; s < c.systems.size(); ++s)
        if (c.systems[s].number == 0 && systems.count(s)) cols.push_back(s);
    for (size_t s : cols) {
        t.header.push_back(c.systems[s].number ? machine_name(c.systems[s]) : c.systems[s].label);
        t.right.push_back(false);
    }
    for (const auto& k : shown) {
        std::vector<std::string> line = {k.first, k.second.empty() ? "-" : k.second};
        for (size_t s : cols) {
            std::vector<const Record*> rs;
            if (auto it = by.find(k); it != by.end())
                if (auto jt = it->second.find(s); jt != it->second.end()) rs = jt->second;
            if (rs.empty()) {
                auto u = unavailable.find({k.first, s});
                line.push_back(u == unavailable.end() ? "-" : "skipped: " + u->second->str("reason"));
                continue;
            }
            int ok = 0, other = 0;
            std::string first_reason, first_status;
            for (const Record* r : rs) {
                if (is_ok(*r)) {
                    ++ok;
                } else {
                    ++other;
                    if (first_status.empty()) {
                        first_status = r->str("status");
                        first_reason = r->str("reason");
                    }
                }
            }
            std::string cell;
            if (other == 0) cell = "ok";
            else {
                cell = first_status + (first_reason.empty() ? "" : ": " + first_reason);
                if (ok > 0) cell = fmt::format("{} ok, {} {}", ok, other, cell);
            }
            line.push_back(cell);
        }
        t.rows.push_back(std::move(line));
    }
    t.notes.push_back("ok: every row of that variant ran and passed its check; otherwise the status and the reason the "
                      "row gave (a skipped row says what the backend lacks).");
    return t;
}

std::vector<Table> headline_tables(const Comparison& c) {
    if (!main_generation(c)) return {};
    std::vector<Table> out = {architecture_table(c), performance_table(c), energy_table(c), cost_table(c),
                              support_table(c),      needs_table(c)};
    // The framework and product-need tables, each cell backed by these records or the predicted platforms.
    std::vector<std::string> ids;
    for (const auto& p : c.platforms) ids.push_back(p.id);
    for (auto& t : summary_tables(c.inputs.records, ids.empty() ? PredictedFigures() : predictor_figures(ids)))
        out.push_back(std::move(t));
    if (c.generations.size() > 1)
        for (auto& t : out)
            t.notes.push_back(fmt::format("From the versus {} records (schema {}); other versions are listed separately.",
                                          c.generations[0].versus_version, c.generations[0].schema_version));
    return out;
}

}  // namespace versus::report
