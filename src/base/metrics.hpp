// metrics: every derived figure versus reports, one function each, each documented in
// docs/metrics.md under the same name. Workloads, printers and the predictor call these and
// never recompute a figure inline.
#pragma once

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

// Energy of one op from the average power over a window and the op's own (median) time, where the
// window holds untimed work besides the ops (device-timed rows).
inline double energy_at_power_j(double power_w, double seconds) { return power_w * seconds; }

// Theoretical bandwidth of a PCIe link per direction in GB/s: lanes x transfer rate x line-code
// efficiency / 8 bits (gen 1-2: 8b/10b; gen 3-5: 128b/130b; gen 6+: FLIT mode, 242/256). 0 if unknown.
inline double pcie_gbps(int gen, int lanes) {
    static constexpr double GT_S[] = {0, 2.5, 5, 8, 16, 32, 64, 128};
    if (gen < 1 || gen > 7 || lanes < 1) return 0;
    const double efficiency = gen <= 2 ? 8.0 / 10 : gen <= 5 ? 128.0 / 130 : 242.0 / 256;
    return lanes * GT_S[gen] * efficiency / 8;
}

}  // namespace versus::base
