// The layers of layers.hpp except attention (train-attention.cpp) and the optimizer (optimizer.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "train/fast-math.hpp"
#include "train/layers.hpp"
#include "train/matmul.hpp"
#include "train/op-clock.hpp"
#include "train/simd.hpp"

namespace versus::train {

namespace {

// Elementwise loops: chunks of this many elements per claim.
constexpr int64_t GRAIN = 1 << 14;
// Row reductions are cut into at most this many fixed chunks, whose partial sums are added in chunk order.
constexpr int REDUCE_CHUNKS = 32;

int reduce_chunks(int N) { return std::max(1, std::min(N, REDUCE_CHUNKS)); }

// Runs fn(chunk, row_begin, row_end) over the fixed chunks of N rows.
template <typename F>
void for_row_chunks(ThreadPool& pool, int N, F&& fn) {
    const int chunks = reduce_chunks(N);
    pool.parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
            fn(static_cast<int>(c), static_cast<int>(c * N / chunks), static_cast<int>((c + 1) * N / chunks));
    });
}

// out[j] (width) = sum over chunks of partial[chunk][j], in chunk order.
template <typename T>
void sum_chunks(T* out, const T* partial, int chunks, int width) {
    for (int j = 0; j < width; ++j) out[j] = 0;
    for (int c = 0; c < chunks; ++c)
        for (int j = 0; j < width; ++j) out[j] += partial[static_cast<size_t>(c) * width + j];
}

}  // namespace

// ---- embedding --------------------------------------------------------------------------------------------

template <typename T>
void embedding_forward(ThreadPool& pool, T* out, const int32_t* tokens, const T* wte, const T* wpe, int N, int seq,
                       int d) {
    OpClock clock(Op::EMBEDDING);
    pool.parallel_for(N, 16, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n) {
            const T* w = wte + static_cast<int64_t>(tokens[n]) * d;
            T* o = out + n * d;
            if (wpe) {
                const T* p = wpe + (n % seq) * d;
                for (int j = 0; j < d; ++j) o[j] = w[j] + p[j];
            } else {
                std::memcpy(o, w, sizeof(T) * d);
            }
        }
    });
}

template <typename T>
void embedding_backward(ThreadPool& pool, T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int N, int seq,
                        int d) {
    OpClock clock(Op::EMBEDDING);
    // Threads own column ranges: tokens repeat, so rows of dwte cannot be split among threads.
    pool.parallel_for(d, 16, [&](int64_t b, int64_t e) {
        if (dwpe)
            for (int t = 0; t < seq; ++t)
                for (int64_t j = b; j < e; ++j) dwpe[static_cast<int64_t>(t) * d + j] = 0;
        for (int n = 0; n < N; ++n) {
            const T* g = dout + static_cast<int64_t>(n) * d;
            T* w = dwte + static_cast<int64_t>(tokens[n]) * d;
            for (int64_t j = b; j < e; ++j) w[j] += g[j];
            if (dwpe) {
                T* p = dwpe + static_cast<int64_t>(n % seq) * d;
                for (int64_t j = b; j < e; ++j) p[j] += g[j];
            }
        }
    });
}

// ---- normalisation ----------------------------------------------------------------------------------------

namespace {

// One row of norm_forward; returns (mean, rstd).
template <typename T>
VERSUS_TRAIN_SIMD void norm_row(bool layer, T* __restrict o, const T* __restrict x, const T* __restrict w,
                                const T* __restrict b, int d, T eps, T* mean, T* rstd) {
    T m = 0;
    if (layer) {
#pragma omp simd reduction(+ : m)
        for (int j = 0; j < d; ++j) m += x[j];
        m /= d;
    }
    T var = 0;
#pragma omp simd reduction(+ : var)
    for (int j = 0; j < d; ++j) var += (x[j] - m) * (x[j] - m);
    const T s = T(1) / std::sqrt(var / d + eps);
    if (layer)
        for (int j = 0; j < d; ++j) o[j] = (x[j] - m) * s * w[j] + b[j];
    else
        for (int j = 0; j < d; ++j) o[j] = x[j] * s * w[j];
    *mean = m;
    *rstd = s;
}

// One row of norm_backward: dx += ..., and the row's share of dw, db added to cw, cb.
template <typename T>
VERSUS_TRAIN_SIMD void norm_backward_row(bool layer, T* __restrict dx, T* __restrict cw, T* __restrict cb,
                                         const T* __restrict g, const T* __restrict x, const T* __restrict w, T m, T s,
                                         int d) {
    // xhat = (x - m) s; dnorm = g w; dx += s (dnorm - mean(dnorm) - xhat mean(dnorm xhat))
    T sum_dn = 0, sum_dnx = 0;
#pragma omp simd reduction(+ : sum_dn, sum_dnx)
    for (int j = 0; j < d; ++j) {
        const T xhat = (x[j] - m) * s, dn = g[j] * w[j];
        sum_dn += dn;
        sum_dnx += dn * xhat;
        cw[j] += g[j] * xhat;
        cb[j] += g[j];
    }
    const T mdn = layer ? sum_dn / d : T(0), mdnx = sum_dnx / d;
    for (int j = 0; j < d; ++j) dx[j] += s * (g[j] * w[j] - mdn - (x[j] - m) * s * mdnx);
}

}  // namespace

