#include "cli/cli.hpp"
#include "cli/cli-audit.hpp"
#include "cli/cli-compare.hpp"
#include "cli/cli-history.hpp"
#include "cli/cli-llm.hpp"
#include "cli/cli-predict.hpp"
#include "cli/cli-specs.hpp"
#include "cli/cli-tokenize.hpp"
#include "cli/guard.hpp"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "backend/backend.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "comm/comm.hpp"
#include "core/context.hpp"
#include "core/printers.hpp"
#include "core/ranks.hpp"
#include "core/results-file.hpp"
#include "core/runner.hpp"
#include "power/power.hpp"
#include "report/history.hpp"
#include "report/machine-comparison.hpp"
#include "system/sysinfo.hpp"
#include "workloads/workload.hpp"

namespace versus::cli {
namespace {

using core::Format;
using core::Record;

struct Common {
    std::string format;  // "" = table on a terminal, md otherwise
    std::string backends;
    std::string threads;
    double time_s = 0;
    int reps = 0;
    std::string out;
    std::string db;  // history database; "" = versus.db beside the results file
    bool quiet = false;
    double rank_timeout_s = core::DEFAULT_RANK_TIMEOUT_S;
};

Format output_format(const std::string& name) {
    if (!name.empty()) return core::parse_format(name);
    return isatty(STDOUT_FILENO) ? Format::TABLE : Format::MD;
}

bool human(Format f) { return f == Format::TABLE || f == Format::MD; }

// Backends named by --backend, in registry order; unknown names are usage errors.
std::vector<backend::BackendSlot*> select_backends(std::vector<backend::BackendSlot>& all, const std::string& list) {
    std::vector<backend::BackendSlot*> out;
    if (list.empty()) {
        for (auto& s : all) out.push_back(&s);
        return out;
    }
    std::string known;
    for (const auto& s : all) known += (known.empty() ? "" : ", ") + s.name;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        const std::string name = list.substr(start, comma - start);
        auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.name == name; });
        if (it == all.end()) throw UsageError("--backend", fmt::format("unknown backend '{}'", name), "choose from " + known);
        out.push_back(&*it);
        start = comma + 1;
    }
    return out;
}

// The job this process is one rank of, when a launcher started it; null alone. A rank whose MPI plugin cannot
// load stops: run alone, every rank would write the same results file.
std::unique_ptr<comm::Comm> join_job(double timeout_s) {
    const std::string marker = comm::launcher_marker();
    if (marker.empty()) return nullptr;
    std::string why;
    auto c = comm::Comm::load(&why);
    if (!c)
        throw UsageError("mpi", fmt::format("started as a rank ({}) but the MPI plugin cannot load: {}", marker, why),
                         "build libversus-mpi.so (libopenmpi-dev) or run versus without a launcher");
    c->set_timeout(timeout_s);
    return c;
}

struct Session {
    explicit Session(double rank_timeout_s = core::DEFAULT_RANK_TIMEOUT_S) : comm(join_job(rank_timeout_s)) {
        if (comm) ranks = std::make_unique<core::RankRun>(*comm, ctx);
    }
    std::unique_ptr<comm::Comm> comm;  // first in, last out: MPI outlives everything else
    std::vector<backend::BackendSlot> backends = backend::load_backends();
    system::SystemInfo sys = system::probe_system();
    core::Context ctx = core::build_context(sys, backends);
    std::unique_ptr<core::RankRun> ranks;

    // Rank 0 (or a lone process) prints and writes; the other ranks send it their rows.
    bool writes() const { return !ranks || ranks->leader(); }
    int world() const { return comm ? comm->size() : 1; }
    // Whether this process measures device d (one GPU per rank on a host shared by ranks).
    bool owns(const versus_device_info& info, int d) const { return !comm || core::rank_owns_device(info, d, comm->id()); }
    // A rank's share of a host device: its cores, and its share of the memory budget.
    versus_device_info share(versus_device_info info) const {
        if (!comm || info.memory_kind == VERSUS_MEMORY_DISCRETE) return info;
        cpu_set_t set;
        const int bound = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : info.compute_units;
        const int hw = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
        info.compute_units = std::min(info.compute_units, core::rank_threads(bound, hw, comm->id()));
        info.mem_budget_bytes /= static_cast<uint64_t>(std::max(1, comm->id().local_size));
        return info;
    }
};

