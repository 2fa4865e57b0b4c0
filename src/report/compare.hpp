// compare: results of several machines side by side (`versus compare`). Reads results files (JSONL
// records, a JSON array of records, or `versus generate -o json` outputs), finds the records that
// describe the same test on different machines, puts them beside each other with ratios to a baseline
// machine and the predictor's figures for platforms nobody measured, and regenerates the headline
// tables (architecture, performance, energy, software support, which platform for which need) from
// the data. Rules: docs/report.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.hpp"
#include "predict/cost.hpp"
#include "predict/roofline.hpp"
#include "predict/specs.hpp"
#include "predict/throughput.hpp"

namespace versus::report {

// A table every output renders the same way: aligned text, Markdown, HTML or JSON.
struct Table {
    std::string id;     // anchor and JSON key: "architecture", "compare-1-gemm"
    std::string title;  // "Architecture"
    std::vector<std::string> header;
    std::vector<bool> right;  // right-aligned (numeric) columns
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> notes;  // sentences printed under the table
};

// `versus generate -o json`: the greedy tokens and the top-5 logits of every step.
struct GenerateRun {
    std::string file, model, types;
    int64_t threads = 0;
    std::vector<int64_t> prompt, tokens;
    struct Step {
        int64_t id = 0;
        std::vector<std::pair<int64_t, double>> top5;  // (token id, logit), best first
    };
    std::vector<Step> steps;
};

// The context block of a run (`versus run` writes it at the top of the Markdown report beside its results
// file, "# versus run RUN_ID"): what the run itself warned about.
struct RunContext {
    std::string run_id, file;
    std::vector<std::string> warnings;  // "busy machine: load average 3.10 on 2 threads; ...", "virtual machine (kvm): ..."
};
// The context block of the report at `path`, when it is one; none when the file is missing or is something else.
std::optional<RunContext> read_run_context(const std::string& path);

struct Inputs {
    std::vector<std::string> files;  // "mac.jsonl: 120 records"
    std::vector<core::Record> records;
    std::vector<std::string> record_files;  // the file each record came from (its name)
    std::vector<GenerateRun> generate_runs;
    std::vector<std::string> problems;  // lines skipped, files not understood, records too new
    std::vector<RunContext> run_contexts;  // of the runs whose report sits beside their results file
};

// Reads the files, detecting each one's format. Unreadable lines, files that are not versus output
// and records of a schema newer than this build reads are skipped and listed in `problems`. Throws
// UsageError when no file is given or nothing usable is left.
Inputs load_inputs(const std::vector<std::string>& paths);

// One `versus generate -o json` document; throws std::runtime_error saying what is missing.
GenerateRun parse_generate(const nlohmann::ordered_json& j, const std::string& file);

// Which records describe the same test on different machines: the same schema_version and
// versus_version (records of other versions are compared among themselves, never mixed), the same
// workload, and the same parameters, i.e. the record's `key` without `threads` (a machine's thread
// count is its setting, not the test; a GGUF file counts by its file name, not its folder). host,
// backend, device, memory_kind, os, cpu, gpu, build_type, run_id and time say where it ran.
std::string test_identity(const core::Record& r);
// The identity's parameters for people: "small q4_0 tg32", "dtype=f32 size=1024".
std::string test_label(const core::Record& r);

// A machine column: one backend device of one host (hosts of the same name with different CPUs or
// GPUs are different machines).
struct System {
    int number = 0;  // 1-based among the systems with a measurement; 0 when all its rows were skipped
    std::string label;  // "mac metal", "box cpu"
    std::string host, backend, device, memory_kind, os, cpu, gpu, build_type;
    std::vector<std::string> versions, run_ids, files;
    std::vector<int64_t> threads;
    std::string first_time, last_time, energy_reason;
    size_t n_records = 0, n_ok = 0;
    // One line: what makes this machine's figures less trustworthy (a VM, a busy machine, a debug build,
    // unstable rows...), from its records, the context of its runs and the probe of this machine.
    std::string caution;
};

// One machine's figure for one test: the latest record per thread count, the best thread count.
struct Cell {
    int record = -1;  // index into Inputs::records; -1: no record
    bool ok = false;
    double value = 0, error = 0;  // headline figure and its median absolute percentage error
    bool unstable = false;
    std::string note;    // "best of 1-8 threads: 8"; for a failed row its status
    std::string status;  // ok, skipped, error, interrupted
    std::optional<double> joules_per_token, watts;
};

struct Predicted {
    std::optional<predict::Estimate> value;
    std::string bound;  // compute, bandwidth, link, overhead
    std::string note;   // why there is no value
    std::optional<predict::Estimate> joules_per_token, watts;
    // Training rows: the predictor's whole figure (rate, epoch time, J per item), which the cost table reads.
    std::optional<predict::ThroughputPrediction> training;
};

struct Row {
    std::string identity, workload, label, unit, field;
    bool lower_is_better = false;
    std::vector<Cell> cells;           // one per Comparison::systems
    std::vector<Predicted> predicted;  // one per Comparison::platforms
    std::string bound;                 // what limits it, from the measurements (peak_pct, MBU, MFU)
    int ok_cells() const;
};

// Records of one schema and versus version.
struct Generation {
    int64_t schema_version = 0;
    std::string versus_version;
    std::vector<Row> rows;
    size_t n_records = 0;
};

// Two `generate -o json` runs of the same prompt, step by step.
struct Parity {
    std::string a, b;  // file names
    bool same_prompt = true;
    size_t steps = 0, top1_agree = 0;
    int first_divergence = -1;  // step where the greedy tokens first differ; -1 none
    size_t compared_steps = 0;  // steps whose contexts were still the same (up to the divergence)
    double max_abs_diff = 0;    // largest |logit a - logit b| over tokens in both top-5 lists
    double kl_mean = 0, kl_max = 0;
    double top5_overlap = 0;  // mean share of top-5 tokens in common
};
Parity compare_generate(const GenerateRun& a, const GenerateRun& b);

struct HostFindings;  // report/audit.hpp

struct Options {
    std::vector<std::string> predict;  // platform ids for the predicted columns
    int baseline = 1;                  // the System::number ratios are taken against
    predict::CostOptions cost;         // currency, energy price, utilisation, amortisation of the cost table
    // This machine as the probe sees it (null: not probed): a machine of the results with its host name
    // is known to be a VM when the probe says so, though its records do not.
    const HostFindings* here = nullptr;
};

struct Comparison {
    Inputs inputs;
    std::vector<System> systems;
    std::vector<predict::Platform> platforms;
    std::vector<Generation> generations;  // the one with the most machines first
    int baseline = -1;                    // index into systems; -1 when nothing was measured
    std::vector<Parity> parity;
    predict::CostOptions cost;
};

// Throws UsageError for an unknown platform or a baseline out of range.
Comparison compare(Inputs in, const Options& opt);

// The spec database's platform a measured machine is, from its device name as the database knows it and
// of the kind its backend runs on (a CPU row on a Mac is not a measurement of the Apple GPU); none otherwise.
std::optional<predict::Platform> measured_platform(const std::string& backend, const std::string& device);

// What a row's throughput costs on one machine or predicted platform that has a price (predict/cost.hpp):
// generated tokens for llm decode rows, tokens or images for training rows.
struct CostEntry {
    const Row* row = nullptr;
    std::string who;  // "[1] mac metal", "rtx-4090 (predicted)"
    std::string priced_as;  // the platform and memory size priced: "m2-max-38c@96"
    bool predicted = false;
    predict::Estimate rate;  // a measurement has low = high = value
    std::string rate_unit;   // "tokens/s", "images/s"
    predict::CostReport cost;
};
// The entries with a price, and (in `missing`) one line per machine or platform without one.
std::vector<CostEntry> cost_entries(const Comparison& c, std::vector<std::string>* missing = nullptr);

// The tables, in the order the reports print them.
Table machines_table(const Comparison& c);
// architecture, performance, energy, support, needs; frameworks and needs-evidence (summary-tables.hpp)
std::vector<Table> headline_tables(const Comparison& c);
std::vector<Table> comparison_tables(const Comparison& c);  // side by side, per generation and workload
std::vector<Table> parity_tables(const Comparison& c);     // checksums of matched rows, generate runs
std::vector<Table> all_tables(const Comparison& c);

// Aligned text or Markdown; the whole report.
std::string render_text(const Comparison& c, bool md);
nlohmann::ordered_json to_json(const Comparison& c);

// Figures the HTML charts draw, kept beside the tables so both read the same numbers.
struct RooflinePoint {
    double intensity = 0, gflops = 0;  // FLOP per byte, GFLOP/s
    std::string label;
};
struct Roof {
    std::string name;
    double peak_gflops = 0, bandwidth_gbps = 0;
    std::string from;  // "measured" or "spec"
};
struct DeviceRoofline {
    std::string system;
    int color = 0;  // the machine's number - 1: its colour in every chart
    std::vector<RooflinePoint> points;
    Roof roof;
};
std::vector<DeviceRoofline> rooflines(const Comparison& c);
std::vector<Roof> platform_roofs(const Comparison& c);

}  // namespace versus::report
