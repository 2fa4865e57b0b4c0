// Contract: the AVX2 rung of the attention ladder (AVX2 + FMA + F16C; Haswell, Zen 1 and later), for
// head_dim a multiple of 8. Built with -mavx2 -mfma -mf16c and listed by attention.cpp only when
// cpu_features() has all three.
//
// `attend`, per tile of 64 keys: vcvtph2ps widens the tile's keys and values once into f32 buffers (every
// row of the block reuses them); scores come from a 2-row x 4-key dot-product kernel (8 accumulators along
// head_dim, summed across lanes at the end); the online-softmax update runs 8 keys at a time with a
// polynomial exp; the weighted sum of values is a 2-row x 32-column kernel that also applies the
// rescaling of the accumulator. The naive kernel's row primitives read f16 directly.
//
// No standard-library templates are used here (see kernels-avx2.cpp): only this file's own, in an
// anonymous namespace.
#include <immintrin.h>
#include <math.h>

#include <cstddef>
#include <cstdint>

#include "backend/cpu/attention.hpp"

namespace versus::cpu {

namespace avx2 {

namespace {

constexpr int KEY_TILE = 64;  // a multiple of 8
constexpr int R = 2;          // rows per register block

inline int imin(int a, int b) { return a < b ? a : b; }
inline int imax(int a, int b) { return a > b ? a : b; }

// The rows of one kv head are a few cache lines each, a whole cache row apart: the hardware prefetchers
// see no stream, and decode (few rows per tile) waits on memory. So while a tile is widened, the same rows
// of the next tile are fetched, to arrive while this one is computed.
inline void prefetch_row(const f16_t* k, const f16_t* v, int d) {
    for (int x = 0; x < d; x += 32) {
        _mm_prefetch(reinterpret_cast<const char*>(k + x), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(v + x), _MM_HINT_T0);
    }
    _mm_prefetch(reinterpret_cast<const char*>(k + d - 1), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(v + d - 1), _MM_HINT_T0);
}

inline __m256 widen8(const f16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// e^x for x <= 0 (a score minus a running max), relative error about 2 ulp; exactly 0 below -87 and for -inf.
// Cephes' expf: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n built in the exponent.
inline __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f);
    const __m256 keep = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// (sum a, sum b, sum c, sum d)
inline __m128 hsum4x8(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// s[r * ls + j] = scale * q_row[r] · kf_j for r < NR, j < n; kf (n, d) f32.
template <int NR>
void scores_tile(const float* const* q_row, const float* kf, int n, int d, float scale, float* s, int ls) {
    const __m128 vscale = _mm_set1_ps(scale);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float* kj = kf + size_t(j) * d;
        __m256 acc[NR][4];
#pragma GCC unroll 2
        for (int r = 0; r < NR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_setzero_ps();
        for (int x = 0; x < d; x += 8) {
            __m256 q[NR];
#pragma GCC unroll 2
            for (int r = 0; r < NR; ++r) q[r] = _mm256_loadu_ps(q_row[r] + x);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) {
                const __m256 k = _mm256_loadu_ps(kj + size_t(c) * d + x);
#pragma GCC unroll 2
                for (int r = 0; r < NR; ++r) acc[r][c] = _mm256_fmadd_ps(q[r], k, acc[r][c]);
            }
        }
#pragma GCC unroll 2
        for (int r = 0; r < NR; ++r) {
            _mm_storeu_ps(s + size_t(r) * ls + j,
                          _mm_mul_ps(hsum4x8(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), vscale));
        }
    }
    for (; j < n; ++j) {
        const float* kj = kf + size_t(j) * d;
        __m256 acc[NR];
#pragma GCC unroll 2
        for (int r = 0; r < NR; ++r) acc[r] = _mm256_setzero_ps();
        for (int x = 0; x < d; x += 8) {
            const __m256 k = _mm256_loadu_ps(kj + x);
#pragma GCC unroll 2
            for (int r = 0; r < NR; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(q_row[r] + x), k, acc[r]);
        }
#pragma GCC unroll 2
        for (int r = 0; r < NR; ++r) s[size_t(r) * ls + j] = scale * hsum8(acc[r]);
    }
}

// acc_r[x0, x0 + 8 NV) = acc_r * corr[r] + sum_{j < n} p_r[j] * vf_j for r < NR; acc rows d apart, p rows
// ls apart, vf (n, d) f32.
template <int NR, int NV>
void pv_tile(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d, int x0) {
    __m256 a[NR][NV];
#pragma GCC unroll 2
    for (int r = 0; r < NR; ++r) {
        const __m256 c = _mm256_set1_ps(corr[r]);
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) a[r][u] = _mm256_mul_ps(_mm256_loadu_ps(acc + size_t(r) * d + x0 + 8 * u), c);
    }
    for (int j = 0; j < n; ++j) {
        const float* vj = vf + size_t(j) * d + x0;
        __m256 v[NV];
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) v[u] = _mm256_loadu_ps(vj + 8 * u);
#pragma GCC unroll 2
        for (int r = 0; r < NR; ++r) {
            const __m256 pr = _mm256_broadcast_ss(p + size_t(r) * ls + j);
#pragma GCC unroll 4
            for (int u = 0; u < NV; ++u) a[r][u] = _mm256_fmadd_ps(pr, v[u], a[r][u]);
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) _mm256_storeu_ps(acc + size_t(r) * d + x0 + 8 * u, a[r][u]);
    }
}

template <int NR>
void pv_rows(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d) {
    int x0 = 0;
    for (; x0 + 32 <= d; x0 += 32) pv_tile<NR, 4>(acc, corr, p, ls, vf, n, d, x0);
    for (; x0 < d; x0 += 8) pv_tile<NR, 1>(acc, corr, p, ls, vf, n, d, x0);
}

void attend(const AttentionBlock& b) {
    const int d = b.head_dim, rpg = b.n_pos * b.n_rep, rows = b.n_kvh * rpg;
    if (rows <= 0 || b.k_begin >= b.k_end) return;
    const AttentionTiles t = attention_tiles(rows, d, KEY_TILE);
    for (int r = 0; r < rows; ++r) {
        const int g = r / rpg, i = r % rpg / b.n_rep, j = r % b.n_rep;
        t.q_row[r] = b.q + size_t(i) * b.q_stride + size_t(g * b.n_rep + j) * d;
    }
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    for (int t0 = b.k_begin; t0 < b.k_end; t0 += KEY_TILE) {
        const int nk = imin(KEY_TILE, b.k_end - t0);
        const int i_lo = imax(0, t0 - b.pos0);  // positions before it see no key of this tile (nor of later ones)
        if (i_lo >= b.n_pos) break;
        const int next_end = imin(b.k_end - t0 - KEY_TILE, KEY_TILE);  // rows of the next tile
        for (int g = 0; g < b.n_kvh; ++g) {
            for (int j = 0; j < nk; ++j) {
                const f16_t* kj = b.k + size_t(t0 + j) * b.k_stride + size_t(g) * d;
                const f16_t* vj = b.v + size_t(t0 + j) * b.v_stride + size_t(g) * d;
                if (j < next_end) prefetch_row(kj + size_t(KEY_TILE) * b.k_stride, vj + size_t(KEY_TILE) * b.v_stride, d);
                float* kd = t.k + size_t(j) * d;
                float* vd = t.v + size_t(j) * d;
                for (int x = 0; x < d; x += 8) {
                    _mm256_storeu_ps(kd + x, widen8(kj + x));
                    _mm256_storeu_ps(vd + x, widen8(vj + x));
                }
            }
            const int r_lo = g * rpg + i_lo * b.n_rep, r_end = (g + 1) * rpg;

            int r = r_lo;
            for (; r + R <= r_end; r += R) {
                scores_tile<R>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);
            }
            for (; r < r_end; ++r) scores_tile<1>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);

            // Online softmax; keys a row does not see become -inf, so their probability is 0.
            const int nk8 = (nk + 7) & ~7;
            for (r = r_lo; r < r_end; ++r) {
                const int n_vis = imin(nk, b.pos0 + r % rpg / b.n_rep - t0 + 1);
                float* s = t.s + size_t(r) * KEY_TILE;
                for (int j = n_vis; j < nk8; ++j) s[j] = -INFINITY;
                __m256 vmax = neg_inf;
                for (int j = 0; j < nk8; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(s + j));
                const float m_old = b.m[r], m_new = fmaxf(m_old, hmax8(vmax));
                const __m256 vm = _mm256_set1_ps(m_new);
                __m256 vsum = _mm256_setzero_ps();
                for (int j = 0; j < nk8; j += 8) {
                    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
                    _mm256_storeu_ps(s + j, e);
                    vsum = _mm256_add_ps(vsum, e);
                }
                t.corr[r] = expf(m_old - m_new);  // 0 on the first tile (m = -inf)
                b.l[r] = b.l[r] * t.corr[r] + hsum8(vsum);
                b.m[r] = m_new;
                t.n_vis[r] = n_vis;
            }

            for (r = r_lo; r + R <= r_end; r += R) {
                const int n = imax(t.n_vis[r], t.n_vis[r + 1]);
                pv_rows<R>(b.acc + size_t(r) * d, t.corr + r, t.s + size_t(r) * KEY_TILE, KEY_TILE, t.v, n, d);
            }
            for (; r < r_end; ++r) {
                pv_rows<1>(b.acc + size_t(r) * d, t.corr + r, t.s + size_t(r) * KEY_TILE, KEY_TILE, t.v, t.n_vis[r], d);
            }
        }
    }
}