std::string default_threads(const versus_device_info& info, bool full) {
    const int n = std::max(1, info.compute_units);
    if (!full || n == 1) return std::to_string(n);
    std::string s = "1";
    for (int t = 2; t < n; t *= 2) s += "," + std::to_string(t);
    return s + "," + std::to_string(n);
}

int exit_code(const core::RunSummary& s) {
    if (s.interrupted) return EXIT_INTERRUPTED;
    return s.errors ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

std::string summary_line(const core::RunSummary& s, double seconds) {
    std::string line = fmt::format("{} ok, {} skipped, {} failed", s.ok, s.skipped, s.errors);
    if (s.unstable) line += fmt::format(", {} unstable (MdAPE > 5%: raise --time or quiet the machine)", s.unstable);
    if (s.interrupted) line += ", interrupted (completed rows kept)";
    return line + fmt::format(" in {:.1f} s", seconds);
}

void tally(const Record& r, core::RunSummary& s) {
    const std::string status = r.str("status");
    if (status == "ok") ++s.ok;
    if (status == "skipped") ++s.skipped;
    if (status == "error") ++s.errors;
    if (r.num("unstable") != 0) ++s.unstable;
}

// Runs jobs, streaming records to the results file (if any) and collecting them for printing. In a job of ranks
// every rank runs its own jobs and rank 0 collects all of them (core/ranks.hpp); the summary counts every rank's rows.
core::RunSummary execute(Session& s, std::vector<core::Job> jobs, std::vector<Record>& records, core::ResultsFile* file,
                         core::RunOptions opt, std::vector<Record> pre) {
    const std::function<void(const Record&)> keep = [&](const Record& r) {
        records.push_back(r);
        if (file) file->append(r);
    };
    std::function<void(const Record&)> sink = keep;
    core::install_interrupt_handler(s.ranks != nullptr);
    if (s.ranks) {
        s.comm->set_stop_flag(&core::interrupt_flag());
        jobs = s.ranks->agree(std::move(jobs), pre);
        sink = [&](const Record& r) { s.ranks->publish(r, keep); };
        opt.comm = s.comm.get();
    }
    for (const auto& r : pre) sink(r);
    core::Runner runner(s.ctx, opt, sink);
    auto sum = runner.run(jobs);
    sum.skipped += static_cast<int>(pre.size());
    if (!s.ranks) return sum;
    const auto out = s.ranks->finish(keep, core::interrupt_flag().load());
    for (const auto& note : out.notes) std::fprintf(stderr, "[versus] rank %d: %s\n", s.comm->rank(), note.c_str());
    if (!s.ranks->leader()) return sum;
    core::RunSummary all;
    all.interrupted = sum.interrupted;
    for (const auto& r : records) tally(r, all);
    return all;
}

void print_results(const core::Context& ctx, const std::vector<Record>& records, Format f, const std::string& summary) {
    if (human(f)) {
        std::cout << core::context_block(ctx, f == Format::MD) << "\n";
        std::cout << core::render(records, f) << "\n" << summary << "\n";
    } else {
        std::cerr << core::context_block(ctx, false) << summary << "\n";
        std::cout << core::render(records, f);
    }
    std::cout.flush();
}

int cmd_probe(const std::string& format) {
    const auto t0 = std::chrono::steady_clock::now();
    auto backends = backend::load_backends();
    const system::SystemInfo sys = system::probe_system();
    const auto meters = power::detect_meters();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

    nlohmann::ordered_json jb = nlohmann::ordered_json::array();
    std::string tb;
    for (auto& slot : backends) {
        nlohmann::ordered_json e;
        e["name"] = slot.name;
        e["available"] = slot.backend != nullptr;
        e["reason"] = slot.backend ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(slot.reason);
        e["devices"] = nlohmann::ordered_json::array();
        if (!slot.backend) {
            tb += fmt::format("  {:<6} not available ({})\n", slot.name, slot.reason);
        } else {
            for (int d = 0; d < slot.backend->device_count(); ++d) {
                const auto i = slot.backend->device_info(d);
                nlohmann::ordered_json dj;
                dj["index"] = d;
                dj["name"] = i.name;
                dj["arch"] = i.arch;
                dj["memory_kind"] = backend::memory_kind_name(i.memory_kind);
                dj["mem_total_bytes"] = i.mem_total_bytes;
                dj["mem_free_bytes"] = i.mem_free_bytes;
                dj["mem_budget_bytes"] = i.mem_budget_bytes;
                dj["link"] = i.link;
                dj["link_gbps"] = i.link_gbps;
                dj["compute_units"] = i.compute_units;
                dj["clock_mhz"] = i.clock_mhz;
                dj["driver"] = i.driver;
                dj["power_limit_w"] = i.power_limit_w;
                e["devices"].push_back(dj);
                tb += fmt::format("  {}:{:<4} {} [{}] {} memory, {} total, budget {}{}{}{}\n", slot.name, d, i.name, i.arch,
                                  backend::memory_kind_name(i.memory_kind),
                                  base::human_bytes(static_cast<double>(i.mem_total_bytes)),
                                  base::human_bytes(static_cast<double>(i.mem_budget_bytes)),
                                  i.link[0] ? fmt::format(", link {} ({:.1f} GB/s)", i.link, i.link_gbps) : "",
                                  i.power_limit_w > 0 ? fmt::format(", power limit {:.0f} W", i.power_limit_w) : "",
                                  i.driver[0] ? fmt::format(", driver {}", i.driver) : "");
            }
        }
        jb.push_back(e);
    }
    nlohmann::ordered_json jm = nlohmann::ordered_json::array();
    std::string tm;
    for (const auto& m : meters) {
        jm.push_back({{"name", m.name}, {"domain", m.domain}, {"available", m.available},
                      {"reason", m.available ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.reason)}});
        tm += fmt::format("  {:<8} {}\n", m.name,
                          m.available ? "available" + (m.domain.empty() ? "" : " (" + m.domain + ")")
                                      : "not available (" + m.reason + ")");
    }
    if (format == "json") {
        nlohmann::ordered_json j;
        j["versus_version"] = core::versus_version();
        j["system"] = system::to_json(sys);
        j["backends"] = jb;
        j["power_meters"] = jm;
        j["probe_ms"] = ms;
        std::cout << j.dump(2) << "\n";
    } else if (format == "table" || format.empty()) {
        std::cout << system::to_table(sys) << "\nbackends\n" << tb << "\npower meters\n" << tm
                  << fmt::format("\nprobe took {:.1f} ms\n", ms);
    } else {
        throw UsageError("-o", fmt::format("probe prints table or json, not '{}'", format), "use -o table or -o json");
    }
    return EXIT_ALL_OK;
}

