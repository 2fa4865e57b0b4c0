// workloads: the implementations of core::Workload, one file each, and their explicit list.
// Each workload describes itself (key, parameters, flops(), bytes()) and the predictor reuses the
// same counts, so they are the one source of truth for the work a configuration does.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/workload.hpp"

namespace versus::workloads {

using backend::Backend;
using core::Check;
using core::Instance;
using core::Metrics;
using core::Params;
using core::ParamSpec;
using core::Target;
using core::Workload;

// The explicit workload list, in suite order.
const std::vector<std::unique_ptr<Workload>>& all_workloads();
const Workload* find_workload(std::string_view key);

}  // namespace versus::workloads
