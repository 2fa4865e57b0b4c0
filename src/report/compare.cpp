#include "report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/io.hpp"
#include "base/text.hpp"
#include "core/params.hpp"
#include "core/printers.hpp"
#include "core/results-file.hpp"
#include "llm/config.hpp"
#include "predict/fit.hpp"
#include "predict/throughput.hpp"

namespace versus::report {

using core::Record;

namespace {

// Problems listed per file before the rest is summarised: a wrong file can have a million lines.
constexpr size_t MAX_PROBLEMS_PER_FILE = 20;
// Working sets from this size on are out of every cache (the largest Apple SLC is 96 MB), so a
// STREAM figure there is a memory bandwidth the predictor's figure is comparable with.
constexpr int64_t DRAM_SIZE_BYTES = int64_t{128} << 20;
// Below this share of both the compute and the bandwidth peak, fixed costs (launches, synchronisation,
// thread wake-ups) are what a row measures.
constexpr double OVERHEAD_PCT = 10.0;

std::vector<std::pair<std::string, std::string>> key_items(const std::string& key) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start < key.size()) {
        size_t comma = key.find(',', start);
        if (comma == std::string::npos) comma = key.size();
        const std::string item = key.substr(start, comma - start);
        const size_t eq = item.find('=');
        if (eq != std::string::npos) out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
        start = comma + 1;
    }
    return out;
}

std::string basename_of(const std::string& path) {
    const size_t slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The parameters that define a test: the key less `threads`, GGUF files by name.
std::vector<std::pair<std::string, std::string>> test_params(const Record& r) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [k, v] : key_items(r.str("key"))) {
        if (k == "threads") continue;
        out.emplace_back(k, k == "gguf" ? basename_of(v) : v);
    }
    return out;
}

bool is_ok(const Record& r) { return r.str("status") == "ok"; }

bool has_value(const Record& r, const std::string& field) {
    const core::Value* v = r.find(field);
    return v && !core::is_null(*v);
}

std::string system_key(const std::string& host, const std::string& cpu, const std::string& gpu,
                       const std::string& backend, const std::string& device) {
    return fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}", host, cpu, gpu, backend, device);
}
std::string system_key(const Record& r) {
    return system_key(r.str("host", "?"), r.str("cpu"), r.str("gpu"), r.str("backend", "?"), r.str("device"));
}
std::string system_key(const System& s) { return system_key(s.host, s.cpu, s.gpu, s.backend, s.device); }

std::string generation_key(const Record& r) {
    return fmt::format("{}\x1f{}", r.integer("schema_version"), r.str("versus_version"));
}

// The headline figure's field for the unit core::headline() chose (the printers' choice, so that a
// compare table shows what `versus bench` showed).
std::string headline_field(const Record& r, std::string* unit) {
    // STREAM counts the triad's FLOPs too, but bandwidth is what it measures (and what is predicted).
    if (r.str("workload") == "membw" && has_value(r, "gbps")) {
        *unit = "GB/s";
        return "gbps";
    }
    double value = 0;
    if (!core::headline(r, unit, &value)) return {};
    static const std::map<std::string, std::string> fields = {
        {"t/s", "tokens_per_s"}, {"img/s", "images_per_s"}, {"GFLOP/s", "gflops"}, {"GB/s", "gbps"}, {"us", "latency_us"}};
    auto it = fields.find(*unit);
    return it == fields.end() ? std::string() : it->second;
}

std::string value_text(double v, double err, bool unstable) {
    return core::format_value(v, 4) + " ± " + core::format_value(err, 2) + (unstable ? " !" : "");
}

std::string num(double v) { return predict::format_number(v); }

std::string pct_range(double lo, double hi) {
    return std::fabs(hi - lo) < 0.5 ? fmt::format("{:.0f}%", hi) : fmt::format("{:.0f}-{:.0f}%", lo, hi);
}

// "memory" is the predictor's name for what people call bandwidth-bound.
std::string bound_word(predict::Bound b) {
    return b == predict::Bound::MEMORY ? "bandwidth" : predict::bound_name(b);
}

struct BoundEvidence {
    std::string bound;
    std::string metric;  // "MBU", "MFU", "peak"
    double pct = -1;
};

