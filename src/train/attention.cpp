// Causal self-attention for training, forward and backward, two ways (layers.hpp):
//   fused  FlashAttention's algorithm: per (batch, head), query tiles against key tiles (AttentionTiles), an
//          online softmax in the forward pass keeping only the log-sum-exp per query, and a backward pass that
//          recomputes each tile's probabilities from it. Working memory per thread: two score tiles and the
//          head's operands packed (a few times seq x hd).
//   naive  the score matrix of every (batch, head) stored as softmax probabilities, seq x seq.
// Each (batch, head) is computed on one thread: the fused path's tiles by the register-blocked kernel of
// train/tile-gemm.hpp (on the head's K and V packed once), the naive path's products by BLAS (gemm_serial).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <utility>

#include "train/fast-math.hpp"
#include "train/layers.hpp"
#include "train/matmul.hpp"
#include "train/op-clock.hpp"
#include "train/simd.hpp"
#include "train/tile-gemm.hpp"

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
    for (int c = 0; c < visible; ++c) mx = s[c] > mx ? s[c] : mx;  // (std::max does not vectorise here)
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

// The fused path's per-thread scratch: one head's operands packed (each seq x hd), then the tiles.
template <typename T>
struct FusedScratch {
    T *kt, *vt;                // per key tile (hd, nk): scale K_j^T, and V_j^T (backward)
    T *v, *k, *q, *dout, *dq;  // rows of hd, contiguous (forward: k, v; backward: all, dq being dQ's sum)
    T *s, *dp;                 // (tq, tk) scores or probabilities, and their gradients
    T* o;                      // (tq, hd) the forward's accumulator
    T *dk, *dv;                // (tk, hd) the backward's sums for one key tile
    T *m, *l;                  // (tq) running maximum and sum
    T* D;                      // (seq) rowsum(dO * O)
};

// Every buffer starts on a cache line: the tile kernel's vector loads and stores then never straddle two (which
// costs them a third of their speed). SCRATCH_BUFFERS: how many fused_scratch carves.
constexpr int SCRATCH_BUFFERS = 15, LINE_BYTES = 64;

size_t fused_scratch_size(int seq, int hd, AttentionTiles t) {
    const size_t n = static_cast<size_t>(seq) * hd;
    return 7 * n + static_cast<size_t>(t.q) * (2 * t.k + hd + 2) + static_cast<size_t>(2) * t.k * hd + seq +
           static_cast<size_t>(SCRATCH_BUFFERS + 1) * LINE_BYTES;  // each alignment skips fewer elements than this
}

template <typename T>
FusedScratch<T> fused_scratch(T* p, int seq, int hd, AttentionTiles t) {
    const int64_t n = static_cast<int64_t>(seq) * hd;
    auto align = [](T* q) {
        return reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(q) + LINE_BYTES - 1) / LINE_BYTES * LINE_BYTES);
    };
    p = align(p);
    auto take = [&p, &align](int64_t count) { return std::exchange(p, align(p + count)); };
    FusedScratch<T> w;
    w.kt = take(n);
    w.vt = take(n);
    w.v = take(n);
    w.k = take(n);
    w.q = take(n);
    w.dout = take(n);
    w.dq = take(n);
    w.s = take(static_cast<int64_t>(t.q) * t.k);
    w.dp = take(static_cast<int64_t>(t.q) * t.k);
    w.o = take(static_cast<int64_t>(t.q) * hd);
    w.dk = take(static_cast<int64_t>(t.k) * hd);
    w.dv = take(static_cast<int64_t>(t.k) * hd);
    w.m = take(t.q);
    w.l = take(t.q);
    w.D = take(seq);
    return w;
}

// The head's rows lie a whole activation row (3d or d values) apart, a stride the hardware prefetchers do not
// follow, and are read once per head, mostly from L3: loops over them prefetch PREFETCH_ROWS rows ahead.
constexpr int PREFETCH_ROWS = 8;

template <typename T>
void prefetch_row(const T* row, int hd, bool write = false) {
    for (int e = 0; e < hd; e += 64 / static_cast<int>(sizeof(T))) {
        if (write)
            __builtin_prefetch(row + e, 1);
        else
            __builtin_prefetch(row + e);
    }
}

template <typename T>
void copy_row(T* __restrict to, const T* __restrict from, int hd) {
    for (int e = 0; e < hd; ++e) to[e] = from[e];
}