core::RunOptions run_options(const Common& c, double default_time) {
    core::RunOptions o;
    o.time_budget_s = c.time_s > 0 ? c.time_s : default_time;
    o.reps = c.reps;
    o.progress = !c.quiet && isatty(STDERR_FILENO);
    return o;
}

void write_report(const std::filesystem::path& path, const core::Context& ctx, const std::vector<Record>& records,
                  const std::string& summary) {
    std::ofstream md(path);
    if (!md) throw UsageError(path.string(), "cannot write the report", "choose a writable --out");
    md << "# versus run " << ctx.run_id << "\n\n" << core::context_block(ctx, true) << "\n"
       << core::render(records, Format::MD) << "\n" << summary << "\n";
}

// The jobs of workload w on every device of a backend that this process measures (its share of a host shared by
// ranks); `values` overrides the suite's sweep.
void plan_backend(const Session& s, const workloads::Workload& w, backend::BackendSlot& slot, bool full,
                  const std::string& threads, const std::map<std::string, std::string>& values,
                  std::vector<core::Job>& jobs) {
    for (int d = 0; d < slot.backend->device_count(); ++d) {
        const auto all = slot.backend->device_info(d);
        if (!s.owns(all, d)) continue;
        const auto info = s.share(all);
        auto sweep = w.suite(info, full);
        for (auto& [k, v] : sweep)
            if (auto it = values.find(k); it != values.end() && !it->second.empty()) v = it->second;
        auto js = core::plan_jobs(w, *slot.backend, d, sweep, threads.empty() ? default_threads(info, full) : threads);
        for (auto& j : js) {
            j.info.compute_units = info.compute_units;
            j.info.mem_budget_bytes = info.mem_budget_bytes;
        }
        jobs.insert(jobs.end(), std::make_move_iterator(js.begin()), std::make_move_iterator(js.end()));
    }
}