template <typename T>
void norm_forward(ThreadPool& pool, Norm kind, T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int N,
                  int d, float eps) {
    OpClock clock(Op::NORM);
    const bool layer = kind == Norm::LAYER;
    pool.parallel_for(N, 8, [=](int64_t rb, int64_t re) {
        for (int64_t n = rb; n < re; ++n) {
            T m;
            norm_row(layer, out + n * d, x + n * d, w, b, d, static_cast<T>(eps), &m, rstd + n);
            if (layer) mean[n] = m;
        }
    });
}

size_t norm_scratch(int d) { return static_cast<size_t>(REDUCE_CHUNKS) * 2 * d; }

template <typename T>
void norm_backward(ThreadPool& pool, Norm kind, T* dx, T* dw, T* db, const T* dout, const T* x, const T* w,
                   const T* mean, const T* rstd, int N, int d, T* scratch) {
    OpClock clock(Op::NORM);
    const int chunks = reduce_chunks(N);
    T* pw = scratch;                                    // (chunks, d) partial dw
    T* pb = scratch + static_cast<size_t>(chunks) * d;  // (chunks, d) partial db
    const bool layer = kind == Norm::LAYER;
    for_row_chunks(pool, N, [=](int c, int rb, int re) {
        T* cw = pw + static_cast<size_t>(c) * d;
        T* cb = pb + static_cast<size_t>(c) * d;
        std::fill(cw, cw + d, T(0));
        std::fill(cb, cb + d, T(0));
        for (int n = rb; n < re; ++n) {
            const int64_t o = static_cast<int64_t>(n) * d;
            norm_backward_row(layer, dx + o, cw, cb, dout + o, x + o, w, layer ? mean[n] : T(0), rstd[n], d);
        }
    });
    sum_chunks(dw, pw, chunks, d);
    if (db) sum_chunks(db, pb, chunks, d);
}

// ---- linear -----------------------------------------------------------------------------------------------

namespace {
// p[j] = sum over the n rows of g of g[row][j]: a chunk of a bias gradient.
template <typename T>
VERSUS_TRAIN_SIMD void column_sums(T* __restrict p, const T* __restrict g, int n, int width) {
    for (int j = 0; j < width; ++j) p[j] = 0;
    for (int r = 0; r < n; ++r)
        for (int j = 0; j < width; ++j) p[j] += g[static_cast<int64_t>(r) * width + j];
}
}  // namespace

template <typename T>
void linear_forward(ThreadPool& pool, T* y, const T* x, const T* W, const T* b, int N, int in, int out) {
    if (b) {  // y starts as the bias rows; the product adds to it
        OpClock clock(Op::BIAS);
        pool.parallel_for(N, 16, [&](int64_t rb, int64_t re) {
            for (int64_t n = rb; n < re; ++n) std::memcpy(y + n * out, b, sizeof(T) * out);
        });
    }
    gemm<T>(pool, false, true, N, out, in, T(1), x, in, W, in, b ? T(1) : T(0), y, out);
}

size_t linear_scratch(int out) { return static_cast<size_t>(REDUCE_CHUNKS) * out; }

template <typename T>
void linear_backward(ThreadPool& pool, T* dx, T* dW, T* db, const T* dy, const T* x, const T* W, int N, int in,
                     int out, T dx_beta, T dW_beta, T* scratch) {
    if (dx) gemm<T>(pool, false, false, N, in, out, T(1), dy, out, W, in, dx_beta, dx, in);
    gemm<T>(pool, true, false, out, in, N, T(1), dy, out, x, in, dW_beta, dW, in);
    if (!db) return;
    OpClock clock(Op::BIAS);
    const int chunks = reduce_chunks(N);
    for_row_chunks(pool, N, [&](int c, int rb, int re) {
        column_sums(scratch + static_cast<size_t>(c) * out, dy + static_cast<int64_t>(rb) * out, re - rb, out);
    });
    sum_chunks(db, scratch, chunks, out);
}

