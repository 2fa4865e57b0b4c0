// stats: the summary statistics of a sample set. Formulas are documented in docs/metrics.md.
#pragma once

#include <cstdint>
#include <span>

namespace versus::base {

inline constexpr double UNSTABLE_MDAPE_PCT = 5.0;

struct Summary {
    int64_t n = 0;
    double median = 0;
    double mdape_pct = 0;  // median absolute percentage error around the median
    double min = 0;
    double max = 0;
    double mean = 0;
    bool unstable() const { return mdape_pct > UNSTABLE_MDAPE_PCT; }
};

double median(std::span<const double> xs);
// median over i of |x_i - median| / median * 100 (0 for fewer than two samples or a zero median).
double mdape_pct(std::span<const double> xs);
Summary summarize(std::span<const double> xs);
Summary summarize_ns(std::span<const int64_t> ns);

}  // namespace versus::base
