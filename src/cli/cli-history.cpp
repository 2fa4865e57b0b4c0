#include "cli/cli-history.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.hpp"
#include "core/printers.hpp"
#include "core/results-file.hpp"
#include "report/history.hpp"

namespace versus::cli {

struct HistoryCommands {
    CLI::App* history = nullptr;
    std::string db, workload, since, format = "table", import_file;
    bool regressions = false;
};

namespace {

using report::History;

// "2026-11-26T05:24:03Z" -> "2026-11-26 05:24:03" for tables (the header says UTC).
std::string show_time(std::string t) {
    if (t.size() > 10 && t[10] == 'T') t[10] = ' ';
    if (!t.empty() && t.back() == 'Z') t.pop_back();
    return t;
}

// A duration in the unit that keeps it readable, 4 significant digits.
std::string show_ns(double ns) {
    if (ns <= 0) return "-";
    if (ns < 1e3) return core::format_value(ns) + " ns";
    if (ns < 1e6) return core::format_value(ns / 1e3) + " us";
    if (ns < 1e9) return core::format_value(ns / 1e6) + " ms";
    return core::format_value(ns / 1e9) + " s";
}

std::string show_pct(double pct, bool sign) {
    return sign ? fmt::format("{:+.1f}%", pct) : fmt::format("{:.1f}%", pct);
}

void no_rows(const HistoryCommands& c, const std::filesystem::path& db) {
    if (c.format == "json")
        std::cout << "[]\n";
    else
        std::fprintf(stderr, "[%s] nothing recorded%s%s\n", db.c_str(),
                     c.workload.empty() ? "" : (" for workload " + c.workload).c_str(),
                     c.since.empty() ? "" : (" since " + c.since).c_str());
}

int list_runs(const History& h, const HistoryCommands& c, const std::string& since) {
    const auto runs = h.runs(since);
    if (runs.empty()) {
        no_rows(c, h.path());
        return EXIT_ALL_OK;
    }
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& r : runs)
            out.push_back({{"run", r.id},
                           {"run_id", r.run_id},
                           {"time", r.time},
                           {"host", r.host},
                           {"versus_version", r.versus_version},
                           {"build_type", r.build_type},
                           {"command", r.command},
                           {"rows", r.rows},
                           {"ok", r.ok},
                           {"failed", r.failed},
                           {"skipped", r.skipped}});
        std::cout << out.dump(2) << "\n";
        return EXIT_ALL_OK;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : runs)
        rows.push_back({std::to_string(r.id), show_time(r.time), r.host, r.versus_version, r.command,
                        std::to_string(r.rows), std::to_string(r.ok), std::to_string(r.failed),
                        std::to_string(r.skipped)});
    std::cout << core::render_grid(
        {"run", "time (UTC)", "host", "versus", "command", "rows", "ok", "failed", "skipped"}, rows,
        {true, false, false, false, false, true, true, true, true}, c.format == "md");
    return EXIT_ALL_OK;
}

int list_workload(const History& h, const HistoryCommands& c, const std::string& since) {
    const auto recs = h.records(c.workload, since);
    if (recs.empty()) {
        no_rows(c, h.path());
        return EXIT_ALL_OK;
    }
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& r : recs) out.push_back(r.record.to_json());
        std::cout << out.dump(2) << "\n";
        return EXIT_ALL_OK;
    }
    std::set<std::string> hosts;
    for (const auto& r : recs) hosts.insert(r.record.str("host"));
    const bool with_host = hosts.size() > 1;
    std::vector<std::string> header = {"run", "time (UTC)"};
    if (with_host) header.push_back("host");
    for (const char* s : {"backend", "device", "key", "value", "median time", "status"}) header.emplace_back(s);
    std::vector<bool> right(header.size(), false);
    right[0] = true;
    right[header.size() - 3] = right[header.size() - 2] = true;
    std::vector<std::vector<std::string>> rows;
    for (const auto& hr : recs) {
        const core::Record& r = hr.record;
        const bool ok = r.str("status") == "ok";
        std::vector<std::string> row = {std::to_string(hr.run), show_time(hr.time)};
        if (with_host) row.push_back(r.str("host"));
        row.push_back(r.str("backend"));
        row.push_back(r.str("device"));
        row.push_back(r.str("key"));
        std::string unit;
        double value = 0;
        if (ok && core::headline(r, &unit, &value))
            row.push_back(core::format_value(value) + " ± " +
                          core::format_value(value * r.num("mdape_pct") / 100.0, 2) + " " + unit);
        else
            row.push_back("-");
        row.push_back(ok ? show_ns(r.num("median_ns")) : "-");
        const std::string why = r.str("reason");
        row.push_back(ok || why.empty() ? r.str("status") : r.str("status") + ": " + why);
        rows.push_back(std::move(row));
    }
    std::cout << (c.format == "md" ? "### " : "") << c.workload << " over time" << (c.format == "md" ? "\n\n" : "\n");
    std::cout << core::render_grid(header, rows, right, c.format == "md");
    return EXIT_ALL_OK;
}