int cmd_run(const Common& c, bool full) {
    const Format f = output_format(c.format);
    const std::filesystem::path out = c.out.empty() ? core::default_results_path() : std::filesystem::path(c.out);
    Session s(c.rank_timeout_s);
    // Fails before any measuring if the path is unwritable; only the process that writes opens it.
    std::unique_ptr<core::ResultsFile> file;
    if (s.writes()) file = std::make_unique<core::ResultsFile>(out);
    std::vector<core::Job> jobs;
    std::vector<Record> pre;
    for (auto* slot : select_backends(s.backends, c.backends)) {
        for (const auto& w : workloads::all_workloads()) {
            if ((!full && !w->quick()) || !w->in_suite(s.world())) continue;
            if (!slot->backend) {
                pre.push_back(core::unavailable_record(s.ctx, slot->name, *w, slot->name + ": not available (" + slot->reason + ")"));
                continue;
            }
            plan_backend(s, *w, *slot, full, c.threads, {}, jobs);
        }
    }
    if (!c.quiet && s.writes())
        std::fprintf(stderr, "versus run: %zu rows%s, results appended to %s\n", jobs.size(),
                     s.comm ? fmt::format(" on rank 0 of {}", s.world()).c_str() : "", out.c_str());
    std::vector<Record> records;
    const auto t0 = std::chrono::steady_clock::now();
    const auto sum = execute(s, std::move(jobs), records, file.get(), run_options(c, full ? 1.0 : 0.4), std::move(pre));
    if (!s.writes()) return exit_code(sum);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The rows are in the results file already; the database is an index over them and may fail alone.
    record_run_in_history(c.db.empty() ? report::history_path_for(out) : std::filesystem::path(c.db),
                          full ? "run --full" : "run", records, c.quiet);
    const std::string summary = summary_line(sum, secs);
    print_results(s.ctx, records, f, summary);
    // Beside the measurements, what the platforms people weigh this machine against would give.
    std::string comparison;
    try {
        comparison = report::machine_comparison(records, report::default_comparison_platforms(), true);
        if (f == Format::TABLE || f == Format::MD)
            std::cout << "\n" << report::machine_comparison(records, report::default_comparison_platforms(), f == Format::MD);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "[versus] no comparison table: %s\n", e.what());
    }
    std::filesystem::path report = out;
    report.replace_extension(".md");
    write_report(report, s.ctx, records, summary + (comparison.empty() ? "" : "\n\n" + comparison));
    if (!c.quiet) std::fprintf(stderr, "report: %s\n", report.c_str());
    return exit_code(sum);
}

