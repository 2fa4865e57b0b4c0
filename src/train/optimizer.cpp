// AdamW with decoupled weight decay and global gradient-norm clipping (layers.hpp).
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/layers.hpp"

namespace versus::train {

namespace {
// Fixed chunks of the norm's sum, added in order: the same number whatever the threads.
constexpr int64_t NORM_CHUNK = 1 << 16;
constexpr int64_t UPDATE_GRAIN = 1 << 14;
}  // namespace

template <typename T>
double grad_norm(ThreadPool& pool, const T* g, int64_t n) {
    const int64_t chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    std::vector<double> part(static_cast<size_t>(chunks));
    pool.parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const int64_t lo = c * NORM_CHUNK, hi = std::min(n, lo + NORM_CHUNK);
            T s = 0;  // a chunk in T (vectorised), the chunks in double
            for (int64_t i = lo; i < hi; ++i) s += g[i] * g[i];
            part[static_cast<size_t>(c)] = static_cast<double>(s);
        }
    });
    double total = 0;
    for (double p : part) total += p;
    return std::sqrt(total);
}

double clip_scale(const AdamWConfig& c, double norm) {
    return c.clip > 0 && norm > c.clip ? c.clip / norm : 1.0;
}

template <typename T>
void adamw_update(ThreadPool& pool, T* p, const T* g, T* m, T* v, int64_t n, const AdamWConfig& c, int step,
                  double grad_scale, bool decay) {
    const T b1 = static_cast<T>(c.beta1), b2 = static_cast<T>(c.beta2), eps = static_cast<T>(c.eps);
    const T lr = static_cast<T>(c.lr), wd = decay ? static_cast<T>(c.weight_decay) : T(0), gs = static_cast<T>(grad_scale);
    // Bias corrections folded into two factors: p -= lr (m / c1) / (sqrt(v / c2) + eps) + lr wd p.
    const T c1 = static_cast<T>(1 / (1 - std::pow(c.beta1, step))), c2 = static_cast<T>(1 / (1 - std::pow(c.beta2, step)));
    pool.parallel_for(n, UPDATE_GRAIN, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            const T gi = g[i] * gs;
            const T mi = b1 * m[i] + (T(1) - b1) * gi;
            const T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] -= lr * (mi * c1 / (std::sqrt(vi * c2) + eps) + wd * p[i]);
        }
    });
}

template double grad_norm<float>(ThreadPool&, const float*, int64_t);
template double grad_norm<double>(ThreadPool&, const double*, int64_t);
template void adamw_update<float>(ThreadPool&, float*, const float*, float*, float*, int64_t, const AdamWConfig&, int,
                                  double, bool);
template void adamw_update<double>(ThreadPool&, double*, const double*, double*, double*, int64_t, const AdamWConfig&,
                                   int, double, bool);

}  // namespace versus::train
