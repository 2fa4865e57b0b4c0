// audit-claims: reading the claims table (data/claims/claims.csv) and the cells the evaluators parse
// again when they run: platform lists with per-platform ranges, numbers, model shapes. Used by the
// audit's parser and its evaluators only; the public interface is report/audit.hpp.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llm/config.hpp"
#include "predict/specs.hpp"

namespace versus::report::audit_detail {

inline constexpr double GiB = 1024.0 * 1024.0 * 1024.0;
inline constexpr double INF = std::numeric_limits<double>::infinity();

// A platform the claim names, with the range it claims for that platform when the row gives one there.
struct Target {
    predict::Platform p;
    std::string label;  // as written, e.g. "m2-ultra-76c@192"
    std::optional<double> low, high;
};

// "" -> empty; anything but a whole finite number throws std::invalid_argument.
std::optional<double> parse_number(const std::string& s);
// Items are ';'- (or ',')-separated: id[@GB][:low[-high]] or vendor=NAME (every GPU of the vendor).
std::vector<Target> parse_targets(const std::string& cell);
// The shapes the claims name: the llm presets and llama-3.2-3b.
llm::ModelConfig model_config(const std::string& name);

// The evaluators' names (the `test` column), from the evaluator table.
const std::vector<std::string>& test_names();

}  // namespace versus::report::audit_detail
