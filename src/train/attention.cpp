// Causal self-attention for training, forward and backward, two ways (layers.hpp):
//   fused  FlashAttention's algorithm: per (batch, head), query tiles against key tiles (AttentionTiles), an online softmax in the forward pass keeping only the log-sum-exp per query, and a
//          backward pass that recomputes each tile's probabilities from it. Working memory: two score tiles
//          per thread.
//   naive  the score matrix of every (batch, head) stored as softmax probabilities, seq x seq.
// Tiles are multiplied by the BLAS kernel (gemm_serial) on the thread that owns the (batch, head).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "train/fast-math.hpp"
#include "train/layers.hpp"
#include "train/matmul.hpp"
#include "train/op-clock.hpp"
#include "train/simd.hpp"

namespace versus::train {

namespace {

// Where one (batch, head)'s rows start, and their strides.
template <typename T>
struct HeadView {
    const T *q, *k, *v;  // row stride 3d
    int ld_qkv, ld_out;  // 3d, d
};

template <typename T>
HeadView<T> head_view(const T* qkv, int b, int h, int seq, int H, int hd) {
    const int d = H * hd;
    const T* base = qkv + static_cast<int64_t>(b) * seq * 3 * d + static_cast<int64_t>(h) * hd;
    return {base, base + d, base + 2 * d, 3 * d, d};
}

// ---- row kernels ----------------------------------------------------------------------------------------------

// Online softmax of one score row's tile: the first `visible` of nk scores become e^(s - mx) with mx the new
// running maximum (from m), the rest 0. Returns the tile's sum; *mx receives the maximum.
template <typename T>
VERSUS_TRAIN_SIMD T softmax_tile_row(T* __restrict s, int visible, int nk, T m, T* mx_out) {
    T mx = m;
#pragma omp simd reduction(max : mx)
    for (int c = 0; c < visible; ++c) mx = std::max(mx, s[c]);
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < visible; ++c) {
        s[c] = exp_fast(s[c] - mx);
        sum += s[c];
    }
    for (int c = std::max(visible, 0); c < nk; ++c) s[c] = 0;
    *mx_out = mx;
    return sum;
}

// The backward tile row: p = e^(score - L), dp = p (dp - D) scale over the visible keys, 0 after them.
template <typename T>
VERSUS_TRAIN_SIMD void dscore_tile_row(T* __restrict p, T* __restrict dp, int visible, int nk, T L, T D, T scale) {
    for (int c = 0; c < visible; ++c) {
        p[c] = exp_fast(p[c] - L);
        dp[c] = p[c] * (dp[c] - D) * scale;
    }
    for (int c = visible; c < nk; ++c) p[c] = dp[c] = 0;
}

template <typename T>
VERSUS_TRAIN_SIMD T dot(const T* __restrict a, const T* __restrict b, int n) {
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int e = 0; e < n; ++e) s += a[e] * b[e];
    return s;
}

template <typename T>
VERSUS_TRAIN_SIMD void scale_row(T* __restrict x, T k, int n) {
    for (int e = 0; e < n; ++e) x[e] *= k;
}

// ---- fused --------------------------------------------------------------------------------------------------