// ---- the naive kernel's row primitives ---------------------------------------------------------------------

void scores(const float* q, const f16_t* k, size_t k_stride, int n, int d, float scale, float* s) {
    const __m128 vscale = _mm_set1_ps(scale);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const f16_t* kj = k + size_t(j) * k_stride;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int x = 0; x < d; x += 8) {
            const __m256 qv = _mm256_loadu_ps(q + x);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) acc[c] = _mm256_fmadd_ps(qv, widen8(kj + size_t(c) * k_stride + x), acc[c]);
        }
        _mm_storeu_ps(s + j, _mm_mul_ps(hsum4x8(acc[0], acc[1], acc[2], acc[3]), vscale));
    }
    for (; j < n; ++j) {
        const f16_t* kj = k + size_t(j) * k_stride;
        __m256 acc = _mm256_setzero_ps();
        for (int x = 0; x < d; x += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + x), widen8(kj + x), acc);
        s[j] = scale * hsum8(acc);
    }
}

float exp_sum(float* s, int n, float m) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256 vsum = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
        _mm256_storeu_ps(s + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (j < n) {  // the tail through a padded copy, with the same polynomial
        float tmp[8];
        for (int i = 0; i < 8; ++i) tmp[i] = j + i < n ? s[j + i] : -INFINITY;
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(tmp), vm));
        _mm256_storeu_ps(tmp, e);
        vsum = _mm256_add_ps(vsum, e);
        for (int i = 0; j + i < n; ++i) s[j + i] = tmp[i];
    }
    return hsum8(vsum);
}

