// The SQLite history: records round-trip, a v1 database is migrated, a newer, corrupt, foreign or
// locked database is refused without harm, concurrent writers lose nothing, the regression rule on
// histories worked out by hand, and the command's exit codes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/error.hpp"
#include "cli/cli-history.hpp"
#include "core/results-file.hpp"
#include "report/history.hpp"

using namespace versus;
using core::Record;
using core::Samples;
using report::History;
using report::RegressionVerdict;
using report::TestPoint;

namespace {

std::filesystem::path fresh_path(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("versus-history-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto p = dir / name;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(p.string() + suffix);
    return p;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string day(int d) { return fmt::format("2026-01-{:02d}T12:00:00Z", d); }

Record make_record(const std::string& run_id, const std::string& time, const std::string& key, double median_ns,
                   double mdape_pct = 1.0, const std::string& status = "ok") {
    Record r;
    r.set("schema_version", int64_t{1});
    r.set("run_id", run_id);
    r.set("time", time);
    r.set("versus_version", std::string("0.1.0"));
    r.set("build_type", std::string("Release"));
    r.set("host", std::string("box"));
    r.set("gpu", core::Null{});
    r.set("backend", std::string("cpu"));
    r.set("device", std::string("Test CPU"));
    r.set("memory_kind", std::string("host"));
    r.set("workload", std::string("gemm"));
    r.set("key", key);
    r.set("threads", int64_t{1});
    r.set("samples_ns", Samples{int64_t(median_ns), int64_t(median_ns) + 3, int64_t(median_ns) - 2});
    const bool ok = status == "ok";
    r.set("median_ns", ok ? core::Value{median_ns} : core::Value{core::Null{}});
    r.set("mdape_pct", ok ? core::Value{mdape_pct} : core::Value{core::Null{}});
    r.set("gflops", ok ? core::Value{1e3 / median_ns} : core::Value{core::Null{}});
    r.set("unstable", false);
    r.set("status", status);
    r.set("reason", ok ? core::Value{core::Null{}} : core::Value{std::string("no kernel")});
    return r;
}

// A raw connection for what the tests do behind History's back.
struct RawDb {
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> db{nullptr, &sqlite3_close};
    explicit RawDb(const std::filesystem::path& p) {
        sqlite3* raw = nullptr;
        EXPECT_EQ(sqlite3_open(p.c_str(), &raw), SQLITE_OK);
        db.reset(raw);
    }
    void exec(const std::string& sql) {
        ASSERT_EQ(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
            << sqlite3_errmsg(db.get());
    }
    int64_t scalar(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db.get());
        int64_t v = -1;
        if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
    }
};

std::string what_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(no UsageError)";
}

struct CliResult {
    int code;
    std::string out, err;
};

CliResult run_versus(const std::string& args) {
    const auto out = fresh_path("cli.out"), err = fresh_path("cli.err");
    const std::string cmd = std::string(VERSUS_BINARY) + " " + args + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace

TEST(History, RecordsRoundTrip) {
    const auto path = fresh_path("rt.db");
    std::vector<Record> run = {make_record("r1", day(1), "size=64", 1000.5),
                               make_record("r1", day(1), "size=128", 8000),
                               make_record("r1", day(1), "size=256", 0, 0, "skipped")};
    {
        History h(path);
        EXPECT_EQ(h.schema_version(), report::HISTORY_SCHEMA_VERSION);
        EXPECT_GT(h.add_run("run", run), 0);
        EXPECT_EQ(h.add_run("run", run), 0) << "the same run_id is stored once";
    }
    History h(path, History::Open::EXISTING);
    const auto runs = h.runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].run_id, "r1");
    EXPECT_EQ(runs[0].time, day(1));
    EXPECT_EQ(runs[0].host, "box");
    EXPECT_EQ(runs[0].versus_version, "0.1.0");
    EXPECT_EQ(runs[0].command, "run");
    EXPECT_EQ(runs[0].rows, 3);
    EXPECT_EQ(runs[0].ok, 2);
    EXPECT_EQ(runs[0].skipped, 1);
    EXPECT_EQ(runs[0].failed, 0);
    const auto recs = h.records("gemm");
    ASSERT_EQ(recs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(recs[i].record.to_json().dump(), run[i].to_json().dump());
    EXPECT_TRUE(h.records("membw").empty());
    EXPECT_TRUE(h.runs(day(2)).empty());
    EXPECT_EQ(h.runs("2026-01-01").size(), 1u);
}

TEST(History, MigratesAVersionOneDatabase) {
    const auto path = fresh_path("v1.db");
    {
        // Schema 1 as the first release wrote it (docs/history.md), with one run in it.
        RawDb raw(path);
        raw.exec(R"sql(
            CREATE TABLE runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, time TEXT NOT NULL, host TEXT,
                               versus_version TEXT, build_type TEXT, command TEXT);
            CREATE TABLE records (id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                                  seq INTEGER NOT NULL, host TEXT, backend TEXT, device TEXT, workload TEXT, key TEXT,
                                  status TEXT, json TEXT NOT NULL);
            CREATE INDEX records_by_run ON records(run);
            INSERT INTO runs VALUES (1, 'old', '2026-01-01T12:00:00Z', 'box', '0.0.9', 'Release', 'run');
            PRAGMA user_version = 1;
        )sql");
        sqlite3_stmt* s = nullptr;
        ASSERT_EQ(
            sqlite3_prepare_v2(raw.db.get(),
                               "INSERT INTO records (run, seq, host, backend, device, workload, key, status, json) "
                               "VALUES (1, ?1, 'box', 'cpu', 'Test CPU', 'gemm', ?2, ?3, ?4)",
                               -1, &s, nullptr),
            SQLITE_OK);
        const std::vector<Record> old = {make_record("old", day(1), "size=64", 1500, 2.5),
                                         make_record("old", day(1), "size=128", 0, 0, "error")};
        for (int i = 0; i < 2; ++i) {
            const std::string key = old[i].str("key"), status = old[i].str("status"), json = old[i].to_json().dump();
            sqlite3_bind_int(s, 1, i);
            sqlite3_bind_text(s, 2, key.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 3, status.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 4, json.c_str(), -1, SQLITE_TRANSIENT);
            ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
    }
    {
        History h(path, History::Open::EXISTING);
        EXPECT_EQ(h.schema_version(), 2);
        const auto runs = h.runs();
        ASSERT_EQ(runs.size(), 1u);
        EXPECT_EQ(runs[0].rows, 2);
        EXPECT_EQ(runs[0].failed, 1);
        EXPECT_EQ(h.records("gemm").size(), 2u);
        EXPECT_GT(h.add_run("run", {make_record("new", day(2), "size=64", 1400)}), 0);
    }
    RawDb raw(path);
    EXPECT_EQ(raw.scalar("PRAGMA user_version"), 2);
    // The new columns were filled from the JSON of the rows that were there before.
    EXPECT_EQ(raw.scalar("SELECT median_ns FROM records WHERE key = 'size=64' AND run = 1"), 1500);
    EXPECT_EQ(raw.scalar("SELECT mdape_pct * 10 FROM records WHERE key = 'size=64' AND run = 1"), 25);
    EXPECT_EQ(raw.scalar("SELECT median_ns IS NULL FROM records WHERE key = 'size=128'"), 1);
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'records_by_test'"), 1);
}

TEST(History, RefusesADatabaseFromTheFuture) {
    const auto path = fresh_path("future.db");
    History(path).add_run("run", {make_record("r1", day(1), "size=64", 1000)});
    RawDb(path).exec("PRAGMA user_version = 99");
    const std::string msg = what_of([&] { History h(path); });
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("newer"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HINT"), std::string::npos) << msg;
    RawDb raw(path);
    EXPECT_EQ(raw.scalar("PRAGMA user_version"), 99);
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM runs"), 1);
}

TEST(History, RefusesCorruptAndForeignFilesUntouched) {
    const auto corrupt = fresh_path("corrupt.db");
    const std::string junk(4096, 'x');
    std::ofstream(corrupt, std::ios::binary) << junk;
    const std::string msg = what_of([&] { History h(corrupt); });
    EXPECT_NE(msg.find(corrupt.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a readable history database"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HINT"), std::string::npos) << msg;
    EXPECT_EQ(slurp(corrupt), junk);

    const auto foreign = fresh_path("foreign.db");
    RawDb(foreign).exec("CREATE TABLE photos (id INTEGER); INSERT INTO photos VALUES (1);");
    const std::string msg2 = what_of([&] { History h(foreign); });
    EXPECT_NE(msg2.find("not a versus history"), std::string::npos) << msg2;
    EXPECT_EQ(RawDb(foreign).scalar("SELECT COUNT(*) FROM sqlite_master"), 1);

    const std::string msg3 = what_of([&] { History h(fresh_path("missing.db"), History::Open::EXISTING); });
    EXPECT_NE(msg3.find("no history database"), std::string::npos) << msg3;
}

TEST(History, LockedDatabaseIsAClearErrorAndTheRunCanBeAddedLater) {
    const auto path = fresh_path("locked.db");
    History(path).add_run("run", {make_record("r1", day(1), "size=64", 1000)});
    RawDb other(path);
    other.exec("BEGIN EXCLUSIVE");
    History h(path, History::Open::CREATE, 200);
    const std::vector<Record> run = {make_record("r2", day(2), "size=64", 1000)};
    const std::string msg = what_of([&] { h.add_run("run", run); });
    EXPECT_NE(msg.find("locked"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    other.exec("COMMIT");
    EXPECT_GT(h.add_run("run", run), 0);
    EXPECT_EQ(h.runs().size(), 2u);
}

TEST(History, ConcurrentWritersLoseNothing) {
    // Two processes create the database and write at once, as two `versus run` finishing together.
    const auto path = fresh_path("concurrent.db");
    constexpr int PROCS = 2, RUNS = 25, ROWS = 4;
    std::vector<pid_t> kids;
    for (int p = 0; p < PROCS; ++p) {
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int rc = 0;
            try {
                for (int i = 0; i < RUNS; ++i) {
                    const std::string id = fmt::format("p{}-{}", p, i);
                    std::vector<Record> run;
                    for (int k = 0; k < ROWS; ++k)
                        run.push_back(make_record(id, day(1 + i % 28), fmt::format("size={}", k), 1000 + k));
                    History h(path);  // a fresh connection per run, as each process has
                    if (h.add_run("run", run) == 0) rc = 3;
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "writer %d: %s\n", p, e.what());
                rc = 1;
            }
            ::_exit(rc);
        }
        kids.push_back(pid);
    }
    // Threads in this process write at the same time through their own connections.
    std::vector<std::thread> threads;
    std::atomic<int> thread_failures{0};
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            try {
                History h(path);
                for (int i = 0; i < RUNS; ++i)
                    if (h.add_run("bench gemm", {make_record(fmt::format("t{}-{}", t, i), day(2), "size=1", 10)}) == 0)
                        ++thread_failures;
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++thread_failures;
            }
        });
    for (auto& th : threads) th.join();
    for (const pid_t pid : kids) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer exit status " << status;
    }
    EXPECT_EQ(thread_failures.load(), 0);
    History h(path, History::Open::EXISTING);
    const auto runs = h.runs();
    EXPECT_EQ(runs.size(), size_t(PROCS * RUNS + 2 * RUNS));
    int64_t rows = 0;
    for (const auto& r : runs) rows += r.rows;
    EXPECT_EQ(rows, PROCS * RUNS * ROWS + 2 * RUNS);
}

namespace {
std::vector<TestPoint> points(const std::vector<double>& medians, double mdape = 0.5) {
    std::vector<TestPoint> out;
    for (size_t i = 0; i < medians.size(); ++i) out.push_back({int64_t(i + 1), day(int(i) + 1), medians[i], mdape});
    return out;
}
}  // namespace

TEST(HistoryRegressions, RuleOnHistoriesWorkedOutByHand) {
    // Earlier 100, 101, 99, 100.5, 99.5: baseline 100, MdAPE of the medians 0.5%, within-run 0.5%:
    // band = max(2%, 3 x 0.5%) = 2%.
    const std::vector<double> steady = {100, 101, 99, 100.5, 99.5};
    auto with_latest = [&](double latest) {
        auto v = steady;
        v.push_back(latest);
        return report::judge(points(v));
    };
    auto j = with_latest(101.5);
    EXPECT_EQ(j.verdict, RegressionVerdict::WITHIN_NOISE);
    EXPECT_DOUBLE_EQ(j.earlier_median_ns, 100);
    EXPECT_NEAR(j.change_pct, 1.5, 1e-9);
    EXPECT_DOUBLE_EQ(j.band_pct, 2.0);
    EXPECT_EQ(j.n_earlier, 5);

    j = with_latest(110);
    EXPECT_EQ(j.verdict, RegressionVerdict::REGRESSION);
    EXPECT_NEAR(j.change_pct, 10, 1e-9);
    j = with_latest(90);
    EXPECT_EQ(j.verdict, RegressionVerdict::IMPROVEMENT);
    EXPECT_NEAR(j.change_pct, -10, 1e-9);

    // A noisy history widens the band: medians 100, 110, 90, 105, 95 have MdAPE 5% -> band 15%.
    j = report::judge(points({100, 110, 90, 105, 95, 110}));
    EXPECT_DOUBLE_EQ(j.band_pct, 15.0);
    EXPECT_EQ(j.verdict, RegressionVerdict::WITHIN_NOISE);
    j = report::judge(points({100, 110, 90, 105, 95, 120}));
    EXPECT_EQ(j.verdict, RegressionVerdict::REGRESSION);

    // Noisy runs widen it too: within-run MdAPE 4% -> band 12%.
    j = report::judge(points({100, 100, 100, 110}, 4.0));
    EXPECT_DOUBLE_EQ(j.band_pct, 12.0);
    EXPECT_EQ(j.verdict, RegressionVerdict::WITHIN_NOISE);

    // Two earlier runs are not enough to tell noise from a change.
    j = report::judge(points({100, 100, 200}));
    EXPECT_EQ(j.verdict, RegressionVerdict::TOO_FEW_RUNS);
    EXPECT_EQ(j.n_earlier, 2);
    EXPECT_NEAR(j.change_pct, 100, 1e-9);

    // Only the last 10 earlier runs count: a machine that got faster long ago is judged on now.
    std::vector<double> upgraded(5, 200);
    upgraded.insert(upgraded.end(), 10, 100);
    upgraded.push_back(101);
    j = report::judge(points(upgraded));
    EXPECT_EQ(j.n_earlier, 10);
    EXPECT_DOUBLE_EQ(j.earlier_median_ns, 100);
    EXPECT_EQ(j.verdict, RegressionVerdict::WITHIN_NOISE);
}

TEST(HistoryRegressions, FoundInADatabaseWithAndWithoutAShift) {
    const auto path = fresh_path("regress.db");
    History h(path);
    // Six runs of three tests: size=64 steady, size=128 20% slower in the last run, size=256 only
    // measured twice, and one failed row that must not count.
    const std::vector<double> noise = {0, 0.8, -0.6, 0.3, -0.2, 0.5};
    for (int i = 0; i < 6; ++i) {
        const std::string id = fmt::format("r{}", i);
        std::vector<Record> run = {
            make_record(id, day(i + 1), "size=64", 1000 * (1 + noise[i] / 100)),
            make_record(id, day(i + 1), "size=128", i == 5 ? 9600 : 8000 * (1 + noise[i] / 100))};
        if (i >= 4) run.push_back(make_record(id, day(i + 1), "size=256", 64000));
        if (i == 5) run.push_back(make_record(id, day(i + 1), "size=512", 0, 0, "error"));
        ASSERT_GT(h.add_run("run", run), 0);
    }
    const auto rows = h.regressions();
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].key, "size=64");
    EXPECT_EQ(rows[0].j.verdict, RegressionVerdict::WITHIN_NOISE);
    EXPECT_EQ(rows[1].key, "size=128");
    EXPECT_EQ(rows[1].j.verdict, RegressionVerdict::REGRESSION);
    EXPECT_NEAR(rows[1].j.change_pct, 20, 0.5);
    EXPECT_EQ(rows[1].latest_time, day(6));
    EXPECT_EQ(rows[2].key, "size=256");
    EXPECT_EQ(rows[2].j.verdict, RegressionVerdict::TOO_FEW_RUNS);
    EXPECT_TRUE(h.regressions("membw").empty());
    // From day 3 on, size=128 has only three earlier runs: still judged.
    const auto recent = h.regressions("gemm", day(3));
    ASSERT_EQ(recent.size(), 3u);
    EXPECT_EQ(recent[1].j.n_earlier, 3);
    EXPECT_EQ(recent[1].j.verdict, RegressionVerdict::REGRESSION);
}

