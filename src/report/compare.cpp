#include "report/compare.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/error.hpp"
#include "core/params.hpp"
#include "core/printers.hpp"
#include "llm/config.hpp"
#include "predict/throughput.hpp"
#include "report/compare-detail.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

int Row::ok_cells() const {
    return static_cast<int>(std::count_if(cells.begin(), cells.end(), [](const Cell& c) { return c.ok; }));
}

std::string test_identity(const Record& r) {
    std::string id = r.str("workload") + "|";
    bool first = true;
    for (const auto& [k, v] : test_params(r)) {
        id += (first ? "" : ",") + k + "=" + v;
        first = false;
    }
    return id;
}

std::string test_label(const Record& r) {
    const auto params = test_params(r);
    std::map<std::string, std::string> p(params.begin(), params.end());
    std::vector<std::string> parts;
    std::set<std::string> used;
    auto take = [&](const std::string& k) -> std::string {
        used.insert(k);
        auto it = p.find(k);
        return it == p.end() ? std::string() : it->second;
    };
    if (r.str("workload") == "llm") {
        // llama-bench's names: pp512 for a prompt of 512, tg128 for 128 generated tokens.
        const std::string gguf = take("gguf"), model = take("model"), type = take("type"), phase = take("phase");
        const std::string n_prompt = take("n_prompt"), n_gen = take("n_gen"), depth = take("depth"), seed = take("seed");
        if (!gguf.empty()) parts.push_back(gguf);
        else {
            if (!model.empty()) parts.push_back(model);
            if (!type.empty()) parts.push_back(type);
        }
        if (phase == "prefill") parts.push_back("pp" + n_prompt);
        else if (phase == "decode") parts.push_back("tg" + n_gen);
        else if (!phase.empty()) parts.push_back(phase);
        if (!depth.empty() && depth != "0") parts.push_back("@d" + depth);
        if (!seed.empty() && seed != "1" && gguf.empty()) parts.push_back("seed " + seed);
    }
    for (const auto& [k, v] : params) {
        if (used.count(k)) continue;
        if (k.size() > 6 && k.ends_with("_bytes")) {
            std::string shown = v;
            try {
                shown = core::format_size(std::stoll(v));
            } catch (const std::exception&) {
            }
            parts.push_back(k.substr(0, k.size() - 6) + "=" + shown);
        } else {
            parts.push_back(k + "=" + v);
        }
    }
    std::string out;
    for (const auto& s : parts) out += (out.empty() ? "" : " ") + s;
    return out.empty() ? "(all)" : out;
}