template <int NV>
void weighted_sum_cols(const float* p, const f16_t* v, size_t v_stride, int n, float* out) {
    __m256 a[NV];
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) a[u] = _mm256_setzero_ps();
    for (int j = 0; j < n; ++j) {
        const __m256 pj = _mm256_broadcast_ss(p + j);
        const f16_t* vj = v + size_t(j) * v_stride;
#pragma GCC unroll 8
        for (int u = 0; u < NV; ++u) a[u] = _mm256_fmadd_ps(pj, widen8(vj + 8 * u), a[u]);
    }
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) _mm256_storeu_ps(out + 8 * u, a[u]);
}

void weighted_sum(const float* p, const f16_t* v, size_t v_stride, int n, int d, float* out) {
    int x0 = 0;
    for (; x0 + 64 <= d; x0 += 64) weighted_sum_cols<8>(p, v + x0, v_stride, n, out + x0);
    for (; x0 < d; x0 += 8) weighted_sum_cols<1>(p, v + x0, v_stride, n, out + x0);
}

constexpr AttentionKernels AVX2 = {
    /* .isa          = */ "avx2",
    /* .width        = */ 8,
    /* .key_tile     = */ KEY_TILE,
    /* .attend       = */ attend,
    /* .scores       = */ scores,
    /* .exp_sum      = */ exp_sum,
    /* .weighted_sum = */ weighted_sum,
};

}  // namespace

const AttentionKernels& attention_rung() { return AVX2; }

}  // namespace avx2

}  // namespace versus::cpu