// One operand of copy_rows_in: seq rows of hd at stride ld, to a contiguous (seq, hd) buffer (null: only
// prefetched, for a loop that reads them in place).
template <typename T>
struct RowsIn {
    T* to;
    const T* from;
    int64_t ld;
};

template <typename T>
VERSUS_TRAIN_SIMD void copy_rows_in(std::initializer_list<RowsIn<T>> ops, int seq, int hd) {
    for (int t = 0; t < seq; ++t)
        for (const RowsIn<T>& o : ops) {
            if (t + PREFETCH_ROWS < seq) prefetch_row(o.from + (t + PREFETCH_ROWS) * o.ld, hd);
            if (o.to) copy_row(o.to + static_cast<int64_t>(t) * hd, o.from + t * o.ld, hd);
        }
}

// Each key tile of src (seq, hd; contiguous), times mul, transposed into its (hd, nk) block of dst: the B operand
// of a product whose columns are keys, read contiguously by every query tile.
template <typename T>
VERSUS_TRAIN_SIMD void transpose_tiles(T* __restrict dst, const T* __restrict src, int seq, int hd, int tk, T mul) {
    for (int k0 = 0; k0 < seq; k0 += tk) {
        const int nk = std::min(tk, seq - k0);
        T* t = dst + static_cast<int64_t>(k0) * hd;
        const T* x = src + static_cast<int64_t>(k0) * hd;
        for (int e = 0; e < hd; ++e)
#pragma omp simd
            for (int c = 0; c < nk; ++c)
                t[static_cast<int64_t>(e) * nk + c] = x[static_cast<int64_t>(c) * hd + e] * mul;
    }
}

// rows (n, hd) contiguous -> rows of stride ld_to (the gradients in dqkv)
template <typename T>
void unpack_rows(T* to, int64_t ld_to, const T* from, int n, int hd) {
    for (int t = 0; t < n; ++t) {
        if (t + PREFETCH_ROWS < n) prefetch_row(to + static_cast<int64_t>(t + PREFETCH_ROWS) * ld_to, hd, true);
        copy_row(to + static_cast<int64_t>(t) * ld_to, from + static_cast<int64_t>(t) * hd, hd);
    }
}

// The rows of the head the thread is likely to take next (the task pool.size() further on), prefetched into L2 a
// share at a time while it computes the current one, so that the next head's packing loop finds them there; a
// burst of prefetches would stall on the core's miss buffers.
template <typename T>
struct NextHead {
    static constexpr int MAX_OPERANDS = 5;
    const T* rows[MAX_OPERANDS];
    int64_t ld[MAX_OPERANDS];
    int operands = 0, seq = 0, hd = 0, done = 0;
    int b = -1, h = -1;  // the head, or -1 when there is none

    void add(const T* row0, int64_t stride) {
        rows[operands] = row0;
        ld[operands++] = stride;
    }
    // Prefetches the rows up to the fraction step / steps of the head.
    void advance(int64_t step, int64_t steps) {
        const int upto = static_cast<int>(seq * std::min(step, steps) / std::max<int64_t>(steps, 1));
        for (; done < upto; ++done)
            for (int o = 0; o < operands; ++o)
                for (int e = 0; e < hd; e += 64 / static_cast<int>(sizeof(T)))
                    __builtin_prefetch(rows[o] + done * ld[o] + e, 0, 2);
    }
};

