// compare: "how this machine compares" — the quick suite's headline figures measured here, beside the
// same figures predicted for a few platforms from the spec database (versus run prints it).
#pragma once

#include <string>
#include <vector>

#include "core/record.hpp"

namespace versus::report {

// Platforms `versus run` compares with when none are named: one of each kind people weigh against a CPU.
const std::vector<std::string>& default_comparison_platforms();

// One table: LLM decode and prefill of the quick model, f32 GEMM (the best row of each on this machine),
// triad bandwidth at the largest working set measured (DRAM, like the predictions) and the predictions;
// empty when the records hold none of them.
std::string machine_comparison(const std::vector<core::Record>& records, const std::vector<std::string>& platform_ids,
                               bool markdown);

}  // namespace versus::report