TEST(HistoryRegressions, SinceAcceptsDatesOnly) {
    EXPECT_EQ(report::parse_since("2026-01-31"), "2026-01-31");
    EXPECT_EQ(report::parse_since("2026-01-31 08:00"), "2026-01-31T08:00");
    EXPECT_THROW(report::parse_since("yesterday"), UsageError);
    EXPECT_THROW(report::parse_since("2026-13-01"), UsageError);
}

TEST(HistoryCli, CorruptDatabaseExitsTwoWithThePathAndAHint) {
    const auto corrupt = fresh_path("cli-corrupt.db");
    std::ofstream(corrupt, std::ios::binary) << std::string(2048, '\x7f');
    auto r = run_versus("history --db " + corrupt.string());
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(corrupt.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;

    r = run_versus("history --db " + fresh_path("cli-missing.db").string());
    EXPECT_EQ(r.code, 2) << r.err;
    r = run_versus("history --since someday --db " + corrupt.string());
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("--since"), std::string::npos) << r.err;
}

TEST(HistoryCli, BenchRecordsItsRunAndACorruptDatabaseLosesNothing) {
    const auto out = fresh_path("bench/results.jsonl");
    std::filesystem::remove(out.parent_path() / "versus.db");
    const std::string bench = "bench gemm --dtype f32 --size 64 -r 2 -t 1 -q -o jsonl --out " + out.string();
    auto r = run_versus(bench);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto db = out.parent_path() / "versus.db";
    r = run_versus("history -o json --db " + db.string());
    ASSERT_EQ(r.code, 0) << r.err;
    const auto runs = nlohmann::json::parse(r.out);
    ASSERT_EQ(runs.size(), 1u) << r.out;
    EXPECT_EQ(runs[0]["command"], "bench gemm");
    EXPECT_EQ(runs[0]["ok"], 1);
    r = run_versus("history --workload gemm -o table --db " + db.string());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("GFLOP/s"), std::string::npos) << r.out;

    // A corrupt database is a warning: the run still ends well and its rows are in the results file.
    const auto corrupt = fresh_path("bench-corrupt.db");
    const std::string junk(2048, 'z');
    std::ofstream(corrupt, std::ios::binary) << junk;
    r = run_versus(bench + " --db " + corrupt.string());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(corrupt.string()), std::string::npos) << r.err;
    EXPECT_EQ(core::read_results(out).records.size(), 2u);
    EXPECT_EQ(slurp(corrupt), junk);

    // The results file refills a database: the run already there is kept once, the other added.
    r = run_versus("history --import " + out.string() + " --db " + db.string());
    EXPECT_EQ(r.code, 0) << r.err;
    r = run_versus("history -o json --db " + db.string());
    EXPECT_EQ(nlohmann::json::parse(r.out).size(), 2u) << r.out;
}

TEST(HistoryCli, RegressionsExitOneWhenATestGotSlower) {
    const auto path = fresh_path("cli-regress.db");
    {
        History h(path);
        for (int i = 0; i < 5; ++i)
            h.add_run("run", {make_record(fmt::format("r{}", i), day(i + 1), "size=64", i == 4 ? 1500 : 1000)});
    }
    auto r = run_versus("history --regressions --db " + path.string());
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.out.find("regression"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("+50.0%"), std::string::npos) << r.out;
    r = run_versus("history --regressions --since 2026-01-05 --db " + path.string());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("too few runs"), std::string::npos) << r.out;
}
