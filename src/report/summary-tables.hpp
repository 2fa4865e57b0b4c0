// summary-tables: the comparison's framework and product-need tables (data/summary/, compiled in)
// rendered as report tables whose cells carry the figure that backs them: the best measured row per
// machine, the predicted platforms' figures with their ranges, or "no evidence here: REASON".
// Reads records and predictions; never measures. Columns and evidence: docs/summary-tables.md.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/record.hpp"
#include "predict/roofline.hpp"
#include "predict/specs.hpp"
#include "report/compare.hpp"
#include "report/summary-data.hpp"

namespace versus::report {

// One platform's figure: a prediction with its range, or a spec point (low = high = value).
struct PlatformFigure {
    std::string platform;  // as the user named it: "m4-max-40c@128"
    predict::Estimate value;
};
// The predicted platforms' answer for a figure (summary_figure_names()) and its parameters: one entry per
// platform that has the figure, none when the figure means nothing there.
using PredictedFigures = std::function<std::vector<PlatformFigure>(const std::string& figure, const KeyValues& params)>;

// The predictor's and the spec database's figures for these platforms (ids as --predict takes them).
// Throws UsageError for an unknown platform.
PredictedFigures predictor_figures(const std::vector<std::string>& platform_ids);

// The compiled-in tables, parsed once.
const SummaryData& builtin_frameworks();
const SummaryData& builtin_needs();

// One summary table: its descriptive columns, then "backed by" (the evidence it can use), "figure"
// (what backs it here) and "source". `predicted` may be empty (no predicted platforms).
Table summary_table(const SummaryData& data, const std::string& id, const std::string& title,
                    const std::vector<core::Record>& records, const PredictedFigures& predicted);
// Both built-in tables, ids "frameworks" and "needs-evidence".
std::vector<Table> summary_tables(const std::vector<core::Record>& records, const PredictedFigures& predicted);

namespace detail {
using EmbeddedFile = predict::detail::EmbeddedFile;
// data/summary/*.csv, compiled in (generated embedded-summary.cpp).
std::span<const EmbeddedFile> embedded_summary_files();
}  // namespace detail

}  // namespace versus::report