int list_regressions(const History& h, const HistoryCommands& c, const std::string& since) {
    const report::RegressionRule rule;
    const auto found = h.regressions(c.workload, since, rule);
    if (found.empty()) {
        no_rows(c, h.path());
        return EXIT_ALL_OK;
    }
    std::map<report::RegressionVerdict, int> count;
    for (const auto& r : found) ++count[r.j.verdict];
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& r : found) {
            const auto& j = r.j;
            const bool judged = j.verdict != report::RegressionVerdict::TOO_FEW_RUNS;
            out.push_back(
                {{"host", r.host},
                 {"backend", r.backend},
                 {"device", r.device},
                 {"workload", r.workload},
                 {"key", r.key},
                 {"latest_time", r.latest_time},
                 {"n_earlier", j.n_earlier},
                 {"earlier_median_ns",
                  j.n_earlier ? nlohmann::ordered_json(j.earlier_median_ns) : nlohmann::ordered_json(nullptr)},
                 {"latest_ns", j.latest_ns},
                 {"change_pct", j.n_earlier ? nlohmann::ordered_json(j.change_pct) : nlohmann::ordered_json(nullptr)},
                 {"band_pct", judged ? nlohmann::ordered_json(j.band_pct) : nlohmann::ordered_json(nullptr)},
                 {"verdict", std::string(report::regression_verdict_name(j.verdict))}});
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::set<std::string> hosts;
        for (const auto& r : found) hosts.insert(r.host);
        const bool with_host = hosts.size() > 1;
        std::vector<std::string> header;
        if (with_host) header.push_back("host");
        for (const char* s : {"backend", "device", "test", "runs", "earlier", "latest", "change", "band", "verdict"})
            header.emplace_back(s);
        std::vector<bool> right(header.size(), true);
        for (size_t i = 0; i < (with_host ? 4u : 3u); ++i) right[i] = false;
        right.back() = false;
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : found) {
            const auto& j = r.j;
            const bool judged = j.verdict != report::RegressionVerdict::TOO_FEW_RUNS;
            std::vector<std::string> row;
            if (with_host) row.push_back(r.host);
            row.push_back(r.backend);
            row.push_back(r.device);
            row.push_back(r.workload + " " + r.key);
            row.push_back(std::to_string(j.n_earlier));
            row.push_back(j.n_earlier ? show_ns(j.earlier_median_ns) : "-");
            row.push_back(show_ns(j.latest_ns));
            row.push_back(j.n_earlier ? show_pct(j.change_pct, true) : "-");
            row.push_back(judged ? "±" + show_pct(j.band_pct, false) : "-");
            row.emplace_back(report::regression_verdict_name(j.verdict));
            rows.push_back(std::move(row));
        }
        const bool md = c.format == "md";
        std::cout << (md ? "### " : "") << "latest run against earlier runs (median time per op)"
                  << (md ? "\n\n" : "\n");
        std::cout << core::render_grid(header, rows, right, md);
        std::cout << fmt::format(
            "\n{} tests: {} regressions, {} improvements, {} within noise, {} with fewer than {} "
            "earlier runs\n",
            found.size(), count[report::RegressionVerdict::REGRESSION], count[report::RegressionVerdict::IMPROVEMENT],
            count[report::RegressionVerdict::WITHIN_NOISE], count[report::RegressionVerdict::TOO_FEW_RUNS],
            rule.min_earlier);
    }
    // Like a run with failed rows, so that a script or CI job can stop on it.
    return count[report::RegressionVerdict::REGRESSION] ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

