// backtest: the predictor against measured figures. Rows of a CSV (platform, model, type, test,
// measured_tokens_per_s — llama-bench's vocabulary — and optionally gpus, for a layer split) are predicted with a calibration and with the bare
// roofline, and summarised as absolute percentage errors by vendor and phase; the same rows fit the
// calibration table (fit_calibration), so a table fitted on one file can be tested on another.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "predict/roofline.hpp"

namespace versus::predict {

struct BacktestRow {
    int line = 0;
    std::string platform, model, type, test, source;
    int gpus = 1;  // optional column: more than one is a layer split over that many GPUs of the platform (split.hpp)
    std::string set;  // optional column: "fit" rows calibrate the built-in table, "holdout" rows only test it
    std::string error;  // non-empty: the row could not be read or predicted; the others still are
    bool measured_oom = false;
    double measured_tps = 0;
    // Filled by parse_backtest when the row is well-formed.
    std::optional<Platform> spec;
    LlmQuery query;
    Phase phase = Phase::DECODE;
    // Filled by evaluate_backtest.
    bool predicted_fit = false;
    Estimate predicted, uncalibrated;
    Bound bound = Bound::MEMORY;
    std::string calibration_scope;
};

// Reads the CSV; malformed rows carry their error (by line) instead of failing the file. Throws
// UsageError when a required column is missing.
// `only_set` non-empty keeps the rows of that set.
std::vector<BacktestRow> parse_backtest(std::string_view text, const std::string& place, const std::string& only_set = "");

// Parses llama-bench's test names: "pp512", "tg128", "tg128@d4096" (context depth).
bool parse_test(std::string_view test, Phase* phase, int64_t* n, int64_t* depth);

void evaluate_backtest(std::vector<BacktestRow>& rows, const Calibration& cal, const PredictOptions& opt = {});

// Absolute percentage error of a prediction against a measurement (docs/metrics.md).
double ape_pct(double predicted, double measured);

// The calibration table fitted on the rows with a measurement (see docs/predictor.md for the method):
// one entry per (vendor, phase, type class), and per family with rows of its own. A non-empty `scope`
// puts every row under that one name instead (a single machine's own calibration).
Calibration fit_calibration(const std::vector<BacktestRow>& rows, const std::string& scope = "");

// One summary line per (vendor, phase) and the totals: rows, median and mean APE calibrated and bare.
struct BacktestSummary {
    std::string group;  // "apple decode", "nvidia prefill", "all decode", "holdout decode", ...
    int n = 0;
    double median_ape = 0, mean_ape = 0, median_ape_uncal = 0, mean_ape_uncal = 0;
};
std::vector<BacktestSummary> summarise_backtest(const std::vector<BacktestRow>& rows);

// Fit accuracy: rows measured OOM or predicted not to fit, and how many of those were called right.
struct FitAccuracy {
    int n = 0, right = 0;
};
FitAccuracy fit_accuracy(const std::vector<BacktestRow>& rows);

nlohmann::ordered_json backtest_json(const std::vector<BacktestRow>& rows);
std::string backtest_table(const std::vector<BacktestRow>& rows, bool markdown);

}  // namespace versus::predict
