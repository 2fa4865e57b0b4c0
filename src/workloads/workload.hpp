// workloads: the implementations of core::Workload, one file each, and their explicit list.
// Each workload describes itself (key, parameters, flops(), bytes()) and the predictor reuses the
// same counts, so they are the one source of truth for the work a configuration does.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "backend/cpu/thread-pool.hpp"
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

// The CPU thread pool of the last row that asked for one, kept across rows of the same thread count (the LLM
// engine and the training engine run on it).
cpu::ThreadPool& shared_pool(int threads);

// STREAM triad bandwidth of a device in bytes/s over 3 x 64 MiB arrays (beyond any cache), the best of five
// (membw.cpp): on the device's timer where it has one, since a GPU moves the 192 MiB in ~45 us, which a launch
// and a wait on the host clock would stretch by a fifth; on the host clock otherwise. MBU's denominator.
double triad_bandwidth(Backend& b, int device);

// The explicit workload list, in suite order.
const std::vector<std::unique_ptr<Workload>>& all_workloads();
const Workload* find_workload(std::string_view key);

}  // namespace versus::workloads