// ---- activations ------------------------------------------------------------------------------------------

namespace {
constexpr double GELU_K = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double GELU_C = 0.044715;
}  // namespace

namespace {

template <typename T>
VERSUS_TRAIN_SIMD void gelu_range(T* __restrict out, const T* __restrict x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const T v = x[i];
        const T u = T(GELU_K) * (v + T(GELU_C) * v * v * v);
        out[i] = T(0.5) * v * (T(1) + tanh_fast(u));
    }
}

template <typename T>
VERSUS_TRAIN_SIMD void gelu_backward_range(T* __restrict dx, const T* __restrict x, const T* __restrict dout, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const T v = x[i];
        const T u = T(GELU_K) * (v + T(GELU_C) * v * v * v);
        const T th = tanh_fast(u);
        const T du = T(GELU_K) * (T(1) + T(3 * GELU_C) * v * v);
        dx[i] = dout[i] * (T(0.5) * (T(1) + th) + T(0.5) * v * (T(1) - th * th) * du);
    }
}

template <typename T>
VERSUS_TRAIN_SIMD void swiglu_row(T* __restrict o, const T* __restrict g, const T* __restrict u, int f) {
    for (int j = 0; j < f; ++j) o[j] = g[j] / (T(1) + exp_fast(-g[j])) * u[j];
}

template <typename T>
VERSUS_TRAIN_SIMD void swiglu_backward_row(T* __restrict dg, T* __restrict du, const T* __restrict g,
                                           const T* __restrict u, const T* __restrict d, int f) {
    for (int j = 0; j < f; ++j) {
        const T s = T(1) / (T(1) + exp_fast(-g[j]));  // sigmoid; silu = g s, silu' = s (1 + g (1 - s))
        dg[j] = d[j] * u[j] * s * (T(1) + g[j] * (T(1) - s));
        du[j] = d[j] * g[j] * s;
    }
}

}  // namespace

template <typename T>
void gelu_forward(ThreadPool& pool, T* out, const T* x, int64_t n) {
    OpClock clock(Op::ACTIVATION);
    pool.parallel_for(n, GRAIN, [=](int64_t b, int64_t e) { gelu_range(out + b, x + b, e - b); });
}

template <typename T>
void gelu_backward(ThreadPool& pool, T* dx, const T* x, const T* dout, int64_t n) {
    OpClock clock(Op::ACTIVATION);
    pool.parallel_for(n, GRAIN, [=](int64_t b, int64_t e) { gelu_backward_range(dx + b, x + b, dout + b, e - b); });
}

template <typename T>
void swiglu_forward(ThreadPool& pool, T* out, const T* h, int N, int f) {
    OpClock clock(Op::ACTIVATION);
    pool.parallel_for(N, 4, [=](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n) swiglu_row(out + n * f, h + n * 2 * f, h + n * 2 * f + f, f);
    });
}

template <typename T>
void swiglu_backward(ThreadPool& pool, T* dh, const T* h, const T* dout, int N, int f) {
    OpClock clock(Op::ACTIVATION);
    pool.parallel_for(N, 4, [=](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n)
            swiglu_backward_row(dh + n * 2 * f, dh + n * 2 * f + f, h + n * 2 * f, h + n * 2 * f + f, dout + n * f, f);
    });
}

// ---- rotary position embedding ----------------------------------------------------------------------------

namespace {

// Rotates the q and k pairs of every head of every token by +angle (forward) or -angle (backward).
template <typename T>
void rope_apply(ThreadPool& pool, T* qkv, int B, int seq, int H, int hd, float base, T sign) {
    OpClock clock(Op::ROPE);
    const int half = hd / 2, d = H * hd;
    std::vector<T> cs(static_cast<size_t>(seq) * half * 2);  // (seq, half) cos, sin
    for (int t = 0; t < seq; ++t)
        for (int i = 0; i < half; ++i) {
            const double theta = t * std::pow(static_cast<double>(base), -2.0 * i / hd);
            cs[(static_cast<size_t>(t) * half + i) * 2] = static_cast<T>(std::cos(theta));
            cs[(static_cast<size_t>(t) * half + i) * 2 + 1] = sign * static_cast<T>(std::sin(theta));
        }
    pool.parallel_for(static_cast<int64_t>(B) * seq, 8, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n) {
            const T* c = cs.data() + static_cast<size_t>(n % seq) * half * 2;
            T* row = qkv + n * 3 * d;
            for (int part = 0; part < 2; ++part)  // q, then k
                for (int h = 0; h < H; ++h) {
                    T* x = row + part * d + h * hd;
                    for (int i = 0; i < half; ++i) {
                        const T x0 = x[2 * i], x1 = x[2 * i + 1], co = c[2 * i], si = c[2 * i + 1];
                        x[2 * i] = x0 * co - x1 * si;
                        x[2 * i + 1] = x0 * si + x1 * co;
                    }
                }
        }
    });
}

}  // namespace