template <typename T>
void fused_forward_head(T* out, T* lse, const HeadView<T>& x, int seq, int hd, T scale, AttentionTiles tiles, T* S, T* m,
                        T* l) {
    for (int q0 = 0; q0 < seq; q0 += tiles.q) {
        const int nq = std::min(tiles.q, seq - q0);
        T* O = out + static_cast<int64_t>(q0) * x.ld_out;  // (nq, hd) accumulator, row stride d
        for (int r = 0; r < nq; ++r) {
            m[r] = -std::numeric_limits<T>::infinity();
            l[r] = 0;
            std::fill(O + static_cast<int64_t>(r) * x.ld_out, O + static_cast<int64_t>(r) * x.ld_out + hd, T(0));
        }
        for (int k0 = 0; k0 < q0 + nq; k0 += tiles.k) {
            const int nk = std::min(tiles.k, q0 + nq - k0);
            // S (nq, nk) = scale Q_i K_j^T
            gemm_serial<T>(false, true, nq, nk, hd, scale, x.q + static_cast<int64_t>(q0) * x.ld_qkv, x.ld_qkv,
                           x.k + static_cast<int64_t>(k0) * x.ld_qkv, x.ld_qkv, T(0), S, nk);
            for (int r = 0; r < nq; ++r) {
                const int visible = std::min(nk, q0 + r - k0 + 1);  // keys k0 .. q0 + r
                T mx;
                const T sum = softmax_tile_row(S + static_cast<int64_t>(r) * nk, visible, nk, m[r], &mx);
                const T corr = exp_fast(m[r] - mx);  // 0 on the first tile
                l[r] = l[r] * corr + sum;
                m[r] = mx;
                if (corr != T(1)) scale_row(O + static_cast<int64_t>(r) * x.ld_out, corr, hd);
            }
            // O_i += P V_j
            gemm_serial<T>(false, false, nq, hd, nk, T(1), S, nk, x.v + static_cast<int64_t>(k0) * x.ld_qkv, x.ld_qkv,
                           T(1), O, x.ld_out);
        }
        for (int r = 0; r < nq; ++r) {
            scale_row(O + static_cast<int64_t>(r) * x.ld_out, T(1) / l[r], hd);
            lse[q0 + r] = m[r] + std::log(l[r]);
        }
    }
}

// dq, dk, dv: the head's gradient rows (stride 3d); dout, out: row stride d. D (seq) = rowsum(dO * O).
template <typename T>
void fused_backward_head(T* dq, T* dk, T* dv, const T* dout, const T* out, const T* lse, const HeadView<T>& x, int seq,
                         int hd, T scale, AttentionTiles tiles, T* P, T* dP, T* D) {
    for (int t = 0; t < seq; ++t) {
        D[t] = dot(dout + static_cast<int64_t>(t) * x.ld_out, out + static_cast<int64_t>(t) * x.ld_out, hd);
        for (T* row : {dq, dk, dv}) std::fill(row + static_cast<int64_t>(t) * x.ld_qkv, row + static_cast<int64_t>(t) * x.ld_qkv + hd, T(0));
    }
    for (int k0 = 0; k0 < seq; k0 += tiles.k) {
        const int nk = std::min(tiles.k, seq - k0);
        const T* Kj = x.k + static_cast<int64_t>(k0) * x.ld_qkv;
        const T* Vj = x.v + static_cast<int64_t>(k0) * x.ld_qkv;
        T* dKj = dk + static_cast<int64_t>(k0) * x.ld_qkv;
        T* dVj = dv + static_cast<int64_t>(k0) * x.ld_qkv;
        // Query tiles that see this key tile: those ending at or after k0.
        for (int q0 = k0 / tiles.q * tiles.q; q0 < seq; q0 += tiles.q) {
            const int nq = std::min(tiles.q, seq - q0);
            // Keys after the tile's last query are masked for all of it: only the first nv of the tile take part.
            const int nv = std::min(nk, q0 + nq - k0);
            const T* Qi = x.q + static_cast<int64_t>(q0) * x.ld_qkv;
            const T* dOi = dout + static_cast<int64_t>(q0) * x.ld_out;
            // P (nq, nv) = exp(scale Q_i K_j^T - lse), recomputed; keys after the query are 0.
            gemm_serial<T>(false, true, nq, nv, hd, scale, Qi, x.ld_qkv, Kj, x.ld_qkv, T(0), P, nv);
            // dP (nq, nv) = dO_i V_j^T
            gemm_serial<T>(false, true, nq, nv, hd, T(1), dOi, x.ld_out, Vj, x.ld_qkv, T(0), dP, nv);
            for (int r = 0; r < nq; ++r)  // dS into dP, with the score's scale folded in
                dscore_tile_row(P + static_cast<int64_t>(r) * nv, dP + static_cast<int64_t>(r) * nv,
                                std::clamp(q0 + r - k0 + 1, 0, nv), nv, lse[q0 + r], D[q0 + r], scale);
            // dV_j += P^T dO_i; dQ_i += dS K_j; dK_j += dS^T Q_i
            gemm_serial<T>(true, false, nv, hd, nq, T(1), P, nv, dOi, x.ld_out, T(1), dVj, x.ld_qkv);
            gemm_serial<T>(false, false, nq, hd, nv, T(1), dP, nv, Kj, x.ld_qkv, T(1),
                           dq + static_cast<int64_t>(q0) * x.ld_qkv, x.ld_qkv);
            gemm_serial<T>(true, false, nv, hd, nq, T(1), dP, nv, Qi, x.ld_qkv, T(1), dKj, x.ld_qkv);
        }
    }
}

