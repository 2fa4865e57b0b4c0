#include "base/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace versus::base {

double median(std::span<const double> xs) {
    if (xs.empty()) return 0;
    std::vector<double> v(xs.begin(), xs.end());
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + mid, v.end());
    if (v.size() % 2) return v[mid];
    const double hi = v[mid];
    const double lo = *std::max_element(v.begin(), v.begin() + mid);
    return 0.5 * (lo + hi);
}

double mdape_pct(std::span<const double> xs) {
    if (xs.size() < 2) return 0;
    const double m = median(xs);
    if (m == 0) return 0;
    std::vector<double> ape(xs.size());
    std::transform(xs.begin(), xs.end(), ape.begin(), [m](double x) { return std::fabs(x - m) / std::fabs(m) * 100.0; });
    return median(ape);
}

Summary summarize(std::span<const double> xs) {
    Summary s;
    s.n = static_cast<int64_t>(xs.size());
    if (xs.empty()) return s;
    s.median = median(xs);
    s.mdape_pct = mdape_pct(xs);
    auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
    s.min = *lo;
    s.max = *hi;
    s.mean = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
    return s;
}

Summary summarize_ns(std::span<const int64_t> ns) {
    std::vector<double> v(ns.begin(), ns.end());
    return summarize(v);
}

}  // namespace versus::base
