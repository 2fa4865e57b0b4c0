// metrics: every derived figure versus reports, one function each, each documented in
// docs/metrics.md under the same name. Workloads, printers and the predictor call these and
// never recompute a figure inline.
#pragma once

#include "base/collectives.h"

namespace versus::base {

// Work per second: FLOP/s from flops, B/s from bytes (STREAM counting for membw), over the
// median time of one op.
inline double rate_per_s(double amount, double median_s) { return median_s > 0 ? amount / median_s : 0; }

// Achieved rate as a percentage of the device's peak for the same dtype.
inline double percent_of_peak(double rate, double peak) { return peak > 0 ? 100.0 * rate / peak : 0; }

// Average power over a measurement: joules / seconds.
inline double average_power_w(double joules, double seconds) { return seconds > 0 ? joules / seconds : 0; }

// Energy of one op: joules over the measurement / ops in it.
inline double energy_per_op_j(double joules, double ops) { return ops > 0 ? joules / ops : 0; }

// Theoretical bandwidth of a PCIe link per direction in GB/s: lanes x transfer rate x line-code
// efficiency / 8 bits (gen 1-2: 8b/10b; gen 3-5: 128b/130b; gen 6+: FLIT mode, 242/256). 0 if unknown.
inline double pcie_gbps(int gen, int lanes) {
    static constexpr double GT_S[] = {0, 2.5, 5, 8, 16, 32, 64, 128};
    if (gen < 1 || gen > 7 || lanes < 1) return 0;
    const double efficiency = gen <= 2 ? 8.0 / 10 : gen <= 5 ? 128.0 / 130 : 242.0 / 256;
    return lanes * GT_S[gen] * efficiency / 8;
}

// Collectives, as nccl-tests defines them (docs/metrics.md, "Collectives"). Algorithm bandwidth: the op's
// bytes S (the largest per-rank buffer) over its time.
inline double coll_algbw(double bytes, double seconds) { return seconds > 0 ? bytes / seconds : 0; }

// The factor from algorithm to bus bandwidth for a collective on n ranks, so that the bus bandwidth of a
// perfect implementation equals the bottleneck link's, whatever n: all-reduce 2(n-1)/n; all-gather,
// reduce-scatter and all-to-all (n-1)/n; broadcast and send/recv 1.
inline double coll_busbw_factor(versus_coll_kind kind, int n) {
    if (n < 1) return 0;
    const double f = static_cast<double>(n - 1) / n;
    switch (kind) {
        case VERSUS_COLL_ALL_REDUCE: return 2 * f;
        case VERSUS_COLL_ALL_GATHER:
        case VERSUS_COLL_REDUCE_SCATTER:
        case VERSUS_COLL_ALL_TO_ALL: return f;
        default: return 1;
    }
}

// Data-parallel scaling efficiency, weak scaling (each of N ranks runs the micro-batch one rank runs alone): the
// rate of N ranks over N x the rate of one, which is one rank's step time over the step time on N ranks. 1: no
// cost from the ranks (the all-reduce, waiting for the slowest rank, shared memory bandwidth); 0 when unknown.
inline double dp_scaling_efficiency(double one_rank_step_s, double step_s) {
    return step_s > 0 ? one_rank_step_s / step_s : 0;
}

// Bus bandwidth: algorithm bandwidth x coll_busbw_factor(kind, n).
inline double coll_busbw(double algbw, versus_coll_kind kind, int n) { return algbw * coll_busbw_factor(kind, n); }

}  // namespace versus::base
