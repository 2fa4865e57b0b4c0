// metrics: every derived figure versus reports, one function each, each documented in
// docs/metrics.md under the same name. Workloads, printers and the predictor call these and
// never recompute a figure inline.
#pragma once

namespace versus::core {

// Work per second: FLOP/s from flops, B/s from bytes (STREAM counting for membw), over the
// median time of one op.
inline double rate_per_s(double amount, double median_s) { return median_s > 0 ? amount / median_s : 0; }

// Achieved rate as a percentage of the device's peak for the same dtype.
inline double percent_of_peak(double rate, double peak) { return peak > 0 ? 100.0 * rate / peak : 0; }

// Average power over a measurement: joules / seconds.
inline double average_power_w(double joules, double seconds) { return seconds > 0 ? joules / seconds : 0; }

// Energy of one op: joules over the measurement / ops in it.
inline double energy_per_op_j(double joules, double ops) { return ops > 0 ? joules / ops : 0; }

}  // namespace versus::core