namespace {

Cell choose_cell(const std::vector<int>& idx, const std::vector<Record>& records, const std::string& field,
                 bool lower_is_better) {
    Cell cell;
    if (idx.empty()) return cell;
    auto later = [&](int a, int b) {  // a is later than b: by time, then by position
        const std::string ta = records[a].str("time"), tb = records[b].str("time");
        return ta != tb ? ta > tb : a > b;
    };
    // The latest record per thread count, then the best thread count.
    std::map<int64_t, int> latest;
    for (int i : idx) {
        const Record& r = records[i];
        if (!is_ok(r) || !has_value(r, field)) continue;
        const int64_t t = has_value(r, "threads") ? r.integer("threads") : -1;
        auto it = latest.find(t);
        if (it == latest.end() || later(i, it->second)) latest[t] = i;
    }
    if (latest.empty()) {
        int last = idx.front();
        for (int i : idx)
            if (later(i, last)) last = i;
        cell.record = last;
        cell.status = records[last].str("status", "error");
        cell.note = cell.status;
        return cell;
    }
    int best = latest.begin()->second;
    for (const auto& [t, i] : latest) {
        const double v = records[i].num(field), b = records[best].num(field);
        if (lower_is_better ? v < b : v > b) best = i;
    }
    const Record& r = records[best];
    cell.record = best;
    cell.ok = true;
    cell.status = "ok";
    cell.value = r.num(field);
    cell.error = cell.value * r.num("mdape_pct") / 100.0;
    cell.unstable = has_value(r, "unstable") && r.num("unstable") != 0;
    if (latest.size() > 1 && has_value(r, "threads")) cell.note = fmt::format("@{}t", r.integer("threads"));
    if (has_value(r, "power_w") && r.num("power_w") > 0) {
        cell.watts = r.num("power_w");
        if (has_value(r, "tokens_per_s") && r.num("tokens_per_s") > 0)
            cell.joules_per_token = *cell.watts / r.num("tokens_per_s");
    }
    return cell;
}

Predicted predict_cell(const Record& r, const predict::Platform& p) {
    Predicted out;
    const std::string w = r.str("workload");
    try {
        if (w == "llm") {
            if (!r.str("gguf").empty()) {
                out.note = "GGUF: predict with versus predict --gguf";
                return out;
            }
            predict::LlmQuery q;
            q.model_name = r.str("model");
            q.model = llm::preset_config(q.model_name);
            q.ftype = llm::parse_file_type(r.str("type"));
            q.ftype.pure = true;  // versus's own presets keep every matrix in the one type
            const bool decode = r.str("phase") == "decode";
            q.n_prompt = decode ? 1 : std::max<int64_t>(1, r.integer("n_prompt"));
            q.n_gen = decode ? std::max<int64_t>(1, r.integer("n_gen")) : 1;
            q.depth = std::max<int64_t>(0, r.integer("depth"));
            const auto pred = predict::predict_llm(p, q, predict::Calibration::builtin());
            const auto& phase = decode ? pred.decode : pred.prefill;
            if (!phase) {
                out.note = "does not fit";
                return out;
            }
            out.value = phase->tokens_per_s;
            out.bound = bound_word(phase->bound);
            if (pred.watts) {
                out.watts = pred.watts;
                const auto& t = phase->tokens_per_s;
                out.joules_per_token = predict::Estimate{pred.watts->value / t.value, pred.watts->low / t.high,
                                                         pred.watts->high / t.low};
            }
        } else if (w == "gemm") {
            std::string dtype = r.str("dtype");
            if (dtype == "i8") dtype = "int8";
            if (dtype != "f32" && dtype != "f16" && dtype != "bf16" && dtype != "int8") {
                out.note = "no " + dtype + " model";
                return out;
            }
            const auto t = predict::predict_gemm(p, dtype);
            out.value = t.value;
            out.bound = "compute";
        } else if (w == "train-resnet50" || w == "train-gpt") {
            // The predictor's training figures at its own precision (mixed on GPUs, fp32 on CPUs).
            out.training = w == "train-resnet50" ? predict::predict_resnet50_training(p, predict::data_set(r.str("dataset")))
                                                 : predict::predict_gpt_training(p, r.str("model"), r.integer("seq"));
            out.value = out.training->value;
            out.bound = "compute";
        } else if (w == "membw") {
            if (r.integer("size_bytes") < DRAM_SIZE_BYTES) {
                out.note = "cache-sized";
                return out;
            }
            out.value = predict::predict_bandwidth(p).value;
            out.bound = "bandwidth";
        }
    } catch (const UsageError&) {
        out.note = "no prediction";
    }
    return out;
}

// One line for a row: what limits it on the machines that ran it.
std::string row_bound(const Comparison& c, const Row& row) {
    std::vector<std::pair<size_t, BoundEvidence>> ev;
    for (size_t s = 0; s < row.cells.size(); ++s)
        if (row.cells[s].ok)
            if (const Record* r = cell_record(c, row.cells[s])) {
                BoundEvidence e = measured_bound(*r);
                if (!e.bound.empty()) ev.emplace_back(s, e);
            }
    if (ev.empty()) {
        for (const auto& p : row.predicted)
            if (p.value && !p.bound.empty()) return p.bound + " (predicted)";
        return "";
    }
    std::set<std::string> kinds;
    for (const auto& [s, e] : ev) kinds.insert(e.bound);
    if (kinds.size() == 1) {
        std::string metric;
        double lo = 1e300, hi = -1;
        for (const auto& [s, e] : ev)
            if (e.pct >= 0) {
                metric = e.metric;
                lo = std::min(lo, e.pct);
                hi = std::max(hi, e.pct);
            }
        if (hi < 0) return *kinds.begin();
        if (metric == "peak") return fmt::format("{} ({} of peak)", *kinds.begin(), pct_range(lo, hi));
        return fmt::format("{} ({} {})", *kinds.begin(), metric, pct_range(lo, hi));
    }
    std::string out;
    for (const auto& [s, e] : ev)
        out += (out.empty() ? "" : "; ") + fmt::format("{} on [{}]", e.bound, c.systems[s].number);
    return out;
}

}  // namespace