int cmd_bench(const workloads::Workload& w, const Common& c, const std::map<std::string, std::string>& values) {
    const Format f = output_format(c.format);
    Session s(c.rank_timeout_s);
    std::unique_ptr<core::ResultsFile> file;
    if (!c.out.empty() && s.writes()) file = std::make_unique<core::ResultsFile>(c.out);
    std::vector<core::Job> jobs;
    std::vector<Record> pre;
    for (auto* slot : select_backends(s.backends, c.backends.empty() ? "cpu" : c.backends)) {
        if (!slot->backend) {
            pre.push_back(core::unavailable_record(s.ctx, slot->name, w, slot->name + ": not available (" + slot->reason + ")"));
            continue;
        }
        // Parameters the user did not give take the quick suite's values.
        plan_backend(s, w, *slot, false, c.threads, values, jobs);
    }
    // Explicitly requested sizes that cannot fit are the user's to fix: refuse before allocating.
    if (auto over = core::jobs_over_budget(jobs); !over.empty())
        throw UsageError("memory", over.front() + (over.size() > 1 ? fmt::format(" (and {} more)", over.size() - 1) : ""),
                         "choose a smaller size");
    std::vector<Record> records;
    const auto t0 = std::chrono::steady_clock::now();
    const auto sum = execute(s, std::move(jobs), records, file.get(), run_options(c, 0.5), std::move(pre));
    if (!s.writes()) return exit_code(sum);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (file || !c.db.empty())
        record_run_in_history(c.db.empty() ? report::history_path_for(c.out) : std::filesystem::path(c.db),
                              "bench " + std::string(w.key()), records, c.quiet);
    print_results(s.ctx, records, f, summary_line(sum, secs));
    return exit_code(sum);
}

int cmd_list() {
    for (const auto& w : workloads::all_workloads()) {
        std::cout << fmt::format("{:<10} {}{}\n", w->key(), w->description(), w->quick() ? "" : " (not in the quick suite)");
        for (const auto& p : w->params()) {
            std::string vals;
            if (p.kind == core::ParamKind::CHOICE)
                for (const auto& c : p.choices) vals += (vals.empty() ? "" : ",") + c;
            std::cout << fmt::format("    --{:<10} {}{}{}\n", p.name, p.help, vals.empty() ? "" : " [" + vals + "]",
                                     p.quick.empty() ? "" : " (quick: " + p.quick + ")");
        }
    }
    return EXIT_ALL_OK;
}

void add_common(CLI::App* app, Common& c, bool with_out_help_run) {
    app->add_option("-o,--output", c.format, "output format: table, md, csv, json, jsonl, sql (default: table on a "
                                             "terminal, md otherwise)");
    app->add_option("-b,--backend", c.backends, "backends to use, comma-separated (cpu, cuda, metal)");
    app->add_option("-t,--threads", c.threads, "CPU threads: list or range, e.g. 1,2 or 1-16*2");
    app->add_option("--time", c.time_s, "measuring time per row in seconds (after warmup)")->check(CLI::Range(0.001, 3600.0));
    app->add_option("-r,--reps", c.reps, "exact number of samples per row (overrides --time)")->check(CLI::Range(1, 1000000));
    app->add_option("--out", c.out,
                    with_out_help_run ? "results file to append to (default ~/.local/share/versus/results.jsonl)"
                                      : "also append the records to this JSONL results file");
    app->add_option("--db", c.db,
                    with_out_help_run ? "history database to add the run to (default: versus.db beside the results file)"
                                      : "history database to add the run to (default: versus.db beside --out, if given)");
    app->add_flag("-q,--quiet", c.quiet, "no progress lines on stderr");
    app->add_option("--rank-timeout", c.rank_timeout_s,
                    "under mpirun: seconds of silence after which a rank counts as lost (ranks on this host: at once "
                    "when their process is gone)")
        ->check(CLI::Range(1.0, 86400.0));
}

}  // namespace

