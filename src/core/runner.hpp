// runner: turns (workload, backend device, parameters) jobs into Records. For each job it checks
// the memory budget, prepares the instance, warms up, times repetitions until the time budget or
// the rep count, runs the workload's self-check, and derives the metrics of docs/metrics.md.
// Failures become `error` rows, unsupported configurations `skipped` rows; Ctrl-C ends the run
// after marking the row in progress `interrupted`.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "core/context.hpp"
#include "core/params.hpp"
#include "core/record.hpp"
#include "core/workload.hpp"

namespace versus::core {

struct RunOptions {
    double time_budget_s = 0.5;  // measuring time per row (after warmup)
    int reps = 0;                // >0: exactly this many samples
    int min_reps = 5;
    int max_samples = 1000;
    bool progress = false;  // one line per row on stderr
};

struct Job {
    const Workload* workload;
    backend::Backend* backend;
    int device;
    versus_device_info info;
    Params params;
};

struct RunSummary {
    int ok = 0, skipped = 0, errors = 0, unstable = 0;
    bool interrupted = false;
};

// Sweep expansion for one workload on one device: `values` maps parameter name -> sweep text
// (from the command line or the suite). The runner's `threads` axis comes first for backends that
// take a thread count. Throws UsageError for bad values.
std::vector<Job> plan_jobs(const Workload& w, backend::Backend& b, int device,
                           const std::vector<std::pair<std::string, std::string>>& values,
                           const std::string& threads);

// Jobs whose memory need exceeds the device budget: "needs X, Y available" per job (empty = all fit).
std::vector<std::string> jobs_over_budget(const std::vector<Job>& jobs);

// The fields every record starts with (common fields, dtype, threads, parameters, measurement
// fields as null), for a job on `backend` (info null when the backend has no device here).
Record record_head(const Context& ctx, const std::string& backend, const versus_device_info* info,
                   const Workload& w, const Params& params);
// Sets the closing fields (power, energy, status, reason, checksum) in their order.
Record& close_record(Record& r, const char* status, const std::string& reason);
// A skipped row for a workload on a backend that is not available on this machine.
Record unavailable_record(const Context& ctx, const std::string& backend, const Workload& w,
                          const std::string& reason);

// Set by the SIGINT handler; the runner stops at the next repetition.
std::atomic<bool>& interrupt_flag();
void install_interrupt_handler();

class Runner {
public:
    Runner(const Context& ctx, RunOptions opt, std::function<void(const Record&)> sink);
    ~Runner();
    RunSummary run(const std::vector<Job>& jobs);

private:
    Record run_one(const Job& job);
    Record base_record(const Job& job) const;

    const Context& ctx_;
    RunOptions opt_;
    std::function<void(const Record&)> sink_;
    std::unique_ptr<class EnergyProbe> energy_;
};

}  // namespace versus::core