// ---- naive --------------------------------------------------------------------------------------------------

template <typename T>
void naive_forward_head(T* out, T* att, const HeadView<T>& x, int seq, int hd, T scale) {
    // att (seq, seq) = softmax(scale Q K^T, causal); out = att V
    gemm_serial<T>(false, true, seq, seq, hd, scale, x.q, x.ld_qkv, x.k, x.ld_qkv, T(0), att, seq);
    for (int r = 0; r < seq; ++r) {
        T* s = att + static_cast<int64_t>(r) * seq;
        T mx = s[0];
        for (int c = 1; c <= r; ++c) mx = std::max(mx, s[c]);
        T sum = 0;
        for (int c = 0; c <= r; ++c) {
            s[c] = exp_fast(s[c] - mx);
            sum += s[c];
        }
        const T inv = T(1) / sum;
        for (int c = 0; c <= r; ++c) s[c] *= inv;
        for (int c = r + 1; c < seq; ++c) s[c] = 0;
    }
    gemm_serial<T>(false, false, seq, hd, seq, T(1), att, seq, x.v, x.ld_qkv, T(0), out, x.ld_out);
}

template <typename T>
void naive_backward_head(T* dq, T* dk, T* dv, const T* dout, const T* att, const HeadView<T>& x, int seq, int hd,
                         T scale, T* dS) {
    // dS (seq, seq) = dO V^T, then P * (dP - rowsum(P * dP)) * scale
    gemm_serial<T>(false, true, seq, seq, hd, T(1), dout, x.ld_out, x.v, x.ld_qkv, T(0), dS, seq);
    for (int r = 0; r < seq; ++r) {
        const T* p = att + static_cast<int64_t>(r) * seq;
        T* g = dS + static_cast<int64_t>(r) * seq;
        T dot = 0;
        for (int c = 0; c <= r; ++c) dot += p[c] * g[c];
        for (int c = 0; c <= r; ++c) g[c] = p[c] * (g[c] - dot) * scale;
        for (int c = r + 1; c < seq; ++c) g[c] = 0;
    }
    gemm_serial<T>(true, false, seq, hd, seq, T(1), att, seq, dout, x.ld_out, T(0), dv, x.ld_qkv);  // P^T dO
    gemm_serial<T>(false, false, seq, hd, seq, T(1), dS, seq, x.k, x.ld_qkv, T(0), dq, x.ld_qkv);   // dS K
    gemm_serial<T>(true, false, seq, hd, seq, T(1), dS, seq, x.q, x.ld_qkv, T(0), dk, x.ld_qkv);    // dS^T Q
}

size_t per_thread_scratch(AttentionImpl impl, int seq, AttentionTiles t) {
    return impl == AttentionImpl::FUSED ? static_cast<size_t>(2) * t.q * t.k + 2 * t.q + seq
                                        : static_cast<size_t>(seq) * seq;
}

}  // namespace

size_t attention_stats(AttentionImpl impl, int B, int seq, int H) {
    const size_t n = static_cast<size_t>(B) * H * seq;
    return impl == AttentionImpl::FUSED ? n : n * seq;
}

size_t attention_scratch(AttentionImpl impl, int seq, int threads, AttentionTiles tiles) {
    return per_thread_scratch(impl, seq, tiles) * static_cast<size_t>(threads);
}