template <typename T>
void fused_forward_head(T* out, T* lse, const HeadView<T>& x, int seq, int hd, T scale, AttentionTiles tiles,
                        const FusedScratch<T>& w, int vb, NextHead<T>& next) {
    // K and V -> contiguous rows (Q is read in place: prefetched), then K -> scale K^T per key tile
    copy_rows_in<T>({{w.k, x.k, x.ld_qkv}, {w.v, x.v, x.ld_qkv}, {nullptr, x.q, x.ld_qkv}}, seq, hd);
    transpose_tiles(w.kt, w.k, seq, hd, tiles.k, scale);
    int64_t rows_done = 0, rows_all = 0;  // score rows, for the next head's prefetch
    for (int q0 = 0; q0 < seq; q0 += tiles.q)
        rows_all += static_cast<int64_t>(std::min(tiles.q, seq - q0)) * (q0 / tiles.k + 1);
    for (int q0 = 0; q0 < seq; q0 += tiles.q) {
        const int nq = std::min(tiles.q, seq - q0);
        std::fill(w.m, w.m + nq, -std::numeric_limits<T>::infinity());
        std::fill(w.l, w.l + nq, T(0));
        for (int k0 = 0; k0 < q0 + nq; k0 += tiles.k) {
            const int nk = std::min(tiles.k, q0 + nq - k0);
            // S (nq, nk) = Q_i (scale K_j)^T, up to each row block's last visible key
            tile_gemm<T>({nq, nk, hd, x.q + static_cast<int64_t>(q0) * x.ld_qkv, x.ld_qkv, 1,
                          w.kt + static_cast<int64_t>(k0) * hd, std::min(tiles.k, seq - k0),  // the packed tile's width
                          w.s, nk, false, TileMask::COLUMNS, q0 - k0},
                         vb);
            for (int r = 0; r < nq; ++r) {
                const int visible = std::min(nk, q0 + r - k0 + 1);  // keys k0 .. q0 + r
                T mx;
                const T sum = softmax_tile_row(w.s + static_cast<int64_t>(r) * nk, visible, nk, w.m[r], &mx);
                const T corr = exp_fast(w.m[r] - mx);  // 0 on the first tile
                w.l[r] = w.l[r] * corr + sum;
                w.m[r] = mx;
                if (k0 > 0 && corr != T(1)) scale_row(w.o + static_cast<int64_t>(r) * hd, corr, hd);
            }
            next.advance(rows_done += nq, rows_all);
            // O_i (nq, hd) [+]= P V_j over each row's visible keys (every row sees key 0: the first tile sets O_i)
            tile_gemm<T>({nq, hd, nk, w.s, nk, 1, w.v + static_cast<int64_t>(k0) * hd, hd, w.o, hd, k0 > 0,
                          TileMask::P_END, q0 - k0},
                         vb);
        }
        for (int r = 0; r < nq; ++r) {
            T* o = out + static_cast<int64_t>(q0 + r) * x.ld_out;
            const T inv = T(1) / w.l[r];
            for (int e = 0; e < hd; ++e) o[e] = w.o[static_cast<int64_t>(r) * hd + e] * inv;
            lse[q0 + r] = w.m[r] + std::log(w.l[r]);
        }
    }
}

// Packs what the backward pass reads of one head: scale K^T and V^T per key tile, K, Q and dO as contiguous rows,
// and D (seq) = rowsum(dO * O).
template <typename T>
void pack_backward(const FusedScratch<T>& w, const T* dout, const T* out, const HeadView<T>& x, int seq, int hd,
                   T scale, int tk) {
    copy_rows_in<T>({{w.k, x.k, x.ld_qkv},
                     {w.v, x.v, x.ld_qkv},
                     {w.q, x.q, x.ld_qkv},
                     {w.dout, dout, x.ld_out},
                     {nullptr, out, x.ld_out}},
                    seq, hd);
    transpose_tiles(w.kt, w.k, seq, hd, tk, scale);
    transpose_tiles(w.vt, w.v, seq, hd, tk, T(1));
    for (int t = 0; t < seq; ++t)
        w.D[t] = dot(w.dout + static_cast<int64_t>(t) * hd, out + static_cast<int64_t>(t) * x.ld_out, hd);
}

