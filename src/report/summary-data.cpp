#include "report/summary-data.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace versus::report {

namespace {

// The columns every summary file has; the others are descriptive and render as they are.
const std::vector<std::string> EVIDENCE_COLUMNS = {"evidence", "workload", "match", "ratio",         "field", "unit",
                                                   "better",   "show",     "figure", "figure_params", "reason"};
const std::vector<std::string> KEY_COLUMNS = {"id", "source"};

bool known(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

KeyValues key_values(std::string_view cell, const std::string& column) {
    KeyValues out;
    for (const auto& item : base::split_copy(std::string(cell), ';', base::SPLIT_SKIP_EMPTY)) {
        const size_t eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw std::invalid_argument(fmt::format("{} item '{}' is not key=value", column, item));
        out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    return out;
}

SummaryEvidence parse_evidence(const base::CsvTable& t, const base::CsvRow& row) {
    auto cell = [&](const char* name) { return std::string(t.cell(row, name)); };
    SummaryEvidence e;
    const auto kinds = base::split_copy(cell("evidence"), ';', base::SPLIT_SKIP_EMPTY);
    if (kinds.empty()) throw std::invalid_argument("evidence is empty: give measured, ratio, predicted, spec or none");
    for (const auto& k : kinds) {
        if (k == "measured") e.measured = true;
        else if (k == "ratio") e.ratio = true;
        else if (k == "predicted") e.predicted = true;
        else if (k == "spec") e.spec = true;
        else if (k != "none") throw std::invalid_argument(fmt::format("unknown evidence '{}'", k));
    }
    if (known(kinds, "none") && kinds.size() > 1) throw std::invalid_argument("evidence 'none' goes alone");
    e.workload = cell("workload");
    e.match = key_values(cell("match"), "match");
    e.field = cell("field");
    e.unit = cell("unit");
    e.show = base::split_copy(cell("show"), ';', base::SPLIT_SKIP_EMPTY);
    e.figure = cell("figure");
    e.figure_params = key_values(cell("figure_params"), "figure_params");
    e.reason = cell("reason");
    const std::string better = cell("better");
    if (!better.empty() && better != "higher" && better != "lower")
        throw std::invalid_argument(fmt::format("better is '{}', not higher or lower", better));
    e.higher_better = better != "lower";
    if ((e.measured || e.ratio) && (e.workload.empty() || e.field.empty() || better.empty()))
        throw std::invalid_argument("measured and ratio evidence need a workload, a field and better");
    if (e.ratio) {
        const std::string r = cell("ratio");
        const size_t eq = r.find('='), slash = r.find('/');
        if (eq == std::string::npos || slash == std::string::npos || slash < eq || eq == 0 || slash == eq + 1 ||
            slash + 1 == r.size())
            throw std::invalid_argument(fmt::format("ratio '{}' is not PARAM=NUMERATOR/DENOMINATOR", r));
        e.ratio_param = r.substr(0, eq);
        e.ratio_num = r.substr(eq + 1, slash - eq - 1);
        e.ratio_den = r.substr(slash + 1);
    }
    if ((e.predicted || e.spec) && !known(summary_figure_names(), e.figure))
        throw std::invalid_argument(fmt::format("figure '{}' is not one of {}", e.figure, base::join(summary_figure_names(), ", ")));
    if (e.reason.empty()) throw std::invalid_argument("reason is empty: say why a cell may have no evidence");
    return e;
}

}  // namespace

const std::vector<std::string>& summary_figure_names() {
    static const std::vector<std::string> names = {
        "llm_decode_tokens_per_s", "llm_prefill_tokens_per_s", "llm_joules_per_token", "gemm_gflops",
        "mem_bw_GBps",             "resnet50_images_per_s",    "gpu_budget_GB",        "nvlink_GBps"};
    return names;
}

SummaryData parse_summary_data(std::string_view csv, const std::string& place) {
    const base::CsvTable t(csv, place);
    const std::string hint = "see docs/summary-tables.md for the columns";
    for (const auto& col : EVIDENCE_COLUMNS)
        if (t.column(col) < 0) throw UsageError(place + ":1", fmt::format("no column '{}'", col), hint);
    for (const auto& col : KEY_COLUMNS)
        if (t.column(col) < 0) throw UsageError(place + ":1", fmt::format("no column '{}'", col), hint);
    SummaryData d;
    d.place = place;
    for (const auto& h : t.header())
        if (!known(EVIDENCE_COLUMNS, h) && !known(KEY_COLUMNS, h)) d.columns.push_back(h);
    if (d.columns.empty()) throw UsageError(place + ":1", "no descriptive column besides id, source and the evidence", hint);
    std::set<std::string> ids;
    for (const auto& row : t.rows()) {
        const std::string at = fmt::format("{}:{}", place, row.line);
        if (!row.error.empty()) throw UsageError(at, row.error, hint);
        if (row.cells.size() != t.header().size())
            throw UsageError(at, fmt::format("{} cells, the header has {}", row.cells.size(), t.header().size()), hint);
        SummaryRow r;
        r.line = row.line;
        r.id = std::string(t.cell(row, "id"));
        r.source = std::string(t.cell(row, "source"));
        if (r.id.empty()) throw UsageError(at, "the id is empty", hint);
        if (!ids.insert(r.id).second) throw UsageError(at, fmt::format("id '{}' appears twice", r.id), hint);
        if (r.source.empty()) throw UsageError(at, fmt::format("{} has no source", r.id), "every row names where it comes from");
        for (const auto& c : d.columns) r.cells.emplace_back(t.cell(row, c));
        try {
            r.evidence = parse_evidence(t, row);
        } catch (const std::invalid_argument& e) {
            throw UsageError(at, r.id + ": " + e.what(), hint);
        }
        d.rows.push_back(std::move(r));
    }
    if (d.rows.empty()) throw UsageError(place, "holds no row", hint);
    return d;
}

}  // namespace versus::report