// What limits a measured row, from the record's own figures: MBU and MFU for the llm workload, % of
// peak for GEMM, the kind of memory and the transfer size elsewhere.
BoundEvidence measured_bound(const Record& r) {
    const std::string w = r.str("workload");
    const double mbu = has_value(r, "mbu_pct") ? r.num("mbu_pct") : -1;
    const double mfu = has_value(r, "mfu_pct") ? r.num("mfu_pct") : -1;
    const double peak = has_value(r, "peak_pct") ? r.num("peak_pct") : -1;
    if (w == "llm" || (mbu >= 0 || mfu >= 0)) {
        if (mbu < 0 && mfu < 0) return {r.str("phase") == "prefill" ? "compute" : "bandwidth", "", -1};
        const bool bw = mbu >= mfu;
        const double p = bw ? mbu : mfu;
        return {p < OVERHEAD_PCT ? "overhead" : bw ? "bandwidth" : "compute", bw ? "MBU" : "MFU", p};
    }
    if (w == "gemm") return {"compute", peak >= 0 ? "peak" : "", peak};
    if (w == "membw") return {"bandwidth", "", -1};
    if (w == "latency") return {"overhead", "", -1};
    if (w == "transfer") {
        if (r.integer("size_bytes") <= (int64_t{64} << 10)) return {"overhead", "", -1};
        return {r.str("memory_kind") == "discrete" ? "link" : "bandwidth", "", -1};
    }
    if (w == "attention") return {r.str("phase") == "decode" ? "bandwidth" : "compute", peak >= 0 ? "peak" : "", peak};
    if (peak >= 0) return {"compute", "peak", peak};
    if (has_value(r, "gbps")) return {"bandwidth", "", -1};
    return {};
}

std::string machine_name(const System& s) { return fmt::format("[{}] {}", s.number, s.label); }

// The size parameter of a row's record, 0 when it has none.
int64_t size_param(const Record& r) { return r.has("size_bytes") ? r.integer("size_bytes") : r.integer("size"); }

const Generation* main_generation(const Comparison& c) { return c.generations.empty() ? nullptr : &c.generations[0]; }

const Record* cell_record(const Comparison& c, const Cell& cell) {
    return cell.record >= 0 ? &c.inputs.records[static_cast<size_t>(cell.record)] : nullptr;
}

const Record* first_ok_record(const Comparison& c, const Row& row) {
    for (const auto& cell : row.cells)
        if (cell.ok) return cell_record(c, cell);
    return nullptr;
}

std::vector<size_t> measured_systems(const Comparison& c) {
    std::vector<size_t> out;
    for (size_t i = 0; i < c.systems.size(); ++i)
        if (c.systems[i].number > 0) out.push_back(i);
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) { return c.systems[a].number < c.systems[b].number; });
    return out;
}

}  // namespace

int Row::ok_cells() const {
    return static_cast<int>(std::count_if(cells.begin(), cells.end(), [](const Cell& c) { return c.ok; }));
}

// ---------------------------------------------------------------------------------------------------
// Reading

GenerateRun parse_generate(const nlohmann::ordered_json& j, const std::string& file) {
    if (!j.is_object() || !j.contains("steps") || !j["steps"].is_array())
        throw std::runtime_error("no \"steps\" array: not a `versus generate -o json` output");
    GenerateRun g;
    g.file = file;
    if (j.contains("model") && j["model"].is_string()) g.model = j["model"].get<std::string>();
    if (j.contains("types") && j["types"].is_string()) g.types = j["types"].get<std::string>();
    if (j.contains("threads") && j["threads"].is_number_integer()) g.threads = j["threads"].get<int64_t>();
    auto ints = [](const nlohmann::ordered_json& a, const char* what) {
        std::vector<int64_t> out;
        if (a.is_null()) return out;
        if (!a.is_array()) throw std::runtime_error(fmt::format("\"{}\" is not an array", what));
        for (const auto& e : a) {
            if (!e.is_number_integer()) throw std::runtime_error(fmt::format("\"{}\" holds a non-integer", what));
            out.push_back(e.get<int64_t>());
        }
        return out;
    };
    g.prompt = ints(j.contains("prompt") ? j["prompt"] : nlohmann::ordered_json(), "prompt");
    g.tokens = ints(j.contains("tokens") ? j["tokens"] : nlohmann::ordered_json(), "tokens");
    size_t n = 0;
    for (const auto& s : j["steps"]) {
        if (!s.is_object() || !s.contains("id") || !s["id"].is_number_integer() || !s.contains("top5") ||
            !s["top5"].is_array())
            throw std::runtime_error(fmt::format("step {} has no integer \"id\" and \"top5\" list", n));
        GenerateRun::Step step;
        step.id = s["id"].get<int64_t>();
        for (const auto& t : s["top5"]) {
            if (!t.is_array() || t.size() != 2 || !t[0].is_number_integer() || !t[1].is_number())
                throw std::runtime_error(fmt::format("step {}: a top5 entry is not [token id, logit]", n));
            step.top5.emplace_back(t[0].get<int64_t>(), t[1].get<double>());
        }
        if (step.top5.empty()) throw std::runtime_error(fmt::format("step {}: empty top5", n));
        g.steps.push_back(std::move(step));
        ++n;
    }
    if (g.steps.empty()) throw std::runtime_error("no steps");
    return g;
}