// dq, dk, dv: the head's gradient rows (stride 3d); dout, out: row stride d.
template <typename T>
void fused_backward_head(T* dq, T* dk, T* dv, const T* dout, const T* out, const T* lse, const HeadView<T>& x, int seq,
                         int hd, T scale, AttentionTiles tiles, const FusedScratch<T>& w, int vb, NextHead<T>& next) {
    pack_backward(w, dout, out, x, seq, hd, scale, tiles.k);
    int64_t rows_done = 0, rows_all = 0;  // score rows, for the next head's prefetch
    for (int k0 = 0; k0 < seq; k0 += tiles.k) rows_all += seq - k0 / tiles.q * tiles.q;
    for (int k0 = 0; k0 < seq; k0 += tiles.k) {
        const int nk = std::min(tiles.k, seq - k0);
        const T* Ktj = w.kt + static_cast<int64_t>(k0) * hd;
        const T* Vtj = w.vt + static_cast<int64_t>(k0) * hd;
        // Query tiles that see this key tile: those ending at or after k0. The first sets dK_j and dV_j (keys it
        // does not reach are zeroed here); the first key tile, which every query sees, sets dQ.
        const int q_first = k0 / tiles.q * tiles.q;
        const int64_t reached = static_cast<int64_t>(std::min(nk, q_first + tiles.q - k0)) * hd;
        std::fill(w.dk + reached, w.dk + static_cast<int64_t>(nk) * hd, T(0));
        std::fill(w.dv + reached, w.dv + static_cast<int64_t>(nk) * hd, T(0));
        for (int q0 = q_first; q0 < seq; q0 += tiles.q) {
            const int nq = std::min(tiles.q, seq - q0), diag = q0 - k0;
            // Keys after the tile's last query are masked for all of it: only the first nv of the tile take part.
            const int nv = std::min(nk, q0 + nq - k0);
            const T* Qi = w.q + static_cast<int64_t>(q0) * hd;
            const T* dOi = w.dout + static_cast<int64_t>(q0) * hd;
            // P (nq, nv) = Q_i (scale K_j)^T, recomputed (exp below); dP (nq, nv) = dO_i V_j^T
            tile_gemm<T>({nq, nv, hd, Qi, hd, 1, Ktj, nk, w.s, nv, false, TileMask::COLUMNS, diag}, vb);
            tile_gemm<T>({nq, nv, hd, dOi, hd, 1, Vtj, nk, w.dp, nv, false, TileMask::COLUMNS, diag}, vb);
            for (int r = 0; r < nq; ++r)  // dS into dP, with the score's scale folded in; keys after the query are 0
                dscore_tile_row(w.s + static_cast<int64_t>(r) * nv, w.dp + static_cast<int64_t>(r) * nv,
                                std::clamp(q0 + r - k0 + 1, 0, nv), nv, lse[q0 + r], w.D[q0 + r], scale);
            next.advance(rows_done += nq, rows_all);
            // dV_j += P^T dO_i; dQ_i += dS K_j; dK_j += dS^T Q_i
            const bool first = q0 == q_first;
            tile_gemm<T>({nv, hd, nq, w.s, 1, nv, dOi, hd, w.dv, hd, !first, TileMask::P_BEGIN, diag}, vb);
            tile_gemm<T>({nq, hd, nv, w.dp, nv, 1, w.k + static_cast<int64_t>(k0) * hd, hd,
                          w.dq + static_cast<int64_t>(q0) * hd, hd, k0 > 0, TileMask::P_END, diag},
                         vb);
            tile_gemm<T>({nv, hd, nq, w.dp, 1, nv, Qi, hd, w.dk, hd, !first, TileMask::P_BEGIN, diag}, vb);
        }
        unpack_rows(dk + static_cast<int64_t>(k0) * x.ld_qkv, x.ld_qkv, w.dk, nk, hd);
        unpack_rows(dv + static_cast<int64_t>(k0) * x.ld_qkv, x.ld_qkv, w.dv, nk, hd);
    }
    unpack_rows(dq, x.ld_qkv, w.dq, seq, hd);
}

// ---- naive --------------------------------------------------------------------------------------------------

template <typename T>
void naive_forward_head(T* out, T* att, const HeadView<T>& x, int seq, int hd, T scale) {
    // att (seq, seq) = softmax(scale Q K^T, causal); out = att V
    gemm_serial<T>(false, true, seq, seq, hd, scale, x.q, x.ld_qkv, x.k, x.ld_qkv, T(0), att, seq);
    for (int r = 0; r < seq; ++r) {  // the fused path's vectorised row softmax, so that the two differ only in tiling
        T* s = att + static_cast<int64_t>(r) * seq;
        T mx;
        const T sum = softmax_tile_row(s, r + 1, seq, -std::numeric_limits<T>::infinity(), &mx);
        scale_row(s, T(1) / sum, r + 1);
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
        const T pg = dot(p, g, r + 1);
        for (int c = 0; c <= r; ++c) g[c] = p[c] * (g[c] - pg) * scale;
        for (int c = r + 1; c < seq; ++c) g[c] = 0;
    }
    gemm_serial<T>(true, false, seq, hd, seq, T(1), att, seq, dout, x.ld_out, T(0), dv, x.ld_qkv);  // P^T dO
    gemm_serial<T>(false, false, seq, hd, seq, T(1), dS, seq, x.k, x.ld_qkv, T(0), dq, x.ld_qkv);   // dS K
    gemm_serial<T>(true, false, seq, hd, seq, T(1), dS, seq, x.q, x.ld_qkv, T(0), dk, x.ld_qkv);    // dS^T Q
}

