// summary-data: the comparison's two summary tables as data (data/summary/frameworks.csv and
// needs.csv): descriptive columns as the comparison words them, a source, and the evidence that can
// back each row — a measured record field, a fused-against-naive ratio, a predicted or spec figure, or
// the reason there is none. Parsing only (it depends on base alone, so it can be fuzzed); rendering
// with records and predictions: summary-tables.hpp. Columns: docs/summary-tables.md.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace versus::report {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// What can back one row.
struct SummaryEvidence {
    bool measured = false, ratio = false, predicted = false, spec = false;  // none: all false
    std::string workload;  // measured and ratio: the records' workload
    KeyValues match;       // record fields that must equal these values
    // ratio: the parameter that tells the two rows apart and its two values: field(num) / field(den).
    std::string ratio_param, ratio_num, ratio_den;
    std::string field, unit;  // the record field and the unit printed after it
    bool higher_better = true;
    std::vector<std::string> show;  // record fields named beside a measured figure
    std::string figure;             // predicted or spec: the figure's name (summary_figure_names())
    KeyValues figure_params;        // its parameters: model=llama-7b;type=q4_0
    std::string reason;             // why there is no evidence, when none is found
};

struct SummaryRow {
    int line = 0;
    std::string id, source;
    std::vector<std::string> cells;  // the descriptive columns, in the file's order
    SummaryEvidence evidence;
};

struct SummaryData {
    std::string place;                 // the file, for errors
    std::vector<std::string> columns;  // the descriptive columns' names
    std::vector<SummaryRow> rows;
};

// The figures a prediction callback answers: llm_decode_tokens_per_s, llm_prefill_tokens_per_s,
// llm_joules_per_token (model, type), gemm_gflops (dtype), mem_bw_GBps, resnet50_images_per_s (dataset),
// gpu_budget_GB; spec: nvlink_GBps.
const std::vector<std::string>& summary_figure_names();

// Throws UsageError("PLACE:LINE", what, hint) for a bad file: missing columns, unknown evidence kinds
// or figures, a measured row without its field, a row without a source, an id twice.
SummaryData parse_summary_data(std::string_view csv, const std::string& place);

}  // namespace versus::report
