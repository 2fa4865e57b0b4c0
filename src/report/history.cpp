#include "report/history.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "base/error.hpp"
#include "base/stats.hpp"
#include "core/results-file.hpp"

namespace versus::report {

// Thin RAII layer over the sqlite3 C API. Every failure goes through Connection::fail, which turns
// the SQLite result code into a UsageError that names the file and says what to do.
namespace sqlite {

struct CloseDb {
    void operator()(sqlite3* d) const { sqlite3_close_v2(d); }
};
struct FinalizeStmt {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

struct Connection {
    std::filesystem::path path;
    std::unique_ptr<sqlite3, CloseDb> handle;
    int busy_ms = HISTORY_BUSY_TIMEOUT_MS;
    int version = 0;

    sqlite3* get() const { return handle.get(); }

    [[noreturn]] void fail(int rc, std::string_view doing) const {
        const std::string msg = handle ? sqlite3_errmsg(handle.get()) : sqlite3_errstr(rc);
        const std::string p = path.string();
        switch (rc & 0xff) {
            case SQLITE_BUSY:
            case SQLITE_LOCKED:
                throw UsageError(
                    p, fmt::format("locked by another process (waited {:g} s while {})", busy_ms / 1000.0, doing),
                    "wait for the other versus to finish, or choose another database with --db");
            case SQLITE_NOTADB:
            case SQLITE_CORRUPT:
                throw UsageError(p, fmt::format("not a readable history database ({} while {})", msg, doing),
                                 "move the file aside: the next run starts a new one, and `versus history --import "
                                 "results.jsonl` refills it from the results file");
            case SQLITE_CANTOPEN:
            case SQLITE_READONLY:
            case SQLITE_PERM:
            case SQLITE_AUTH:
            case SQLITE_IOERR:
            case SQLITE_FULL:
                throw UsageError(p, fmt::format("cannot {}: {}", doing, msg), "choose a writable path with --db");
            default:
                throw UsageError(p, fmt::format("{} failed: {}", doing, msg),
                                 "check the file; the results file keeps every run");
        }
    }

