// attention-rung: the vector rungs of the attention ladder (attention.hpp), written once over a vector-traits
// type V (arch/x86/simd-*.hpp, arch/arm/simd-neon.hpp): F (V::W f32 lanes), load/store/fma/max, horizontal
// sums, exp for x <= 0, f16 widening, and the register blocking (ATT_ROWS, ATT_COLS, NAIVE_COLS). A file of
// a rung includes its traits and this header and names the result (AttentionRung<V>::kernels("isa")).
//
// `attend`, per tile of KEY_TILE keys: the tile's keys and values are widened once into f32 buffers (every
// row of the block reuses them); scores come from an ATT_ROWS-row x 4-key dot-product kernel (accumulators
// along head_dim, summed across lanes at the end); the online-softmax update runs a vector of keys at a time
// with the polynomial exp; the weighted sum of values is an ATT_ROWS-row x ATT_COLS-vector kernel that also
// applies the rescaling of the accumulator. While a tile is widened the same rows of the next tile are
// prefetched: the rows of one kv head are a few cache lines each, a whole cache row apart, which the hardware
// prefetchers do not see as a stream. The naive kernel's row primitives read f16 directly.
//
// Everything is in an anonymous namespace and instantiated with the rung's own traits type, so no copy built
// for one ISA can stand in for another at link time; for the same reason no standard-library template is used.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backend/cpu/attention.hpp"

namespace versus::cpu::simd {

namespace {

inline int att_imin(int a, int b) { return a < b ? a : b; }
inline int att_imax(int a, int b) { return a > b ? a : b; }

template <class V>
struct AttentionRung {
    using F = typename V::F;
    static constexpr int W = V::W, KEY_TILE = 64, R = V::ATT_ROWS;
    static_assert(KEY_TILE % W == 0, "a key tile is whole vectors");

    static void prefetch_row(const f16_t* k, const f16_t* v, int d) {
        for (int x = 0; x < d; x += 32) {
            __builtin_prefetch(k + x);
            __builtin_prefetch(v + x);
        }
        __builtin_prefetch(k + d - 1);
        __builtin_prefetch(v + d - 1);
    }