namespace {

int parse_and_run(int argc, char** argv) {
    // `versus quality ...` is `versus bench quality ...`.
    std::vector<char*> args(argv, argv + argc);
    static char bench_word[] = "bench";
    if (argc > 1 && std::string_view(argv[1]) == "quality") args.insert(args.begin() + 1, bench_word);
    argc = static_cast<int>(args.size());
    argv = args.data();
    CLI::App app{"versus: measure, predict and compare AI workloads on CPUs, CUDA GPUs and Apple Silicon"};
    app.set_version_flag("--version", core::versus_version());
    app.require_subcommand(1);

    std::string probe_format = "table";
    auto* probe = app.add_subcommand("probe", "describe this machine: CPU/ISA, memory, devices, container/VM, power meters");
    probe->add_option("-o,--output", probe_format, "table or json");

    Common run_c;
    bool full = false;
    auto* run = app.add_subcommand("run", "the main job: probe, then the quick suite on every available backend");
    add_common(run, run_c, true);
    run->add_flag("--full", full, "run the long sweeps instead of the quick suite");

    Common bench_c;
    auto* bench = app.add_subcommand("bench", "run one workload with your parameters (lists and ranges sweep)");
    bench->require_subcommand(1);
    std::map<std::string, std::map<std::string, std::string>> bench_values;
    for (const auto& w : workloads::all_workloads()) {
        auto* sub = bench->add_subcommand(std::string(w->key()), std::string(w->description()));
        add_common(sub, bench_c, false);
        auto& vals = bench_values[std::string(w->key())];
        for (const auto& p : w->params()) {
            std::string help = p.help;
            if (p.kind == core::ParamKind::CHOICE) {
                std::string list;
                for (const auto& c : p.choices) list += (list.empty() ? "" : ",") + c;
                help += " [" + list + ",all]";
            }
            if (!p.quick.empty()) help += " (default " + p.quick + ")";
            auto* opt = sub->add_option((p.flags.empty() ? "" : p.flags + ",") + "--" + p.name, vals[p.name], help);
            if (!p.flag_value.empty()) opt->expected(0, 1)->default_str(p.flag_value)->option_text("[VALUE]");
        }
    }

    app.add_subcommand("list", "list the workloads and their parameters");
    LlmCommands* llm_cmds = add_llm_commands(app);
    TokenizeCommand* tokenize_cmd = add_tokenize_command(app);
    SpecsCommands* specs_cmds = add_specs_commands(app);
    PredictCommands* predict_cmds = add_predict_commands(app);
    HistoryCommands* history_cmds = add_history_commands(app);
    AuditCommands* audit_cmds = add_audit_commands(app);
    CompareCommands* compare_cmds = add_compare_commands(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "[versus] %s. HINT: run `versus --help` or `versus COMMAND --help`\n", e.what());
        return EXIT_USAGE;
    }

    if (*probe) return cmd_probe(probe_format);
    if (*run) return cmd_run(run_c, full);
    if (app.got_subcommand("list")) return cmd_list();
    if (int rc = run_llm_commands(llm_cmds); rc >= 0) return rc;
    if (int rc = run_tokenize_command(tokenize_cmd); rc >= 0) return rc;
    if (int rc = run_specs_commands(specs_cmds); rc >= 0) return rc;
    if (int rc = run_predict_commands(predict_cmds); rc >= 0) return rc;
    if (int rc = run_history_commands(history_cmds); rc >= 0) return rc;
    if (int rc = run_audit_commands(audit_cmds); rc >= 0) return rc;
    if (int rc = run_compare_commands(compare_cmds); rc >= 0) return rc;
    for (auto* sub : bench->get_subcommands())
        if (*sub) return cmd_bench(*workloads::find_workload(sub->get_name()), bench_c, bench_values[sub->get_name()]);
    return EXIT_USAGE;
}

}  // namespace

int main(int argc, char** argv) {
    return run_guarded([&] { return parse_and_run(argc, argv); });
}

}  // namespace versus::cli
