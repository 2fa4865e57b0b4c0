// workload: the interface between the runner and what it measures. A workload describes itself
// (key, description, parameters, flops(), bytes(), memory needed) and prepares an Instance on a
// backend device; the runner times Instance::run() and records the results. The implementations and
// their list live one layer up, in src/workloads/; the runner only knows this interface.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.hpp"
#include "comm/comm.hpp"
#include "core/params.hpp"

namespace versus::core {

using backend::Backend;

// The outcome of a workload's self-check of its output.
struct Check {
    bool ok = true;
    std::string checksum;  // a fingerprint of the output, comparable across machines
    std::string message;   // what was wrong, when !ok
};

// Extra metrics a workload derives from the measured time: (record field, value).
using Metrics = std::vector<std::pair<std::string, double>>;

// One prepared configuration on one device: buffers allocated and initialised.
class Instance {
public:
    virtual ~Instance() = default;
    // One repetition, complete on the device when it returns (the instance synchronises).
    virtual void run() = 0;
    // Checks the output left by the last run().
    virtual Check check() = 0;
    // Metrics only the prepared instance knows (model bytes, measured bandwidth, peak RSS), from
    // the median time of one op in seconds.
    virtual Metrics metrics(double median_s) { return {}; }
    // Text fields only the prepared instance knows (the link between two GPUs): (record field, value).
    virtual std::vector<std::pair<std::string, std::string>> labels() const { return {}; }

    // Device timing (backends with timer ops): when true, the runner times each repetition as
    // before_rep() (untimed), then enqueue() between the device timer's start and stop, and waits
    // once per sample. Instances whose op includes the host (a pageable copy, a dispatch latency)
    // keep the default, host timing of run().
    virtual bool device_timed() const { return false; }
    // One repetition enqueued on the device without waiting for it.
    virtual void enqueue() { run(); }
    // Untimed work before each device-timed repetition, e.g. evicting the cache so the op starts cold.
    virtual void before_rep() {}
    // What the measured time holds besides the op, said in an ok row's reason (e.g. a layout change of an
    // input that the device's kernels need); "" when nothing.
    virtual std::string note() const { return {}; }

    // Ops that involve other ranks (collectives) must run as many times on every rank. For such an instance the
    // runner derives its warm-up, batch and sample counts from one op time all ranks agree on (agreed_seconds of
    // its own, usually the slowest rank's), so that the counts are equal everywhere.
    virtual bool lockstep() const { return false; }
    virtual double agreed_seconds(double local_s) { return local_s; }
};

struct Target {
    Backend& backend;
    int device;
    const versus_device_info& info;
    comm::Comm* comm = nullptr;  // the job's ranks when a launcher started this process, else null
};

class Workload {
public:
    virtual ~Workload() = default;
    virtual std::string_view key() const = 0;
    virtual std::string_view description() const = 0;
    // Part of `versus run`'s quick suite.
    virtual bool quick() const { return true; }
    // Part of `versus run`'s suites on a job of n_ranks ranks (collectives need two or more).
    virtual bool in_suite(int n_ranks) const { return true; }
    // Rows every rank of a job must run together, in the same order (collectives, data-parallel training): a row
    // that not every rank plans is skipped on all of them before anything runs.
    virtual bool lockstep(const Params& p) const { return false; }
    // Declared parameters; `threads` is added by the runner for backends that take it.
    virtual std::vector<ParamSpec> params() const = 0;
    // The sweep the suite uses on this device (quick or full); defaults to the specs' quick/full.
    virtual std::vector<std::pair<std::string, std::string>> suite(const versus_device_info& info, bool full) const;

    // Rewrites the expanded sweep (e.g. llm turns each prompt/gen pair into a prefill row and a
    // decode row, as llama-bench does); the default keeps it.
    virtual std::vector<Params> expand(std::vector<Params> jobs) const { return jobs; }

    virtual double flops(const Params& p) const { return 0; }
    virtual double bytes(const Params& p) const { return 0; }
    // Device memory the configuration allocates; checked against the device budget before
    // anything is allocated.
    virtual double memory_bytes(const Params& p) const = 0;
    // What memory_bytes() is made of, for the refusal message ("weights 38.5 + KV 0.7 GB").
    virtual std::string memory_breakdown(const Params& p) const { return {}; }
    // GEMM-like workloads name the dtype whose peak `peak_pct` is measured against.
    virtual bool has_peak(const Params& p, versus_dtype* dtype) const { return false; }
    // Workload metrics from the median time of one op, in seconds.
    virtual Metrics metrics(const Params& p, double median_s) const { return {}; }

    // Throws Skip when the device cannot run the configuration; backend errors propagate.
    virtual std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const = 0;
};

}  // namespace versus::core