Inputs load_inputs(const std::vector<std::string>& paths) {
    if (paths.empty())
        throw UsageError("compare", "no files to compare",
                         "give results files, e.g. versus compare mac.jsonl cuda.jsonl (written by versus run or "
                         "versus bench --out)");
    Inputs in;
    size_t future = 0;
    int64_t newest = 0;
    for (const auto& path : paths) {
        const std::string text = base::read_file(path, "give results files written by versus run or versus bench --out");
        std::vector<Record> records;
        std::vector<std::string> problems;
        size_t lines = 0;
        bool done = false;
        const size_t start = text.find_first_not_of(" \t\r\n");
        if (start == std::string::npos) {
            in.problems.push_back(path + ": empty file (skipped)");
            in.files.push_back(path + ": empty");
            continue;
        }
        // A whole-file JSON document: a generate output, or the array `-o json` prints. A JSONL file of
        // more than one line does not parse as one document and goes to the line reader.
        if (text[start] == '{' || text[start] == '[') {
            const auto j = nlohmann::ordered_json::parse(text, nullptr, false);
            if (!j.is_discarded() && j.is_object() && j.contains("steps")) {
                try {
                    in.generate_runs.push_back(parse_generate(j, path));
                    in.files.push_back(fmt::format("{}: versus generate output, {} steps", path,
                                                   in.generate_runs.back().steps.size()));
                } catch (const std::exception& e) {
                    in.problems.push_back(fmt::format("{}: not a versus generate output ({}) (skipped)", path, e.what()));
                    in.files.push_back(path + ": not understood");
                }
                continue;
            }
            if (!j.is_discarded() && j.is_array()) {
                done = true;
                for (size_t i = 0; i < j.size(); ++i) {
                    try {
                        Record r = Record::from_json(j[i]);
                        if (!r.has("schema_version") || !r.has("workload"))
                            problems.push_back(fmt::format("{}: element {}: not a versus record (skipped)", path, i));
                        else
                            records.push_back(std::move(r));
                    } catch (const std::exception& e) {
                        problems.push_back(fmt::format("{}: element {}: unreadable ({}) (skipped)", path, i, e.what()));
                    }
                }
                lines = j.size();
            }
        }
        if (!done) {
            auto rr = core::read_results(path);
            records = std::move(rr.records);
            problems = std::move(rr.problems);
            lines = records.size() + problems.size();
        }
        // Records of a newer schema may mean other things by the same names: never guessed at.
        size_t file_future = 0;
        std::vector<Record> kept;
        for (auto& r : records) {
            const int64_t v = r.integer("schema_version");
            if (v > core::SCHEMA_VERSION) {
                ++file_future;
                newest = std::max(newest, v);
            } else {
                kept.push_back(std::move(r));
            }
        }
        future += file_future;
        if (kept.empty() && file_future == 0) {
            in.problems.push_back(fmt::format("{}: not versus results (no record in {} line{}{}) (skipped)", path, lines,
                                              lines == 1 ? "" : "s",
                                              problems.empty() ? "" : "; first: " + problems.front()));
            in.files.push_back(path + ": not understood");
            continue;
        }
        for (size_t i = 0; i < problems.size() && i < MAX_PROBLEMS_PER_FILE; ++i) in.problems.push_back(problems[i]);
        if (problems.size() > MAX_PROBLEMS_PER_FILE)
            in.problems.push_back(fmt::format("{}: {} more lines skipped", path, problems.size() - MAX_PROBLEMS_PER_FILE));
        if (file_future)
            in.problems.push_back(fmt::format("{}: {} records of schema version {} skipped: this versus reads schema {}",
                                              path, file_future, newest, core::SCHEMA_VERSION));
        in.files.push_back(fmt::format("{}: {} records", path, kept.size()));
        for (auto& r : kept) {
            in.records.push_back(std::move(r));
            in.record_files.push_back(basename_of(path));
        }
    }
    if (in.records.empty() && in.generate_runs.empty()) {
        std::string why;
        for (size_t i = 0; i < in.problems.size() && i < 3; ++i) why += (i ? "; " : "") + in.problems[i];
        if (future)
            throw UsageError("compare", "nothing to compare: " + why,
                             fmt::format("these results are of schema version {}; update versus to read them", newest));
        throw UsageError("compare", "nothing to compare: " + why,
                         "give JSONL results files written by versus run or versus bench --out, JSON from -o json, or "
                         "outputs of versus generate -o json");
    }
    return in;
}