template <typename T>
void rope_forward(ThreadPool& pool, T* qkv, int B, int seq, int H, int hd, float base) {
    rope_apply(pool, qkv, B, seq, H, hd, base, T(1));
}

template <typename T>
void rope_backward(ThreadPool& pool, T* dqkv, int B, int seq, int H, int hd, float base) {
    rope_apply(pool, dqkv, B, seq, H, hd, base, T(-1));  // the transpose of a rotation is its inverse
}

// ---- loss -------------------------------------------------------------------------------------------------

namespace {

// One row: the loss, and the logits turned into their gradient in place.
template <typename T>
VERSUS_TRAIN_SIMD T cross_entropy_row(T* __restrict z, int V, int32_t t, T dscale) {
    T mx = z[0];
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < V; ++j) mx = z[j] > mx ? z[j] : mx;  // (std::max does not vectorise here)
    const T zt = z[t] - mx;
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < V; ++j) {
        z[j] = exp_fast(z[j] - mx);
        sum += z[j];
    }
    const T k = dscale / sum;
    for (int j = 0; j < V; ++j) z[j] *= k;
    z[t] -= dscale;
    return std::log(sum) - zt;  // -log(e^(z_t - max) / sum)
}

}  // namespace

template <typename T>
double cross_entropy(ThreadPool& pool, T* logits, T* losses, const int32_t* targets, int N, int V, T dscale) {
    OpClock clock(Op::LOSS);
    pool.parallel_for(N, 1, [=](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; ++n) {
            T* z = logits + n * V;
            if (targets[n] < 0) {
                std::fill(z, z + V, T(0));
                losses[n] = 0;
            } else {
                losses[n] = cross_entropy_row(z, V, targets[n], dscale);
            }
        }
    });
    double total = 0;
    for (int n = 0; n < N; ++n) total += losses[n];
    return total;
}

// ---- elementwise ------------------------------------------------------------------------------------------

namespace {
template <typename T>
VERSUS_TRAIN_SIMD void add_range(T* out, const T* a, const T* b, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
}  // namespace

template <typename T>
void add(ThreadPool& pool, T* out, const T* a, const T* b, int64_t n) {
    OpClock clock(Op::RESIDUAL);
    pool.parallel_for(n, GRAIN, [=](int64_t lo, int64_t hi) { add_range(out + lo, a + lo, b + lo, hi - lo); });
}

// ---- instantiations ---------------------------------------------------------------------------------------

#define VERSUS_TRAIN_LAYERS(T)                                                                                      \
    template void embedding_forward<T>(ThreadPool&, T*, const int32_t*, const T*, const T*, int, int, int);        \
    template void embedding_backward<T>(ThreadPool&, T*, T*, const T*, const int32_t*, int, int, int);             \
    template void norm_forward<T>(ThreadPool&, Norm, T*, T*, T*, const T*, const T*, const T*, int, int, float);    \
    template void norm_backward<T>(ThreadPool&, Norm, T*, T*, T*, const T*, const T*, const T*, const T*, const T*, \
                                   int, int, T*);                                                                   \
    template void linear_forward<T>(ThreadPool&, T*, const T*, const T*, const T*, int, int, int);                 \
    template void linear_backward<T>(ThreadPool&, T*, T*, T*, const T*, const T*, const T*, int, int, int, T, T, T*); \
    template void gelu_forward<T>(ThreadPool&, T*, const T*, int64_t);                                             \
    template void gelu_backward<T>(ThreadPool&, T*, const T*, const T*, int64_t);                                  \
    template void swiglu_forward<T>(ThreadPool&, T*, const T*, int, int);                                          \
    template void swiglu_backward<T>(ThreadPool&, T*, const T*, const T*, int, int);                               \
    template void rope_forward<T>(ThreadPool&, T*, int, int, int, int, float);                                     \
    template void rope_backward<T>(ThreadPool&, T*, int, int, int, int, float);                                    \
    template double cross_entropy<T>(ThreadPool&, T*, T*, const int32_t*, int, int, T);                            \
    template void add<T>(ThreadPool&, T*, const T*, const T*, int64_t);

VERSUS_TRAIN_LAYERS(float)
VERSUS_TRAIN_LAYERS(double)

}  // namespace versus::train