// Rebuilds or extends the database from a results file; runs already stored are left as they are.
int import_results(const HistoryCommands& c, const std::filesystem::path& db) {
    const auto read = core::read_results(c.import_file);
    for (const auto& p : read.problems) std::fprintf(stderr, "%s\n", p.c_str());
    if (read.records.empty())
        throw UsageError(c.import_file, "no versus record in it",
                         "give a results file written by `versus run` or --out");
    std::map<std::string, size_t> index;
    std::vector<std::vector<core::Record>> runs;
    size_t no_id = 0;
    for (const auto& r : read.records) {
        const std::string id = r.str("run_id");
        if (id.empty()) {
            ++no_id;
            continue;
        }
        auto [it, added] = index.try_emplace(id, runs.size());
        if (added) runs.emplace_back();
        runs[it->second].push_back(r);
    }
    History h(db, History::Open::CREATE);
    size_t added = 0;
    for (const auto& run : runs) added += h.add_run("imported", run) != 0;
    std::fprintf(stderr, "imported %zu runs into %s (%zu already there)%s\n", added, db.c_str(), runs.size() - added,
                 no_id ? fmt::format("; {} records without a run_id left out", no_id).c_str() : "");
    return EXIT_ALL_OK;
}

int cmd_history(const HistoryCommands& c) {
    if (c.format != "table" && c.format != "md" && c.format != "json")
        throw UsageError("-o", fmt::format("history prints table, md or json, not '{}'", c.format),
                         "use -o table, md or json");
    const std::string since = c.since.empty() ? std::string() : report::parse_since(c.since);
    const std::filesystem::path db = c.db.empty() ? report::default_history_path() : std::filesystem::path(c.db);
    if (!c.import_file.empty()) return import_results(c, db);
    const History h(db, History::Open::EXISTING);
    if (c.regressions) return list_regressions(h, c, since);
    if (!c.workload.empty()) return list_workload(h, c, since);
    return list_runs(h, c, since);
}

}  // namespace

bool record_run_in_history(const std::filesystem::path& db, const std::string& command,
                           const std::vector<core::Record>& records, bool quiet) {
    if (records.empty()) return true;
    try {
        History h(db, History::Open::CREATE);
        const int64_t id = h.add_run(command, records);
        if (!quiet) std::fprintf(stderr, "history: %s (run %lld)\n", db.c_str(), static_cast<long long>(id));
        return true;
    } catch (const std::exception& e) {
        std::fprintf(stderr,
                     "[versus] warning: this run was not added to the history; every row is in the results file: %s\n",
                     e.what());
        return false;
    }
}

HistoryCommands* add_history_commands(CLI::App& app) {
    static HistoryCommands c;
    c.history =
        app.add_subcommand("history", "past runs from the history database: list, one workload over time, regressions");
    auto* h = c.history;
    h->add_option("-w,--workload", c.workload,
                  "show this workload's rows over time (with --regressions: only its tests)");
    h->add_option("--since", c.since, "only runs from this date on: YYYY-MM-DD or an RFC 3339 UTC time");
    h->add_option("--db", c.db, "history database (default ~/.local/share/versus/versus.db)");
    h->add_flag("--regressions", c.regressions,
                "judge each test's latest median against its earlier runs (exit 1 when one regressed)");
    h->add_option("--import", c.import_file, "add the runs of a results file (JSONL) that the database lacks");
    h->add_option("-o,--output", c.format, "table, md or json")->capture_default_str();
    return &c;
}

int run_history_commands(HistoryCommands* c) {
    if (*c->history) return cmd_history(*c);
    return -1;
}

}  // namespace versus::cli