// ---------------------------------------------------------------------------------------------------
// Matching

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

Comparison compare(Inputs in, const Options& opt) {
    Comparison c;
    c.inputs = std::move(in);
    const auto& records = c.inputs.records;

    // Machines, in order of first appearance (files in the order given).
    std::map<std::string, size_t> sys_index;
    std::vector<size_t> rec_sys(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        const std::string k = system_key(r);
        auto it = sys_index.find(k);
        if (it == sys_index.end()) {
            System s;
            s.host = r.str("host", "?");
            s.backend = r.str("backend", "?");
            s.device = r.str("device");
            s.memory_kind = r.str("memory_kind");
            s.os = r.str("os");
            s.cpu = r.str("cpu");
            s.gpu = r.str("gpu");
            s.build_type = r.str("build_type");
            it = sys_index.emplace(k, c.systems.size()).first;
            c.systems.push_back(std::move(s));
        }
        System& s = c.systems[it->second];
        rec_sys[i] = it->second;
        ++s.n_records;
        if (is_ok(r)) ++s.n_ok;
        if (s.memory_kind.empty()) s.memory_kind = r.str("memory_kind");
        if (s.device.empty()) s.device = r.str("device");
        auto add = [](std::vector<std::string>& v, const std::string& x) {
            if (!x.empty() && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
        };
        add(s.versions, r.str("versus_version"));
        add(s.run_ids, r.str("run_id"));
        add(s.files, i < c.inputs.record_files.size() ? c.inputs.record_files[i] : std::string());
        if (has_value(r, "threads") && std::find(s.threads.begin(), s.threads.end(), r.integer("threads")) == s.threads.end())
            s.threads.push_back(r.integer("threads"));
        const std::string t = r.str("time");
        if (!t.empty() && (s.first_time.empty() || t < s.first_time)) s.first_time = t;
        if (!t.empty() && t > s.last_time) s.last_time = t;
        if (s.energy_reason.empty() && is_ok(r)) s.energy_reason = r.str("energy_reason");
    }
    // Labels: "host backend", with the device or a counter where that is ambiguous.
    {
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

    for (const auto& id : opt.predict) c.platforms.push_back(predict::resolve_platform(id));

    // Generations of records, rows within them, cells within rows.
    std::map<std::string, size_t> gen_index;
    std::vector<std::map<std::string, size_t>> row_index;
    std::vector<std::vector<std::vector<std::vector<int>>>> members;  // [gen][row][system] -> records
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        const std::string gk = generation_key(r);
        auto g = gen_index.find(gk);
        if (g == gen_index.end()) {
            Generation gen;
            gen.schema_version = r.integer("schema_version");
            gen.versus_version = r.str("versus_version");
            g = gen_index.emplace(gk, c.generations.size()).first;
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
    for (size_t g = 0; g < c.generations.size(); ++g) {
        auto& gen = c.generations[g];
        std::vector<Row> kept;
        for (size_t ri = 0; ri < gen.rows.size(); ++ri) {
            Row row = std::move(gen.rows[ri]);
            // The unit of the first record that has a headline figure.
            for (const auto& idx : members[g][ri])
                for (int i : idx)
                    if (row.field.empty() && is_ok(records[i])) row.field = headline_field(records[i], &row.unit);
            if (row.field.empty()) continue;  // nothing measured anywhere: the support table shows why
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

    const int n_measured = static_cast<int>(measured_systems(c).size());
    if (n_measured > 0) {
        if (opt.baseline < 1 || opt.baseline > n_measured) {
            std::string list;
            for (size_t i : measured_systems(c)) list += (list.empty() ? "" : ", ") + machine_name(c.systems[i]);
            throw UsageError("--baseline", fmt::format("there is no machine {}", opt.baseline),
                             fmt::format("choose 1-{}: {}", n_measured, list));
        }
        for (size_t i = 0; i < c.systems.size(); ++i)
            if (c.systems[i].number == opt.baseline) c.baseline = static_cast<int>(i);
    }

    for (size_t i = 1; i < c.inputs.generate_runs.size(); ++i)
        c.parity.push_back(compare_generate(c.inputs.generate_runs[0], c.inputs.generate_runs[i]));
    return c;
}

// ---------------------------------------------------------------------------------------------------
// Numeric parity of two generate runs

namespace {

// Softmax over the given logits (max-subtracted for range).
std::vector<double> softmax(const std::vector<double>& x) {
    std::vector<double> p(x.size());
    if (x.empty()) return p;
    const double m = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(x[i] - m);
    for (auto& v : p) v /= sum;
    return p;
}

}  // namespace

Parity compare_generate(const GenerateRun& a, const GenerateRun& b) {
    Parity out;
    out.a = a.file;
    out.b = b.file;
    out.same_prompt = a.prompt == b.prompt;
    out.steps = std::min(a.steps.size(), b.steps.size());
    for (size_t i = 0; i < out.steps; ++i) {
        if (a.steps[i].id == b.steps[i].id) ++out.top1_agree;
        else if (out.first_divergence < 0) out.first_divergence = static_cast<int>(i);
    }
    if (!out.same_prompt) return out;
    // Up to and including the first divergence both runs saw the same tokens, so their distributions
    // are comparable; after it the contexts differ.
    const size_t last = out.first_divergence < 0 ? out.steps : static_cast<size_t>(out.first_divergence) + 1;
    double kl_sum = 0, overlap_sum = 0;
    for (size_t i = 0; i < last; ++i) {
        const auto& ta = a.steps[i].top5;
        const auto& tb = b.steps[i].top5;
        std::map<int64_t, double> la(ta.begin(), ta.end()), lb(tb.begin(), tb.end());
        // A token outside one side's top 5 gets that side's 5th logit: an upper bound of its true value.
        double floor_a = 1e300, floor_b = 1e300;
        for (const auto& [id, l] : ta) floor_a = std::min(floor_a, l);
        for (const auto& [id, l] : tb) floor_b = std::min(floor_b, l);
        std::set<int64_t> ids;
        size_t common = 0;
        for (const auto& [id, l] : ta) ids.insert(id);
        for (const auto& [id, l] : tb) {
            ids.insert(id);
            if (la.count(id)) {
                ++common;
                out.max_abs_diff = std::max(out.max_abs_diff, std::fabs(la[id] - l));
            }
        }
        std::vector<double> xa, xb;
        for (int64_t id : ids) {
            xa.push_back(la.count(id) ? la[id] : floor_a);
            xb.push_back(lb.count(id) ? lb[id] : floor_b);
        }
        const auto pa = softmax(xa), pb = softmax(xb);
        double kl = 0;
        for (size_t k = 0; k < pa.size(); ++k)
            if (pa[k] > 0) kl += pa[k] * std::log(pa[k] / std::max(pb[k], 1e-300));
        kl = std::max(0.0, kl);
        kl_sum += kl;
        out.kl_max = std::max(out.kl_max, kl);
        overlap_sum += static_cast<double>(common) / static_cast<double>(std::max<size_t>(1, std::max(ta.size(), tb.size())));
    }
    out.compared_steps = last;
    if (last > 0) {
        out.kl_mean = kl_sum / static_cast<double>(last);
        out.top5_overlap = overlap_sum / static_cast<double>(last);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------
// Tables

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

struct Best {
    double value = 0;
    const Row* row = nullptr;
    bool found = false;
};

// The bandwidth a machine reached at the largest STREAM working set it ran (out of the caches).
Best bandwidth_of(const Comparison& c, const Generation& g, size_t sys) {
    Best b;
    int64_t largest = 0;
    for (const auto& row : g.rows) {
        if (row.workload != "membw" || !row.cells[sys].ok) continue;
        largest = std::max(largest, size_param(*cell_record(c, row.cells[sys])));
    }
    for (const auto& row : g.rows) {
        if (row.workload != "membw" || !row.cells[sys].ok) continue;
        if (size_param(*cell_record(c, row.cells[sys])) != largest) continue;
        if (!b.found || row.cells[sys].value > b.value) b = {row.cells[sys].value, &row, true};
    }
    return b;
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

std::string pred_text(const Predicted& p, const std::string& measured_bound) {
    if (!p.value) return p.note.empty() ? "-" : p.note;
    std::string s = predict::format_estimate(*p.value);
    if (!p.bound.empty() && measured_bound.rfind(p.bound, 0) != 0) s += " [" + p.bound + "]";
    return s;
}

bool any_prediction(const std::vector<const Row*>& rows, size_t p) {
    return std::any_of(rows.begin(), rows.end(), [&](const Row* r) { return r->predicted[p].value.has_value(); });
}

// Systems with a figure in any of the rows, in machine order.
std::vector<size_t> systems_in(const Comparison& c, const std::vector<const Row*>& rows) {
    std::vector<size_t> out;
    for (size_t s : measured_systems(c))
        if (std::any_of(rows.begin(), rows.end(), [&](const Row* r) { return r->cells[s].ok; })) out.push_back(s);
    return out;
}

std::vector<const Row*> rows_where(const Generation* g, const std::function<bool(const Row&)>& pred) {
    std::vector<const Row*> out;
    if (!g) return out;
    for (const auto& r : g->rows)
        if (pred(r)) out.push_back(&r);
    return out;
}

Table architecture_table(const Comparison& c) {
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

Table performance_table(const Comparison& c) {
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
    return t;
}

Table energy_table(const Comparison& c) {
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

// The variant of a workload a support row stands for: its dtype, else its weight type, mode or kernel.
std::string support_variant(const Record& r) {
    for (const char* f : {"dtype", "type", "mode", "impl"})
        if (has_value(r, f)) return r.str(f);
    return "";
}

Table support_table(const Comparison& c) {
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

// "Which platform for which need": for each need the test most machines ran, the best of them, and the
// best predicted platform, each citing its figure.
Table needs_table(const Comparison& c) {
    Table t;
    t.id = "needs";
    t.title = "Which platform for which need";
    t.header = {"need", "best measured", "runner-up", "best predicted", "figure from"};
    t.right = {false, false, false, false, false};
    const Generation* g = main_generation(c);
    if (!g) return t;
    auto pick = [&](const std::function<bool(const Row&)>& pred) -> const Row* {
        const Row* best = nullptr;
        for (const auto& r : g->rows) {
            if (!pred(r)) continue;
            if (!best || r.ok_cells() > best->ok_cells() ||
                (r.ok_cells() == best->ok_cells() && size_param(*first_ok_record(c, r)) > size_param(*first_ok_record(c, *best))))
                best = &r;
        }
        return best;
    };
    auto fig = [](double v, const std::string& unit) { return fmt::format("{} {}", num(v), unit); };
    auto add = [&](const std::string& need, const Row* r,
                   const std::function<std::optional<double>(const Cell&)>& measured,
                   const std::function<std::optional<predict::Estimate>(const Predicted&)>& predicted,
                   const std::string& unit, bool lower) {
        if (!r) return;
        std::vector<std::pair<double, size_t>> vals;
        for (size_t s : measured_systems(c))
            if (r->cells[s].ok)
                if (auto v = measured(r->cells[s])) vals.emplace_back(*v, s);
        std::optional<std::pair<predict::Estimate, size_t>> bp;
        for (size_t p = 0; p < c.platforms.size(); ++p)
            if (auto e = predicted(r->predicted[p]))
                if (!bp || (lower ? e->value < bp->first.value : e->value > bp->first.value)) bp = std::make_pair(*e, p);
        if (vals.empty() && !bp) return;
        std::stable_sort(vals.begin(), vals.end(), [&](const auto& a, const auto& b) { return lower ? a.first < b.first : a.first > b.first; });
        auto m = [&](size_t i) {
            return i < vals.size() ? fmt::format("{}: {}", machine_name(c.systems[vals[i].second]), fig(vals[i].first, unit))
                                   : std::string("-");
        };
        t.rows.push_back({need, m(0), m(1),
                          bp ? fmt::format("{}: {} {}", c.platforms[bp->second].id, predict::format_estimate(bp->first), unit)
                             : "-",
                          r->workload + " " + r->label});
    };
    auto value = [](const Cell& x) -> std::optional<double> { return x.value; };
    auto pvalue = [](const Predicted& p) { return p.value; };
    auto param = [&](const Row& r, const char* k) { return first_ok_record(c, r)->str(k); };
    add("chat, code completion: generating tokens (LLM decode)",
        pick([&](const Row& r) { return r.workload == "llm" && param(r, "phase") == "decode"; }), value, pvalue, "t/s", false);
    add("long prompts, RAG: reading the prompt (LLM prefill)",
        pick([&](const Row& r) { return r.workload == "llm" && param(r, "phase") == "prefill"; }), value, pvalue, "t/s",
        false);
    add("energy per generated token",
        pick([&](const Row& r) {
            return r.workload == "llm" && param(r, "phase") == "decode" &&
                   (std::any_of(r.cells.begin(), r.cells.end(), [](const Cell& x) { return x.joules_per_token.has_value(); }) ||
                    std::any_of(r.predicted.begin(), r.predicted.end(),
                                [](const Predicted& p) { return p.joules_per_token.has_value(); }));
        }),
        [](const Cell& x) { return x.joules_per_token; }, [](const Predicted& p) { return p.joules_per_token; }, "J/token",
        true);
    add("memory-bound work: streaming bandwidth",
        pick([&](const Row& r) { return r.workload == "membw" && param(r, "op") == "triad"; }), value, pvalue, "GB/s", false);
    add("FP32 math (GEMM f32)", pick([&](const Row& r) { return r.workload == "gemm" && param(r, "dtype") == "f32"; }),
        value, pvalue, "GFLOP/s", false);
    add("training-style 16-bit math (GEMM bf16)",
        pick([&](const Row& r) { return r.workload == "gemm" && param(r, "dtype") == "bf16"; }), value, pvalue, "GFLOP/s",
        false);
    add("small kernels: dispatch latency",
        pick([&](const Row& r) { return r.workload == "latency" && param(r, "op") == "dispatch"; }), value,
        [](const Predicted&) { return std::optional<predict::Estimate>(); }, "us", true);
    // Moving data to the accelerator: each machine's best mode, host to device, at the largest size.
    {
        std::vector<std::pair<double, std::pair<size_t, std::string>>> best;
        for (size_t s : measured_systems(c)) {
            double v = -1;
            std::string what;
            int64_t largest = 0;
            for (const auto& r : g->rows)
                if (r.workload == "transfer" && r.cells[s].ok && cell_record(c, r.cells[s])->str("direction") == "h2d")
                    largest = std::max(largest, size_param(*cell_record(c, r.cells[s])));
            for (const auto& r : g->rows) {
                if (r.workload != "transfer" || !r.cells[s].ok) continue;
                const Record& rec = *cell_record(c, r.cells[s]);
                if (rec.str("direction") != "h2d" || size_param(rec) != largest) continue;
                if (rec.num("gbps") > v) {
                    v = rec.num("gbps");
                    what = fmt::format("{}, {}", rec.str("mode"), core::format_size(largest));
                }
            }
            if (v >= 0) best.push_back({v, {s, what}});
        }
        std::stable_sort(best.begin(), best.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        auto m = [&](size_t i) {
            return i < best.size() ? fmt::format("{}: {} GB/s ({})", machine_name(c.systems[best[i].second.first]),
                                                 num(best[i].first), best[i].second.second)
                                   : std::string("-");
        };
        std::optional<std::pair<double, size_t>> bp;
        for (size_t p = 0; p < c.platforms.size(); ++p) {
            const auto& pl = c.platforms[p];
            const double v = pl.memory_kind == predict::MemoryKind::UNIFIED ? pl.mem_bw_GBps : pl.host_link_GBps.value_or(0);
            if (v > 0 && (!bp || v > bp->first)) bp = std::make_pair(v, p);
        }
        if (!best.empty())
            t.rows.push_back({"feeding the accelerator: host to device", m(0), m(1),
                              bp ? fmt::format("{}: {} GB/s (spec{})", c.platforms[bp->second].id, num(bp->first),
                                               c.platforms[bp->second].memory_kind == predict::MemoryKind::UNIFIED
                                                   ? ", unified memory"
                                                   : ", link")
                                 : "-",
                              "transfer h2d, best mode at the largest size"});
    }
    t.notes.push_back("Each need is judged on the test most machines ran; the figures are the side-by-side tables' "
                      "medians. Predicted figures carry their range.");
    return t;
}

}  // namespace

std::vector<Table> headline_tables(const Comparison& c) {
    if (!main_generation(c)) return {};
    std::vector<Table> out = {architecture_table(c), performance_table(c), energy_table(c), support_table(c), needs_table(c)};
    if (c.generations.size() > 1)
        for (auto& t : out)
            t.notes.push_back(fmt::format("From the versus {} records (schema {}); other versions are listed separately.",
                                          c.generations[0].versus_version, c.generations[0].schema_version));
    return out;
}

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

std::vector<Table> parity_tables(const Comparison& c) {
    std::vector<Table> out;
    if (const Generation* g = main_generation(c)) {
        Table t;
        t.id = "parity-checksums";
        t.title = "Parity: output checksums of matched tests";
        t.header = {"test"};
        t.right = {false};
        std::vector<const Row*> rows;
        for (const auto& r : g->rows) {
            int n = 0;
            for (const auto& cell : r.cells)
                if (cell.ok && has_value(*cell_record(c, cell), "checksum")) ++n;
            if (n >= 2) rows.push_back(&r);
        }
        const auto systems = systems_in(c, rows);
        for (size_t s : systems) {
            t.header.push_back(machine_name(c.systems[s]));
            t.right.push_back(false);
        }
        t.header.push_back("same");
        t.right.push_back(false);
        for (const Row* r : rows) {
            std::vector<std::string> line = {r->workload + " " + r->label};
            std::set<std::string> distinct;
            for (size_t s : systems) {
                const Cell& cell = r->cells[s];
                const std::string sum = cell.ok ? cell_record(c, cell)->str("checksum") : "";
                if (!sum.empty()) distinct.insert(sum);
                line.push_back(sum.empty() ? "-" : sum);
            }
            line.push_back(distinct.size() == 1 ? "yes" : "no");
            t.rows.push_back(std::move(line));
        }
        if (!rows.empty()) {
            t.notes.push_back("Each workload fingerprints its output on every run (llm decode: a hash of the greedy tokens; "
                              "prefill: the argmax token). Different kernels may legitimately differ in the last bits of "
                              "floating-point sums; greedy LLM tokens should agree.");
            out.push_back(std::move(t));
        }
    }
    if (!c.parity.empty()) {
        Table t;
        t.id = "parity-generate";
        t.title = "Parity: generate runs";
        t.header = {"run", "against", "steps", "top-1 agreement", "first divergence", "max logit diff", "KL mean",
                    "KL max", "top-5 overlap"};
        t.right = {false, false, true, true, true, true, true, true, true};
        for (const auto& p : c.parity) {
            if (!p.same_prompt) {
                t.rows.push_back({p.b, p.a, std::to_string(p.steps), "-", "-", "-", "-", "-", "different prompts"});
                continue;
            }
            t.rows.push_back({p.b, p.a, std::to_string(p.steps),
                              fmt::format("{}/{} ({:.1f}%)", p.top1_agree, p.steps,
                                          p.steps ? 100.0 * static_cast<double>(p.top1_agree) / static_cast<double>(p.steps) : 0.0),
                              p.first_divergence < 0 ? "none" : "step " + std::to_string(p.first_divergence),
                              fmt::format("{:.3g}", p.max_abs_diff), fmt::format("{:.3g}", p.kl_mean),
                              fmt::format("{:.3g}", p.kl_max), fmt::format("{:.0f}%", 100 * p.top5_overlap)});
        }
        t.notes.push_back("From the top-5 logits each step records (versus generate -o json): logits compared on the tokens "
                          "both top-5 lists hold; KL(run || against) over the union of the two lists, a token missing "
                          "from one list taking that list's 5th logit. Steps after the first divergence see different "
                          "tokens and are left out of the logit figures.");
        out.push_back(std::move(t));
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
                           {"records", s.n_records}, {"ok", s.n_ok}});
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