    // s[r * ls + j] = scale * q_row[r] · kf_j for r < NR, j < n; kf (n, d) f32.
    template <int NR>
    static void scores_tile(const float* const* q_row, const float* kf, int n, int d, float scale, float* s, int ls) {
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            const float* kj = kf + size_t(j) * d;
            F acc[NR][4];
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = V::zero();
            for (int x = 0; x < d; x += W) {
                F q[NR];
#pragma GCC unroll 4
                for (int r = 0; r < NR; ++r) q[r] = V::load(q_row[r] + x);
#pragma GCC unroll 4
                for (int c = 0; c < 4; ++c) {
                    const F k = V::load(kj + size_t(c) * d + x);
#pragma GCC unroll 4
                    for (int r = 0; r < NR; ++r) acc[r][c] = V::fma(q[r], k, acc[r][c]);
                }
            }
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) V::hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3], scale, s + size_t(r) * ls + j);
        }
        for (; j < n; ++j) {
            const float* kj = kf + size_t(j) * d;
            F acc[NR];
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) acc[r] = V::zero();
            for (int x = 0; x < d; x += W) {
                const F k = V::load(kj + x);
#pragma GCC unroll 4
                for (int r = 0; r < NR; ++r) acc[r] = V::fma(V::load(q_row[r] + x), k, acc[r]);
            }
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) s[size_t(r) * ls + j] = scale * V::hsum(acc[r]);
        }
    }

    // acc_r[x0, x0 + W NV) = acc_r * corr[r] + sum_{j < n} p_r[j] * vf_j for r < NR; acc rows d apart, p rows
    // ls apart, vf (n, d) f32.
    template <int NR, int NV>
    static void pv_tile(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d, int x0) {
        F a[NR][NV];
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
            const F c = V::set1(corr[r]);
#pragma GCC unroll 4
            for (int u = 0; u < NV; ++u) a[r][u] = V::mul(V::load(acc + size_t(r) * d + x0 + W * u), c);
        }
        for (int j = 0; j < n; ++j) {
            const float* vj = vf + size_t(j) * d + x0;
            F v[NV];
#pragma GCC unroll 4
            for (int u = 0; u < NV; ++u) v[u] = V::load(vj + W * u);
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) {
                const F pr = V::set1(p[size_t(r) * ls + j]);
#pragma GCC unroll 4
                for (int u = 0; u < NV; ++u) a[r][u] = V::fma(pr, v[u], a[r][u]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
            for (int u = 0; u < NV; ++u) V::store(acc + size_t(r) * d + x0 + W * u, a[r][u]);
        }
    }

    template <int NR>
    static void pv_rows(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d) {
        constexpr int NV = V::ATT_COLS;
        int x0 = 0;
        for (; x0 + W * NV <= d; x0 += W * NV) pv_tile<NR, NV>(acc, corr, p, ls, vf, n, d, x0);
        for (; x0 < d; x0 += W) pv_tile<NR, 1>(acc, corr, p, ls, vf, n, d, x0);
    }

    // acc[0, d) = acc * corr + sum_{j < n} p[j] * v_j, v_j = v + j * v_stride read as f16 (a row that shares its
    // kv head with no other row of the block: widening the tile first would only add a store and a reload).
    static void pv_direct(float* acc, float corr, const float* p, const f16_t* v, size_t v_stride, int n, int d) {
        constexpr int NV = V::NAIVE_COLS;
        int x0 = 0;
        for (; x0 + W * NV <= d; x0 += W * NV) pv_direct_cols<NV>(acc + x0, corr, p, v + x0, v_stride, n);
        for (; x0 < d; x0 += W) pv_direct_cols<1>(acc + x0, corr, p, v + x0, v_stride, n);
    }
    template <int NV>
    static void pv_direct_cols(float* acc, float corr, const float* p, const f16_t* v, size_t v_stride, int n) {
        F a[NV];
        const F c = V::set1(corr);
#pragma GCC unroll 16
        for (int u = 0; u < NV; ++u) a[u] = V::mul(V::load(acc + W * u), c);
        for (int j = 0; j < n; ++j) {
            const F pj = V::set1(p[j]);
            const f16_t* vj = v + size_t(j) * v_stride;
#pragma GCC unroll 16
            for (int u = 0; u < NV; ++u) a[u] = V::fma(pj, V::load_f16(vj + W * u), a[u]);
        }
#pragma GCC unroll 16
        for (int u = 0; u < NV; ++u) V::store(acc + W * u, a[u]);
    }

    // Online softmax of row r's scores s (the first n_vis of nk visible, the rest masked to -inf) into
    // probabilities; updates m, l and corr.
    static void softmax_row(float* s, int n_vis, int nk, float* m, float* l, float* corr) {
        const int nkw = (nk + W - 1) / W * W;
        for (int j = n_vis; j < nkw; ++j) s[j] = -INFINITY;
        F vmax = V::set1(-INFINITY);
        for (int j = 0; j < nkw; j += W) vmax = V::max(vmax, V::load(s + j));
        const float m_old = *m, m_new = fmaxf(m_old, V::hmax(vmax));
        const F vm = V::set1(m_new);
        F vsum = V::zero();
        for (int j = 0; j < nkw; j += W) {
            const F e = V::exp(V::sub(V::load(s + j), vm));
            V::store(s + j, e);
            vsum = V::add(vsum, e);
        }
        *corr = expf(m_old - m_new);  // 0 on the first tile (m = -inf)
        *l = *l * *corr + V::hsum(vsum);
        *m = m_new;
    }

    static void attend(const AttentionBlock& b) {
        const int d = b.head_dim, rpg = b.n_pos * b.n_rep, rows = b.n_kvh * rpg;
        if (rows <= 0 || b.k_begin >= b.k_end) return;
        const AttentionTiles t = attention_tiles(rows, d, KEY_TILE);
        for (int r = 0; r < rows; ++r) {
            const int g = r / rpg, i = r % rpg / b.n_rep, j = r % b.n_rep;
            t.q_row[r] = b.q + size_t(i) * b.q_stride + size_t(g * b.n_rep + j) * d;
        }
        for (int t0 = b.k_begin; t0 < b.k_end; t0 += KEY_TILE) {
            const int nk = att_imin(KEY_TILE, b.k_end - t0);
            const int i_lo = att_imax(0, t0 - b.pos0);  // positions before it see no key of this tile (nor later)
            if (i_lo >= b.n_pos) break;
            const int next_end = att_imin(b.k_end - t0 - KEY_TILE, KEY_TILE);  // rows of the next tile
            if (rpg == 1) {  // decode without GQA: one row per kv head, keys and values read as f16 once
                for (int g = 0; g < b.n_kvh; ++g) {
                    const f16_t* k0 = b.k + size_t(t0) * b.k_stride + size_t(g) * d;
                    const f16_t* v0 = b.v + size_t(t0) * b.v_stride + size_t(g) * d;
                    for (int j = 0; j < next_end; ++j) {
                        prefetch_row(k0 + size_t(KEY_TILE + j) * b.k_stride, v0 + size_t(KEY_TILE + j) * b.v_stride, d);
                    }
                    float* s = t.s + size_t(g) * KEY_TILE;
                    const int n_vis = att_imin(nk, b.pos0 - t0 + 1);
                    scores(t.q_row[g], k0, b.k_stride, n_vis, d, b.scale, s);
                    softmax_row(s, n_vis, nk, &b.m[g], &b.l[g], &t.corr[g]);
                    pv_direct(b.acc + size_t(g) * d, t.corr[g], s, v0, b.v_stride, n_vis, d);
                }
                continue;
            }
            for (int g = 0; g < b.n_kvh; ++g) {
                for (int j = 0; j < nk; ++j) {
                    const f16_t* kj = b.k + size_t(t0 + j) * b.k_stride + size_t(g) * d;
                    const f16_t* vj = b.v + size_t(t0 + j) * b.v_stride + size_t(g) * d;
                    if (j < next_end) {
                        prefetch_row(kj + size_t(KEY_TILE) * b.k_stride, vj + size_t(KEY_TILE) * b.v_stride, d);
                    }
                    float* kd = t.k + size_t(j) * d;
                    float* vd = t.v + size_t(j) * d;
                    for (int x = 0; x < d; x += W) {
                        V::store(kd + x, V::load_f16(kj + x));
                        V::store(vd + x, V::load_f16(vj + x));
                    }
                }
                const int r_lo = g * rpg + i_lo * b.n_rep, r_end = (g + 1) * rpg;
                int r = r_lo;
                for (; r + R <= r_end; r += R) {
                    scores_tile<R>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);
                }
                for (; r < r_end; ++r) scores_tile<1>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);

                // Keys a row does not see become -inf, so their probability is 0.
                for (r = r_lo; r < r_end; ++r) {
                    t.n_vis[r] = att_imin(nk, b.pos0 + r % rpg / b.n_rep - t0 + 1);
                    softmax_row(t.s + size_t(r) * KEY_TILE, t.n_vis[r], nk, &b.m[r], &b.l[r], &t.corr[r]);
                }

                for (r = r_lo; r + R <= r_end; r += R) {
                    int n = t.n_vis[r];
                    for (int u = 1; u < R; ++u) n = att_imax(n, t.n_vis[r + u]);
                    pv_rows<R>(b.acc + size_t(r) * d, t.corr + r, t.s + size_t(r) * KEY_TILE, KEY_TILE, t.v, n, d);
                }
                for (; r < r_end; ++r) {
                    pv_rows<1>(b.acc + size_t(r) * d, t.corr + r, t.s + size_t(r) * KEY_TILE, KEY_TILE, t.v, t.n_vis[r], d);
                }
            }
        }
    }

    // ---- the naive kernel's row primitives ----

    static void scores(const float* q, const f16_t* k, size_t k_stride, int n, int d, float scale, float* s) {
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            const f16_t* kj = k + size_t(j) * k_stride;
            F acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
            for (int x = 0; x < d; x += W) {
                const F qv = V::load(q + x);
#pragma GCC unroll 4
                for (int c = 0; c < 4; ++c) acc[c] = V::fma(qv, V::load_f16(kj + size_t(c) * k_stride + x), acc[c]);
            }
            V::hsum4(acc[0], acc[1], acc[2], acc[3], scale, s + j);
        }
        for (; j < n; ++j) {
            const f16_t* kj = k + size_t(j) * k_stride;
            F acc = V::zero();
            for (int x = 0; x < d; x += W) acc = V::fma(V::load(q + x), V::load_f16(kj + x), acc);
            s[j] = scale * V::hsum(acc);
        }
    }

    static float exp_sum(float* s, int n, float m) {
        const F vm = V::set1(m);
        F vsum = V::zero();
        int j = 0;
        for (; j + W <= n; j += W) {
            const F e = V::exp(V::sub(V::load(s + j), vm));
            V::store(s + j, e);
            vsum = V::add(vsum, e);
        }
        if (j < n) {  // the tail through a padded copy, with the same polynomial
            float tmp[W];
            for (int i = 0; i < W; ++i) tmp[i] = j + i < n ? s[j + i] : -INFINITY;
            const F e = V::exp(V::sub(V::load(tmp), vm));
            V::store(tmp, e);
            vsum = V::add(vsum, e);
            for (int i = 0; j + i < n; ++i) s[j + i] = tmp[i];
        }
        return V::hsum(vsum);
    }

    template <int NV>
    static void weighted_sum_cols(const float* p, const f16_t* v, size_t v_stride, int n, float* out) {
        F a[NV];
#pragma GCC unroll 16
        for (int u = 0; u < NV; ++u) a[u] = V::zero();
        for (int j = 0; j < n; ++j) {
            const F pj = V::set1(p[j]);
            const f16_t* vj = v + size_t(j) * v_stride;
#pragma GCC unroll 16
            for (int u = 0; u < NV; ++u) a[u] = V::fma(pj, V::load_f16(vj + W * u), a[u]);
        }
#pragma GCC unroll 16
        for (int u = 0; u < NV; ++u) V::store(out + W * u, a[u]);
    }

    static void weighted_sum(const float* p, const f16_t* v, size_t v_stride, int n, int d, float* out) {
        constexpr int NV = V::NAIVE_COLS;
        int x0 = 0;
        for (; x0 + W * NV <= d; x0 += W * NV) weighted_sum_cols<NV>(p, v + x0, v_stride, n, out + x0);
        for (; x0 < d; x0 += W) weighted_sum_cols<1>(p, v + x0, v_stride, n, out + x0);
    }

    static constexpr AttentionKernels kernels(std::string_view isa) {
        return {
            /* .isa          = */ isa,
            /* .width        = */ W,
            /* .key_tile     = */ KEY_TILE,
            /* .attend       = */ attend,
            /* .scores       = */ scores,
            /* .exp_sum      = */ exp_sum,
            /* .weighted_sum = */ weighted_sum,
        };
    }
};

}  // namespace

}  // namespace versus::cpu::simd
