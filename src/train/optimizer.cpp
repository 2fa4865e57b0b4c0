// AdamW with decoupled weight decay and global gradient-norm clipping (layers.hpp).
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/layers.hpp"
#include "train/op-clock.hpp"
#include "train/simd.hpp"

namespace versus::train {

namespace {
// Fixed chunks of the norm's sum, added in order: the same number whatever the threads.
constexpr int64_t NORM_CHUNK = 1 << 16;
constexpr int64_t UPDATE_GRAIN = 1 << 14;

template <typename T>
VERSUS_TRAIN_SIMD double sum_squares(const T* __restrict g, int64_t n) {
    T s = 0;  // a chunk in T (vectorised), the chunks in double
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += g[i] * g[i];
    return static_cast<double>(s);
}

// Bias corrections folded into two factors: p -= lr (m / c1) / (sqrt(v / c2) + eps) + lr wd p.
template <typename T>
struct AdamStep {
    T b1, b2, eps, lr, wd, gs, c1, c2;
};

template <typename T>
VERSUS_TRAIN_SIMD void adamw_range(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n,
                                   AdamStep<T> a) {
    for (int64_t i = 0; i < n; ++i) {
        const T gi = g[i] * a.gs;
        const T mi = a.b1 * m[i] + (T(1) - a.b1) * gi;
        const T vi = a.b2 * v[i] + (T(1) - a.b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= a.lr * (mi * a.c1 / (std::sqrt(vi * a.c2) + a.eps) + a.wd * p[i]);
    }
}

}  // namespace

template <typename T>
double grad_norm(ThreadPool& pool, const T* g, int64_t n) {
    OpClock clock(Op::OPTIMIZER);
    const int64_t chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    std::vector<double> part(static_cast<size_t>(chunks));
    pool.parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const int64_t lo = c * NORM_CHUNK, hi = std::min(n, lo + NORM_CHUNK);
            part[static_cast<size_t>(c)] = sum_squares(g + lo, hi - lo);
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
    OpClock clock(Op::OPTIMIZER);
    const AdamStep<T> a{static_cast<T>(c.beta1),
                        static_cast<T>(c.beta2),
                        static_cast<T>(c.eps),
                        static_cast<T>(c.lr),
                        decay ? static_cast<T>(c.weight_decay) : T(0),
                        static_cast<T>(grad_scale),
                        static_cast<T>(1 / (1 - std::pow(c.beta1, step))),
                        static_cast<T>(1 / (1 - std::pow(c.beta2, step)))};
    pool.parallel_for(n, UPDATE_GRAIN,
                      [=](int64_t lo, int64_t hi) { adamw_range(p + lo, g + lo, m + lo, v + lo, hi - lo, a); });
}

template double grad_norm<float>(ThreadPool&, const float*, int64_t);
template double grad_norm<double>(ThreadPool&, const double*, int64_t);
template void adamw_update<float>(ThreadPool&, float*, const float*, float*, float*, int64_t, const AdamWConfig&, int,
                                  double, bool);
template void adamw_update<double>(ThreadPool&, double*, const double*, double*, double*, int64_t, const AdamWConfig&,
                                   int, double, bool);

}  // namespace versus::train