    void exec(const std::string& sql, std::string_view doing) const {
        const int rc = sqlite3_exec(handle.get(), sql.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) fail(rc, doing);
    }
};

class Stmt {
public:
    Stmt(const Connection& c, std::string_view sql) : c_(c) {
        sqlite3_stmt* s = nullptr;
        const int rc = sqlite3_prepare_v2(c.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
        s_.reset(s);
        if (rc != SQLITE_OK) c.fail(rc, "reading the schema");
    }
    Stmt& text(int i, std::string_view v) {
        return check(sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    Stmt& real(int i, double v) { return check(sqlite3_bind_double(s_.get(), i, v)); }
    Stmt& integer(int i, int64_t v) { return check(sqlite3_bind_int64(s_.get(), i, v)); }
    Stmt& null(int i) { return check(sqlite3_bind_null(s_.get(), i)); }
    // A record field as TEXT, NULL when absent or null.
    Stmt& field_text(int i, const core::Record& r, std::string_view name) {
        const core::Value* v = r.find(name);
        return v && !core::is_null(*v) ? text(i, r.str(name)) : null(i);
    }
    Stmt& field_real(int i, const core::Record& r, std::string_view name) {
        const core::Value* v = r.find(name);
        const bool num = v && (std::holds_alternative<double>(*v) || std::holds_alternative<int64_t>(*v));
        return num ? real(i, r.num(name)) : null(i);
    }

    // true: a row is ready; false: done.
    bool step(std::string_view doing) {
        const int rc = sqlite3_step(s_.get());
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        c_.fail(rc, doing);
    }
    void reset() {
        sqlite3_reset(s_.get());
        sqlite3_clear_bindings(s_.get());
    }

    int64_t col_int(int c) const { return sqlite3_column_int64(s_.get(), c); }
    double col_real(int c) const { return sqlite3_column_double(s_.get(), c); }
    bool col_null(int c) const { return sqlite3_column_type(s_.get(), c) == SQLITE_NULL; }
    std::string col_text(int c) const {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), c));
        return t ? std::string(t, static_cast<size_t>(sqlite3_column_bytes(s_.get(), c))) : std::string();
    }

private:
    Stmt& check(int rc) {
        if (rc != SQLITE_OK) c_.fail(rc, "binding a value");
        return *this;
    }
    const Connection& c_;
    std::unique_ptr<sqlite3_stmt, FinalizeStmt> s_;
};

// Writers BEGIN IMMEDIATE: the write lock is taken up front (waiting up to the busy timeout), so a
// writer never has to upgrade a read lock, the case where SQLite gives up at once instead of waiting.
// Readers that need one consistent snapshot across statements use a plain BEGIN.
class Transaction {
public:
    enum Kind { READ, WRITE };
    explicit Transaction(const Connection& c, Kind kind = WRITE) : c_(c) {
        c_.exec(kind == WRITE ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction");
    }
    ~Transaction() {
        if (!done_) sqlite3_exec(c_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        c_.exec("COMMIT", "committing");
        done_ = true;
    }

private:
    const Connection& c_;
    bool done_ = false;
};

}  // namespace sqlite

struct History::Db : sqlite::Connection {};

namespace {

using sqlite::Connection;
using sqlite::Stmt;

int read_user_version(const Connection& c) {
    Stmt s(c, "PRAGMA user_version");
    s.step("reading the schema version");
    return static_cast<int>(s.col_int(0));
}

bool has_table(const Connection& c, std::string_view name) {
    Stmt s(c, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    s.text(1, name);
    return s.step("reading the schema");
}

bool has_any_table(const Connection& c) {
    Stmt s(c, "SELECT 1 FROM sqlite_master WHERE type = 'table'");
    return s.step("reading the schema");
}

// Refuses what this program cannot read or must not touch, before anything is written.
void check_schema(const Connection& c, int version) {
    if (version > HISTORY_SCHEMA_VERSION)
        throw UsageError(c.path.string(),
                         fmt::format("history schema version {} is newer than this versus knows ({})", version,
                                     HISTORY_SCHEMA_VERSION),
                         "update versus, or choose another database with --db (nothing was changed)");
    const bool ours = version == 0 ? !has_any_table(c) : has_table(c, "runs") && has_table(c, "records");
    if (!ours)
        throw UsageError(c.path.string(), "an SQLite database, but not a versus history",
                         "choose another file with --db (nothing was changed)");
}

void create_v1(const Connection& c) {
    c.exec(R"sql(
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            time TEXT NOT NULL,
            host TEXT,
            versus_version TEXT,
            build_type TEXT,
            command TEXT
        );
        CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            host TEXT,
            backend TEXT,
            device TEXT,
            workload TEXT,
            key TEXT,
            status TEXT,
            json TEXT NOT NULL
        );
        CREATE INDEX records_by_run ON records(run);
    )sql",
           "creating the schema");
}

// v2: the figures the regression check reads become columns, filled from each record's JSON here
// rather than with SQL json functions, which older SQLite builds may lack.
void migrate_v1_to_v2(const Connection& c) {
    c.exec("ALTER TABLE records ADD COLUMN median_ns REAL; ALTER TABLE records ADD COLUMN mdape_pct REAL;",
           "migrating to schema 2");
    struct Fill {
        int64_t id;
        std::optional<double> median, mdape;
    };
    std::vector<Fill> fills;
    {
        Stmt s(c, "SELECT id, json FROM records");
        while (s.step("migrating to schema 2")) {
            Fill f{s.col_int(0), {}, {}};
            const auto j = nlohmann::json::parse(s.col_text(1), nullptr, false);
            if (j.is_object()) {
                if (auto it = j.find("median_ns"); it != j.end() && it->is_number()) f.median = it->get<double>();
                if (auto it = j.find("mdape_pct"); it != j.end() && it->is_number()) f.mdape = it->get<double>();
            }
            if (f.median || f.mdape) fills.push_back(f);
        }
    }
    Stmt u(c, "UPDATE records SET median_ns = ?1, mdape_pct = ?2 WHERE id = ?3");
    for (const auto& f : fills) {
        f.median ? u.real(1, *f.median) : u.null(1);
        f.mdape ? u.real(2, *f.mdape) : u.null(2);
        u.integer(3, f.id);
        u.step("migrating to schema 2");
        u.reset();
    }
    c.exec("CREATE INDEX records_by_test ON records(workload, key, host, backend, device);", "migrating to schema 2");
}

void open_and_migrate(Connection& c) {
    // The checks read one snapshot: a database another process is creating right now is seen either
    // empty or complete, never half made. A corrupt file fails at the first read, untouched.
    int v = 0;
    {
        sqlite::Transaction snapshot(c, sqlite::Transaction::READ);
        v = read_user_version(c);
        check_schema(c, v);
        snapshot.commit();
    }
    // WAL lets `versus history` read while a run is being written; it stays set in the file. Where the
    // file system cannot do it the default journal still works, so a failure here is not an error.
    sqlite3_exec(c.get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last run, which the
    // results file still has.
    c.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", "configuring");
    if (v == HISTORY_SCHEMA_VERSION) {
        c.version = v;
        return;
    }
    sqlite::Transaction tx(c);
    v = read_user_version(c);  // another process may have migrated while this one waited for the lock
    check_schema(c, v);
    if (v < 1) create_v1(c);
    if (v < 2) migrate_v1_to_v2(c);
    c.exec(fmt::format("PRAGMA user_version = {}", HISTORY_SCHEMA_VERSION), "migrating");
    tx.commit();
    c.version = HISTORY_SCHEMA_VERSION;
}

core::Record parse_record(const Connection& c, const std::string& json, int64_t run) {
    try {
        return core::Record::from_json(nlohmann::ordered_json::parse(json));
    } catch (const std::exception& e) {
        throw UsageError(c.path.string(), fmt::format("a record of run {} is unreadable ({})", run, e.what()),
                         "move the file aside and rebuild it with `versus history --import results.jsonl`");
    }
}

}  // namespace

std::filesystem::path default_history_path() { return core::default_results_path().parent_path() / "versus.db"; }

std::filesystem::path history_path_for(const std::filesystem::path& results) {
    return results.parent_path() / "versus.db";
}

std::string_view regression_verdict_name(RegressionVerdict v) {
    switch (v) {
        case RegressionVerdict::REGRESSION:
            return "regression";
        case RegressionVerdict::IMPROVEMENT:
            return "improvement";
        case RegressionVerdict::WITHIN_NOISE:
            return "within noise";
        case RegressionVerdict::TOO_FEW_RUNS:
            return "too few runs";
    }
    return "?";
}

Judgement judge(const std::vector<TestPoint>& points, const RegressionRule& rule) {
    Judgement j;
    if (points.empty()) return j;
    j.latest_ns = points.back().median_ns;
    const size_t before = points.size() - 1;
    const size_t n = rule.window > 0 ? std::min(before, static_cast<size_t>(rule.window)) : before;
    j.n_earlier = static_cast<int>(n);
    if (n == 0) return j;
    std::vector<double> medians, noise;
    for (size_t i = before - n; i < before; ++i) {
        medians.push_back(points[i].median_ns);
        noise.push_back(points[i].mdape_pct);
    }
    j.earlier_median_ns = base::median(medians);
    if (j.earlier_median_ns <= 0) return j;
    j.change_pct = (j.latest_ns / j.earlier_median_ns - 1.0) * 100.0;
    if (j.n_earlier < rule.min_earlier) return j;
    // Run-to-run drift (the spread of earlier medians) is usually the larger noise; the within-run
    // MdAPE covers histories too short or too lucky to show it.
    const double spread = std::max(base::mdape_pct(medians), base::median(noise));
    j.band_pct = std::max(rule.floor_pct, rule.k * spread);
    j.verdict = j.change_pct > j.band_pct    ? RegressionVerdict::REGRESSION
                : j.change_pct < -j.band_pct ? RegressionVerdict::IMPROVEMENT
                                             : RegressionVerdict::WITHIN_NOISE;
    return j;
}

std::string parse_since(const std::string& text, const std::string& option) {
    auto digits = [&](size_t a, size_t b) {
        for (size_t i = a; i < b; ++i)
            if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
        return true;
    };
    bool ok = text.size() >= 10 && digits(0, 4) && text[4] == '-' && digits(5, 7) && text[7] == '-' && digits(8, 10);
    if (ok) {
        const int month = std::stoi(text.substr(5, 2)), day = std::stoi(text.substr(8, 2));
        ok = month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }
    if (ok && text.size() > 10) ok = text[10] == 'T' || text[10] == ' ';
    if (!ok)
        throw UsageError(option, fmt::format("'{}' is not a date", text),
                         "write YYYY-MM-DD or an RFC 3339 UTC time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z");
    std::string out = text;
    if (out.size() > 10) out[10] = 'T';  // stored times are RFC 3339 and compare as text
    return out;
}

History::History(const std::filesystem::path& path, Open mode, int busy_timeout_ms) : db_(std::make_unique<Db>()) {
    db_->path = path;
    db_->busy_ms = busy_timeout_ms;
    std::error_code ec;
    if (mode == Open::EXISTING) {
        if (!std::filesystem::exists(path, ec))
            throw UsageError(path.string(), "no history database here",
                             "every `versus run` adds to " + default_history_path().string() +
                                 "; choose another with --db, or fill one with --import results.jsonl");
    } else if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec)
            throw UsageError(path.string(), "cannot create the folder: " + ec.message(),
                             "choose another place with --db");
    }
    sqlite3* raw = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | (mode == Open::CREATE ? SQLITE_OPEN_CREATE : 0);
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_->handle.reset(raw);  // owned even when the open failed
    if (rc != SQLITE_OK) db_->fail(rc, "open it");
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    open_and_migrate(*db_);
}

History::~History() = default;
History::History(History&&) noexcept = default;
History& History::operator=(History&&) noexcept = default;

const std::filesystem::path& History::path() const { return db_->path; }
int History::schema_version() const { return db_->version; }

int64_t History::add_run(const std::string& command, const std::vector<core::Record>& records) {
    if (records.empty()) return 0;
    const core::Record& first = records.front();
    const std::string run_id = first.str("run_id");
    if (run_id.empty())
        throw UsageError(db_->path.string(), "the records carry no run_id", "only versus records can be stored");
    sqlite::Transaction tx(*db_);
    Stmt run(*db_,
             "INSERT OR IGNORE INTO runs (run_id, time, host, versus_version, build_type, command) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    run.text(1, run_id).text(2, first.str("time"));
    run.field_text(3, first, "host").field_text(4, first, "versus_version").field_text(5, first, "build_type");
    run.text(6, command);
    run.step("adding the run");
    if (sqlite3_changes(db_->get()) == 0) return 0;  // already stored (e.g. imported twice)
    const int64_t id = sqlite3_last_insert_rowid(db_->get());

    Stmt rec(*db_,
             "INSERT INTO records (run, seq, host, backend, device, workload, key, status, median_ns, mdape_pct, json) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    for (size_t i = 0; i < records.size(); ++i) {
        const core::Record& r = records[i];
        rec.integer(1, id).integer(2, static_cast<int64_t>(i));
        rec.field_text(3, r, "host").field_text(4, r, "backend").field_text(5, r, "device");
        rec.field_text(6, r, "workload").field_text(7, r, "key").field_text(8, r, "status");
        rec.field_real(9, r, "median_ns").field_real(10, r, "mdape_pct");
        rec.text(11, r.to_json().dump());
        rec.step("adding the run's records");
        rec.reset();
    }
    tx.commit();
    return id;
}

std::vector<RunRow> History::runs(const std::string& since, const std::string& workload) const {
    Stmt s(*db_, R"sql(
        SELECT runs.id, runs.run_id, runs.time, runs.host, runs.versus_version, runs.build_type, runs.command,
               COUNT(records.id),
               COALESCE(SUM(records.status = 'ok'), 0),
               COALESCE(SUM(records.status IN ('error', 'interrupted')), 0),
               COALESCE(SUM(records.status = 'skipped'), 0)
        FROM runs LEFT JOIN records ON records.run = runs.id
        WHERE runs.time >= ?1
          AND (?2 = '' OR EXISTS (SELECT 1 FROM records w WHERE w.run = runs.id AND w.workload = ?2))
        GROUP BY runs.id
        ORDER BY runs.time, runs.id
    )sql");
    s.text(1, since).text(2, workload);
    std::vector<RunRow> out;
    while (s.step("listing runs")) {
        RunRow r;
        r.id = s.col_int(0);
        r.run_id = s.col_text(1);
        r.time = s.col_text(2);
        r.host = s.col_text(3);
        r.versus_version = s.col_text(4);
        r.build_type = s.col_text(5);
        r.command = s.col_text(6);
        r.rows = s.col_int(7);
        r.ok = s.col_int(8);
        r.failed = s.col_int(9);
        r.skipped = s.col_int(10);
        out.push_back(std::move(r));
    }
    return out;
}

namespace {
using TestKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
}

std::vector<HistoryRecord> History::records(const std::string& workload, const std::string& since) const {
    Stmt s(*db_, R"sql(
        SELECT runs.id, runs.time, records.host, records.backend, records.device, records.key, records.json
        FROM records JOIN runs ON runs.id = records.run
        WHERE records.workload = ?1 AND runs.time >= ?2
        ORDER BY runs.time, runs.id, records.seq
    )sql");
    s.text(1, workload).text(2, since);
    // Grouped by test in the order tests first appear, so each test's rows read down in time.
    std::map<TestKey, size_t> index;
    std::vector<std::vector<HistoryRecord>> groups;
    while (s.step("reading records")) {
        const TestKey k{s.col_text(2), s.col_text(3), s.col_text(4), workload, s.col_text(5)};
        auto [it, added] = index.try_emplace(k, groups.size());
        if (added) groups.emplace_back();
        const int64_t run = s.col_int(0);
        groups[it->second].push_back({run, s.col_text(1), parse_record(*db_, s.col_text(6), run)});
    }
    std::vector<HistoryRecord> out;
    for (auto& g : groups) std::move(g.begin(), g.end(), std::back_inserter(out));
    return out;
}

std::vector<RegressionRow> History::regressions(const std::string& workload, const std::string& since,
                                                const RegressionRule& rule) const {
    // With a workload the condition is written out, not `?1 = '' OR ...`, so that records_by_test is used.
    Stmt s(*db_, fmt::format(R"sql(
        SELECT records.host, records.backend, records.device, records.workload, records.key,
               runs.id, runs.time, records.median_ns, records.mdape_pct
        FROM records JOIN runs ON runs.id = records.run
        WHERE records.status = 'ok' AND records.median_ns > 0 AND runs.time >= ?1 {}
        ORDER BY runs.time, runs.id, records.seq
    )sql",
                             workload.empty() ? "" : "AND records.workload = ?2"));
    s.text(1, since);
    if (!workload.empty()) s.text(2, workload);
    std::map<TestKey, size_t> index;
    std::vector<std::pair<TestKey, std::vector<TestPoint>>> tests;
    while (s.step("reading records")) {
        TestKey k{s.col_text(0), s.col_text(1), s.col_text(2), s.col_text(3), s.col_text(4)};
        auto [it, added] = index.try_emplace(k, tests.size());
        if (added) tests.emplace_back(k, std::vector<TestPoint>{});
        tests[it->second].second.push_back(
            {s.col_int(5), s.col_text(6), s.col_real(7), s.col_null(8) ? 0.0 : s.col_real(8)});
    }
    std::vector<RegressionRow> out;
    for (const auto& [k, points] : tests) {
        RegressionRow r;
        std::tie(r.host, r.backend, r.device, r.workload, r.key) = k;
        r.latest_time = points.back().time;
        r.j = judge(points, rule);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace versus::report