namespace {

System new_system(const Record& r) {
    System s;
    s.host = r.str("host", "?");
    s.backend = r.str("backend", "?");
    s.device = r.str("device");
    s.memory_kind = r.str("memory_kind");
    s.os = r.str("os");
    s.cpu = r.str("cpu");
    s.gpu = r.str("gpu");
    s.build_type = r.str("build_type");
    return s;
}

void add_to_system(System& s, const Record& r, const std::string& file) {
    ++s.n_records;
    if (is_ok(r)) ++s.n_ok;
    if (s.memory_kind.empty()) s.memory_kind = r.str("memory_kind");
    if (s.device.empty()) s.device = r.str("device");
    auto add = [](std::vector<std::string>& v, const std::string& x) {
        if (!x.empty() && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
    };
    add(s.versions, r.str("versus_version"));
    add(s.run_ids, r.str("run_id"));
    add(s.files, file);
    if (has_value(r, "threads") && std::find(s.threads.begin(), s.threads.end(), r.integer("threads")) == s.threads.end())
        s.threads.push_back(r.integer("threads"));
    const std::string t = r.str("time");
    if (!t.empty() && (s.first_time.empty() || t < s.first_time)) s.first_time = t;
    if (!t.empty() && t > s.last_time) s.last_time = t;
    if (s.energy_reason.empty() && is_ok(r)) s.energy_reason = r.str("energy_reason");
}

// Machines, in order of first appearance (files in the order given); returns each record's machine.
std::vector<size_t> collect_systems(Comparison& c) {
    const auto& records = c.inputs.records;
    std::map<std::string, size_t> sys_index;
    std::vector<size_t> rec_sys(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        auto it = sys_index.find(system_key(r));
        if (it == sys_index.end()) {
            it = sys_index.emplace(system_key(r), c.systems.size()).first;
            c.systems.push_back(new_system(r));
        }
        rec_sys[i] = it->second;
        add_to_system(c.systems[it->second], r, i < c.inputs.record_files.size() ? c.inputs.record_files[i] : std::string());
    }
    return rec_sys;
}

// Labels: "host backend", with the device or a counter where that is ambiguous; numbers for the machines
// with a measurement.
void label_systems(Comparison& c) {
    std::map<std::string, int> seen;
    for (auto& s : c.systems) ++seen[s.host + " " + s.backend];
    std::map<std::string, int> seen_dev;
    for (auto& s : c.systems) {
        s.label = s.host + " " + s.backend;
        if (seen[s.label] > 1 && !s.device.empty()) s.label += " " + s.device;
        if (++seen_dev[s.label] > 1) s.label += fmt::format(" #{}", seen_dev[s.label]);
    }
    int n = 0;
    for (auto& s : c.systems)
        if (s.n_ok > 0) s.number = ++n;
    for (auto& s : c.systems) std::sort(s.threads.begin(), s.threads.end());
}

using Members = std::vector<std::vector<std::vector<int>>>;  // [row][system] -> records

// Generations of records and the rows within them; returns, per generation, each row's records per machine.
std::vector<Members> group_rows(Comparison& c, const std::vector<size_t>& rec_sys) {
    const auto& records = c.inputs.records;
    std::map<std::string, size_t> gen_index;
    std::vector<std::map<std::string, size_t>> row_index;
    std::vector<Members> members;
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        auto g = gen_index.find(generation_key(r));
        if (g == gen_index.end()) {
            Generation gen;
            gen.schema_version = r.integer("schema_version");
            gen.versus_version = r.str("versus_version");
            g = gen_index.emplace(generation_key(r), c.generations.size()).first;
            c.generations.push_back(std::move(gen));
            row_index.emplace_back();
            members.emplace_back();
        }
        Generation& gen = c.generations[g->second];
        ++gen.n_records;
        if (r.str("key").empty()) continue;  // a backend that was not available: a support row only
        const std::string id = test_identity(r);
        auto ri = row_index[g->second].find(id);
        if (ri == row_index[g->second].end()) {
            Row row;
            row.identity = id;
            row.workload = r.str("workload");
            row.label = test_label(r);
            ri = row_index[g->second].emplace(id, gen.rows.size()).first;
            gen.rows.push_back(std::move(row));
            members[g->second].emplace_back(c.systems.size());
        }
        members[g->second][ri->second][rec_sys[i]].push_back(static_cast<int>(i));
    }
    return members;
}

// Each row's headline unit, one cell per machine, the predictions and the bound; rows nobody measured go
// (the support table shows why).
void fill_rows(Comparison& c, const std::vector<Members>& members) {
    const auto& records = c.inputs.records;
    for (size_t g = 0; g < c.generations.size(); ++g) {
        auto& gen = c.generations[g];
        std::vector<Row> kept;
        for (size_t ri = 0; ri < gen.rows.size(); ++ri) {
            Row row = std::move(gen.rows[ri]);
            // The unit of the first record that has a headline figure.
            for (const auto& idx : members[g][ri])
                for (int i : idx)
                    if (row.field.empty() && is_ok(records[i])) row.field = headline_field(records[i], &row.unit);
            if (row.field.empty()) continue;
            row.lower_is_better = row.field == "latency_us";
            for (size_t s = 0; s < c.systems.size(); ++s)
                row.cells.push_back(choose_cell(members[g][ri][s], records, row.field, row.lower_is_better));
            if (row.ok_cells() == 0) continue;
            const Record* r = first_ok_record(c, row);
            for (const auto& p : c.platforms) row.predicted.push_back(predict_cell(*r, p));
            row.bound = row_bound(c, row);
            kept.push_back(std::move(row));
        }
        gen.rows = std::move(kept);
    }
    // The generation most machines ran first: the headline tables come from it.
    auto machines = [&](const Generation& g) {
        std::set<size_t> s;
        for (const auto& row : g.rows)
            for (size_t i = 0; i < row.cells.size(); ++i)
                if (row.cells[i].ok) s.insert(i);
        return s.size();
    };
    std::stable_sort(c.generations.begin(), c.generations.end(),
                     [&](const Generation& a, const Generation& b) { return machines(a) > machines(b); });
}

void choose_baseline(Comparison& c, int baseline) {
    const auto measured = measured_systems(c);
    const int n_measured = static_cast<int>(measured.size());
    if (n_measured == 0) return;
    if (baseline < 1 || baseline > n_measured) {
        std::string list;
        for (size_t i : measured) list += (list.empty() ? "" : ", ") + machine_name(c.systems[i]);
        throw UsageError("--baseline", fmt::format("there is no machine {}", baseline),
                         fmt::format("choose 1-{}: {}", n_measured, list));
    }
    for (size_t i = 0; i < c.systems.size(); ++i)
        if (c.systems[i].number == baseline) c.baseline = static_cast<int>(i);
}

}  // namespace

Comparison compare(Inputs in, const Options& opt) {
    Comparison c;
    c.inputs = std::move(in);
    const auto rec_sys = collect_systems(c);
    label_systems(c);
    set_cautions(c, rec_sys, opt.here);
    c.cost = opt.cost;
    for (const auto& id : opt.predict) c.platforms.push_back(predict::resolve_platform(id));
    fill_rows(c, group_rows(c, rec_sys));
    choose_baseline(c, opt.baseline);
    for (size_t i = 1; i < c.inputs.generate_runs.size(); ++i)
        c.parity.push_back(compare_generate(c.inputs.generate_runs[0], c.inputs.generate_runs[i]));
    return c;
}

}  // namespace versus::report