size_t per_thread_scratch(AttentionImpl impl, int seq, int hd, AttentionTiles t) {
    return impl == AttentionImpl::FUSED ? fused_scratch_size(seq, hd, t) : static_cast<size_t>(seq) * seq;
}

int vector_bytes(AttentionTiles t) { return t.vector_bytes ? t.vector_bytes : tile_vector_bytes(); }

}  // namespace

size_t attention_stats(AttentionImpl impl, int B, int seq, int H) {
    const size_t n = static_cast<size_t>(B) * H * seq;
    return impl == AttentionImpl::FUSED ? n : n * seq;
}

size_t attention_scratch(AttentionImpl impl, int seq, int hd, int threads, AttentionTiles tiles) {
    return per_thread_scratch(impl, seq, hd, tiles) * static_cast<size_t>(threads);
}

namespace {

// Runs fn(S, task, b, h, x, next) for every (batch, head) of qkv, one per claim, each thread with its own `per`
// elements of scratch S (found by the pool's thread index); next: the head's NextHead with the rows of qkv it will
// read (fn adds the rest).
template <typename T, typename F>
void for_each_head(ThreadPool& pool, const T* qkv, int B, int seq, int H, int hd, T* scratch, size_t per, F&& fn) {
    std::atomic<int64_t> claim{0};
    const int64_t tasks = static_cast<int64_t>(B) * H;
    pool.run([&](int thread, int threads) {
        T* S = scratch + per * thread;
        for (int64_t task; (task = claim.fetch_add(1)) < tasks;) {
            const int b = static_cast<int>(task / H), h = static_cast<int>(task % H);
            NextHead<T> next{.seq = seq, .hd = hd};
            if (const int64_t guess = task + threads; guess < tasks) {
                const HeadView<T> n =
                    head_view(qkv, static_cast<int>(guess / H), static_cast<int>(guess % H), seq, H, hd);
                for (const T* row : {n.q, n.k, n.v}) next.add(row, n.ld_qkv);
                next.b = static_cast<int>(guess / H);
                next.h = static_cast<int>(guess % H);
            }
            fn(S, task, b, h, head_view(qkv, b, h, seq, H, hd), next);
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
    const int vb = vector_bytes(tiles);
    for_each_head(pool, qkv, B, seq, H, hd, scratch, per_thread_scratch(impl, seq, hd, tiles),
                  [&](T* S, int64_t task, int b, int h, const HeadView<T>& x, NextHead<T>& next) {
                      T* o = out + static_cast<int64_t>(b) * seq * d + static_cast<int64_t>(h) * hd;
                      if (impl == AttentionImpl::FUSED) {
                          fused_forward_head(o, stats + task * seq, x, seq, hd, scale, tiles,
                                             fused_scratch(S, seq, hd, tiles), vb, next);
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
    const int vb = vector_bytes(tiles);
    for_each_head(
        pool, qkv, B, seq, H, hd, scratch, per_thread_scratch(impl, seq, hd, tiles),
        [&](T* S, int64_t task, int b, int h, const HeadView<T>& x, NextHead<T>& next) {
            const int64_t head_off = static_cast<int64_t>(b) * seq * d + static_cast<int64_t>(h) * hd;
            T* dq = dqkv + static_cast<int64_t>(b) * seq * 3 * d + static_cast<int64_t>(h) * hd;
            if (impl == AttentionImpl::FUSED) {
                if (next.b >= 0) {
                    const int64_t off = static_cast<int64_t>(next.b) * seq * d + static_cast<int64_t>(next.h) * hd;
                    next.add(dout + off, d);
                    next.add(out + off, d);
                }
                fused_backward_head(dq, dq + d, dq + 2 * d, dout + head_off, out + head_off, stats + task * seq, x, seq,
                                    hd, scale, tiles, fused_scratch(S, seq, hd, tiles), vb, next);
            } else {
                naive_backward_head(dq, dq + d, dq + 2 * d, dout + head_off, stats + task * seq * seq, x, seq, hd,
                                    scale, S);
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