namespace {

// Runs fn(S, task, b, h, x) for every (batch, head) of qkv, one per claim, each thread with its own `per` elements
// of scratch S (found by the pool's thread index).
template <typename T, typename F>
void for_each_head(ThreadPool& pool, const T* qkv, int B, int seq, int H, int hd, T* scratch, size_t per, F&& fn) {
    std::atomic<int64_t> next{0};
    pool.run([&](int thread, int) {
        T* S = scratch + per * thread;
        for (int64_t task; (task = next.fetch_add(1)) < static_cast<int64_t>(B) * H;) {
            const int b = static_cast<int>(task / H), h = static_cast<int>(task % H);
            fn(S, task, b, h, head_view(qkv, b, h, seq, H, hd));
        }
    });
}

}  // namespace

template <typename T>
void attention_forward(ThreadPool& pool, AttentionImpl impl, T* out, T* stats, const T* qkv, int B, int seq, int H,
                       int hd, T* scratch, AttentionTiles tiles) {
    OpClock clock(Op::ATTENTION);
    const T scale = T(1) / std::sqrt(static_cast<T>(hd));
    const int d = H * hd;
    for_each_head(pool, qkv, B, seq, H, hd, scratch, per_thread_scratch(impl, seq, tiles),
                  [&](T* S, int64_t task, int b, int h, const HeadView<T>& x) {
                      T* o = out + static_cast<int64_t>(b) * seq * d + static_cast<int64_t>(h) * hd;
                      if (impl == AttentionImpl::FUSED) {
                          T* m = S + tiles.q * tiles.k;
                          fused_forward_head(o, stats + task * seq, x, seq, hd, scale, tiles, S, m, m + tiles.q);
                      } else {
                          naive_forward_head(o, stats + task * seq * seq, x, seq, hd, scale);
                      }
                  });
}

template <typename T>
void attention_backward(ThreadPool& pool, AttentionImpl impl, T* dqkv, const T* dout, const T* out, const T* stats,
                        const T* qkv, int B, int seq, int H, int hd, T* scratch, AttentionTiles tiles) {
    OpClock clock(Op::ATTENTION);
    const T scale = T(1) / std::sqrt(static_cast<T>(hd));
    const int d = H * hd;
    for_each_head(pool, qkv, B, seq, H, hd, scratch, per_thread_scratch(impl, seq, tiles),
                  [&](T* S, int64_t task, int b, int h, const HeadView<T>& x) {
                      const int64_t head_off = static_cast<int64_t>(b) * seq * d + static_cast<int64_t>(h) * hd;
                      T* dq = dqkv + static_cast<int64_t>(b) * seq * 3 * d + static_cast<int64_t>(h) * hd;
                      if (impl == AttentionImpl::FUSED) {
                          T* dP = S + tiles.q * tiles.k;
                          fused_backward_head(dq, dq + d, dq + 2 * d, dout + head_off, out + head_off, stats + task * seq,
                                              x, seq, hd, scale, tiles, S, dP, dP + tiles.q * tiles.k + 2 * tiles.q);
                      } else {
                          naive_backward_head(dq, dq + d, dq + 2 * d, dout + head_off, stats + task * seq * seq, x, seq,
                                              hd, scale, S);
                      }
                  });
}

template void attention_forward<float>(ThreadPool&, AttentionImpl, float*, float*, const float*, int, int, int, int,
                                       float*, AttentionTiles);
template void attention_forward<double>(ThreadPool&, AttentionImpl, double*, double*, const double*, int, int, int, int,
                                        double*, AttentionTiles);
template void attention_backward<float>(ThreadPool&, AttentionImpl, float*, const float*, const float*, const float*,
                                        const float*, int, int, int, int, float*, AttentionTiles);
template void attention_backward<double>(ThreadPool&, AttentionImpl, double*, const double*, const double*,
                                         const double*, const double*, int, int, int, int, double*, AttentionTiles);

}  // namespace versus::train
