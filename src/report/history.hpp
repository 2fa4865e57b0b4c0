// history: every run's records in an SQLite database, for listing runs, following a test over
// time and flagging regressions. The JSONL results file stays the source of truth; this database is
// an index over it that can be rebuilt (`versus history --import results.jsonl`).
//
// Schema (PRAGMA user_version; docs/history.md):
//   v1  runs(id, run_id UNIQUE, time, host, versus_version, build_type, command)
//       records(id, run -> runs.id, seq, host, backend, device, workload, key, status, json)
//   v2  records gains median_ns and mdape_pct (REAL, filled from json) and an index on the key
//       fields, so the regression query reads columns instead of parsing every record.
// Opening migrates an older database in one transaction; a newer one is refused.
// Concurrency: WAL journal, a busy timeout, and one BEGIN IMMEDIATE transaction per run, so two
// `versus run` finishing at once both land.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"

namespace versus::report {

inline constexpr int HISTORY_SCHEMA_VERSION = 2;
inline constexpr int HISTORY_BUSY_TIMEOUT_MS = 10000;

// $XDG_DATA_HOME/versus/versus.db, else ~/.local/share/versus/versus.db (beside the results file).
std::filesystem::path default_history_path();
// The database that goes with a results file: versus.db in the same folder, so that a run kept
// apart with --out keeps its history apart too.
std::filesystem::path history_path_for(const std::filesystem::path& results);

// One run as listed by `versus history`.
struct RunRow {
    int64_t id = 0;  // the database's id, shown to users as the run number
    std::string run_id, time, host, versus_version, build_type, command;
    int64_t rows = 0, ok = 0, failed = 0, skipped = 0;  // failed = error + interrupted
};

// One stored record with the run it belongs to.
struct HistoryRecord {
    int64_t run = 0;
    std::string time;
    core::Record record;
};

// One ok measurement of a test, for the regression check.
struct TestPoint {
    int64_t run = 0;
    std::string time;
    double median_ns = 0;
    double mdape_pct = 0;  // within-run noise of that measurement
};

enum class RegressionVerdict { REGRESSION, IMPROVEMENT, WITHIN_NOISE, TOO_FEW_RUNS };
std::string_view regression_verdict_name(RegressionVerdict v);

// The noise band rule (docs/metrics.md, "Regressions"): the baseline is the median of the last
// `window` earlier medians; the band is max(floor_pct, k * spread) where spread is the larger of
// the earlier medians' MdAPE around the baseline (run-to-run noise) and the median of their
// within-run MdAPE; at least `min_earlier` earlier runs are needed.
struct RegressionRule {
    int min_earlier = 3;
    int window = 10;
    double k = 3.0;
    double floor_pct = 2.0;
};

struct Judgement {
    int n_earlier = 0;             // earlier runs used (at most rule.window)
    double earlier_median_ns = 0;  // the baseline
    double latest_ns = 0;
    double change_pct = 0;  // (latest / baseline - 1) * 100: positive is slower
    double band_pct = 0;
    RegressionVerdict verdict = RegressionVerdict::TOO_FEW_RUNS;
};

// `points` oldest first; the last one is the latest run. Pure, so that it is testable by hand.
Judgement judge(const std::vector<TestPoint>& points, const RegressionRule& rule = {});

struct RegressionRow {
    std::string host, backend, device, workload, key;
    std::string latest_time;
    Judgement j;
};

class History {
public:
    enum class Open { CREATE, EXISTING };

    // Opens (CREATE: creating the file and its folders) and migrates to HISTORY_SCHEMA_VERSION.
    // Throws UsageError naming the path with a hint when the file is missing (EXISTING), newer than
    // this program, not a versus database, corrupt, unwritable, or locked beyond the busy timeout.
    explicit History(const std::filesystem::path& path, Open mode = Open::CREATE,
                     int busy_timeout_ms = HISTORY_BUSY_TIMEOUT_MS);
    ~History();
    History(History&&) noexcept;
    History& operator=(History&&) noexcept;

    const std::filesystem::path& path() const;
    int schema_version() const;

    // Stores the records of one run (they share its run_id, time, host and version) in one
    // transaction. Returns the run's number, or 0 when that run_id is already stored (nothing is
    // written) or `records` is empty. Throws UsageError as the constructor does.
    int64_t add_run(const std::string& command, const std::vector<core::Record>& records);

    // Runs with time >= since ("" = all; compared as RFC 3339 text), oldest first; with a workload,
    // only the runs that measured it.
    std::vector<RunRow> runs(const std::string& since = {}, const std::string& workload = {}) const;
    // Every stored record of a workload, grouped by test (host, backend, device, key) and oldest
    // first within each.
    std::vector<HistoryRecord> records(const std::string& workload, const std::string& since = {}) const;
    // For each test ("" workload = all), its latest ok median judged against its earlier ones;
    // runs before `since` are left out (e.g. to start afresh after a hardware change).
    std::vector<RegressionRow> regressions(const std::string& workload = {}, const std::string& since = {},
                                           const RegressionRule& rule = {}) const;

private:
    struct Db;
    std::unique_ptr<Db> db_;
};

// Accepts "YYYY-MM-DD" or an RFC 3339 time; throws UsageError naming `option` otherwise.
std::string parse_since(const std::string& text, const std::string& option = "--since");

}  // namespace versus::report
