// Contract: the AVX-512 rung of the attention ladder (AVX512F + FMA + F16C), for head_dim a multiple of 16.
// Built with -mavx512f -mfma -mf16c and listed by attention.cpp only when cpu_features() has them.
//
// The AVX2 rung's structure (see there) on 16-lane vectors and 32 registers: 4-row x 4-key score kernel
// (16 accumulators), 4-row x 64-column weighted sum, and exp through vscalefps, which also takes the
// result to 0 smoothly for very negative arguments.
//
// Test build: with VERSUS_KERNELS_AVX512_SIMDE the file is compiled a second time, without -mavx512*,
// against SIMDe's portable AVX-512, as namespace avx512_simde with the rung named "avx512-simde", so CPUs
// without AVX-512 still run this code's logic in the tests (as kernels-avx512.cpp does). Only intrinsics
// SIMDe 0.7.4 provides are used; f16 widening goes through two 8-lane conversions there.
#if defined(VERSUS_KERNELS_AVX512_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#define VERSUS_AVX512_NS avx512_simde
#define VERSUS_AVX512_NAME(name) name "-simde"
#define VERSUS_ROUND_NEAREST (SIMDE_MM_FROUND_TO_NEAREST_INT | SIMDE_MM_FROUND_NO_EXC)
#else
#include <immintrin.h>
// GCC 12's AVX-512 headers initialise their "undefined" vectors from themselves (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define VERSUS_AVX512_NS avx512
#define VERSUS_AVX512_NAME(name) name
#define VERSUS_ROUND_NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#endif

#include <math.h>

#include <cstddef>
#include <cstdint>

#include "backend/cpu/attention.hpp"

namespace versus::cpu {

namespace VERSUS_AVX512_NS {

namespace {

constexpr int KEY_TILE = 64;  // a multiple of 16
constexpr int R = 4;          // rows per register block

inline int imin(int a, int b) { return a < b ? a : b; }
inline int imax(int a, int b) { return a > b ? a : b; }

// As in the AVX2 rung: fetch the next tile's rows while this one is widened.
inline void prefetch_row(const f16_t* k, const f16_t* v, int d) {
    for (int x = 0; x < d; x += 32) {
        _mm_prefetch(reinterpret_cast<const char*>(k + x), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(v + x), _MM_HINT_T0);
    }
    _mm_prefetch(reinterpret_cast<const char*>(k + d - 1), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(v + d - 1), _MM_HINT_T0);
}

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
inline __m512 widen16(const f16_t* p) {
    const __m256 lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    const __m256 hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8)));
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
#else
inline __m512 widen16(const f16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#endif

// e^x for x <= 0, relative error about 2 ulp; underflows to 0 (through subnormals) below about -87.
// x = n ln2 + r, e^r by Cephes' degree-6 polynomial, times 2^n by vscalefps.
inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.0f));  // -inf -> -104 -> 0
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), VERSUS_ROUND_NEAREST);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

inline __m256 fold(__m512 v) {  // lanes i + (i + 8), as 8 lanes
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

inline float hsum16(__m512 v) {
    const __m256 h = fold(v);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hmax16(__m512 v) {
    const __m256 h =
        _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// (sum a, sum b, sum c, sum d)
inline __m128 hsum4x16(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// s[r * ls + j] = scale * q_row[r] · kf_j for r < NR, j < n; kf (n, d) f32.
template <int NR>
void scores_tile(const float* const* q_row, const float* kf, int n, int d, float scale, float* s, int ls) {
    const __m128 vscale = _mm_set1_ps(scale);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float* kj = kf + size_t(j) * d;
        __m512 acc[NR][4];
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_ps();
        for (int x = 0; x < d; x += 16) {
            __m512 q[NR];
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) q[r] = _mm512_loadu_ps(q_row[r] + x);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) {
                const __m512 k = _mm512_loadu_ps(kj + size_t(c) * d + x);
#pragma GCC unroll 4
                for (int r = 0; r < NR; ++r) acc[r][c] = _mm512_fmadd_ps(q[r], k, acc[r][c]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
            _mm_storeu_ps(s + size_t(r) * ls + j,
                          _mm_mul_ps(hsum4x16(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), vscale));
        }
    }
    for (; j < n; ++j) {
        const float* kj = kf + size_t(j) * d;
        __m512 acc[NR];
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) acc[r] = _mm512_setzero_ps();
        for (int x = 0; x < d; x += 16) {
            const __m512 k = _mm512_loadu_ps(kj + x);
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(q_row[r] + x), k, acc[r]);
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) s[size_t(r) * ls + j] = scale * hsum16(acc[r]);
    }
}

// acc_r[x0, x0 + 16 NV) = acc_r * corr[r] + sum_{j < n} p_r[j] * vf_j for r < NR; acc rows d apart, p rows
// ls apart, vf (n, d) f32.
template <int NR, int NV>
void pv_tile(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d, int x0) {
    __m512 a[NR][NV];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
        const __m512 c = _mm512_set1_ps(corr[r]);
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) a[r][u] = _mm512_mul_ps(_mm512_loadu_ps(acc + size_t(r) * d + x0 + 16 * u), c);
    }
    for (int j = 0; j < n; ++j) {
        const float* vj = vf + size_t(j) * d + x0;
        __m512 v[NV];
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) v[u] = _mm512_loadu_ps(vj + 16 * u);
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
            const __m512 pr = _mm512_set1_ps(p[size_t(r) * ls + j]);
#pragma GCC unroll 4
            for (int u = 0; u < NV; ++u) a[r][u] = _mm512_fmadd_ps(pr, v[u], a[r][u]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) _mm512_storeu_ps(acc + size_t(r) * d + x0 + 16 * u, a[r][u]);
    }
}

template <int NR>
void pv_rows(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d) {
    int x0 = 0;
    for (; x0 + 64 <= d; x0 += 64) pv_tile<NR, 4>(acc, corr, p, ls, vf, n, d, x0);
    for (; x0 < d; x0 += 16) pv_tile<NR, 1>(acc, corr, p, ls, vf, n, d, x0);
}

void attend(const AttentionBlock& b) {
    const int d = b.head_dim, rpg = b.n_pos * b.n_rep, rows = b.n_kvh * rpg;
    if (rows <= 0 || b.k_begin >= b.k_end) return;
    const AttentionTiles t = attention_tiles(rows, d, KEY_TILE);
    for (int r = 0; r < rows; ++r) {
        const int g = r / rpg, i = r % rpg / b.n_rep, j = r % b.n_rep;
        t.q_row[r] = b.q + size_t(i) * b.q_stride + size_t(g * b.n_rep + j) * d;
    }
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
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
                for (int x = 0; x < d; x += 16) {
                    _mm512_storeu_ps(kd + x, widen16(kj + x));
                    _mm512_storeu_ps(vd + x, widen16(vj + x));
                }
            }
            const int r_lo = g * rpg + i_lo * b.n_rep, r_end = (g + 1) * rpg;

            int r = r_lo;
            for (; r + R <= r_end; r += R) {
                scores_tile<R>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);
            }
            for (; r < r_end; ++r) scores_tile<1>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);

            // Online softmax; keys a row does not see become -inf, so their probability is 0.
            const int nk16 = (nk + 15) & ~15;
            for (r = r_lo; r < r_end; ++r) {
                const int n_vis = imin(nk, b.pos0 + r % rpg / b.n_rep - t0 + 1);
                float* s = t.s + size_t(r) * KEY_TILE;
                for (int j = n_vis; j < nk16; ++j) s[j] = -INFINITY;
                __m512 vmax = neg_inf;
                for (int j = 0; j < nk16; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(s + j));
                const float m_old = b.m[r], m_new = fmaxf(m_old, hmax16(vmax));
                const __m512 vm = _mm512_set1_ps(m_new);
                __m512 vsum = _mm512_setzero_ps();
                for (int j = 0; j < nk16; j += 16) {
                    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), vm));
                    _mm512_storeu_ps(s + j, e);
                    vsum = _mm512_add_ps(vsum, e);
                }
                t.corr[r] = expf(m_old - m_new);  // 0 on the first tile (m = -inf)
                b.l[r] = b.l[r] * t.corr[r] + hsum16(vsum);
                b.m[r] = m_new;
                t.n_vis[r] = n_vis;
            }

            for (r = r_lo; r + R <= r_end; r += R) {
                const int n = imax(imax(t.n_vis[r], t.n_vis[r + 1]), imax(t.n_vis[r + 2], t.n_vis[r + 3]));
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
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int x = 0; x < d; x += 16) {
            const __m512 qv = _mm512_loadu_ps(q + x);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) acc[c] = _mm512_fmadd_ps(qv, widen16(kj + size_t(c) * k_stride + x), acc[c]);
        }
        _mm_storeu_ps(s + j, _mm_mul_ps(hsum4x16(acc[0], acc[1], acc[2], acc[3]), vscale));
    }
    for (; j < n; ++j) {
        const f16_t* kj = k + size_t(j) * k_stride;
        __m512 acc = _mm512_setzero_ps();
        for (int x = 0; x < d; x += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + x), widen16(kj + x), acc);
        s[j] = scale * hsum16(acc);
    }
}

float exp_sum(float* s, int n, float m) {
    const __m512 vm = _mm512_set1_ps(m);
    __m512 vsum = _mm512_setzero_ps();
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), vm));
        _mm512_storeu_ps(s + j, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    if (j < n) {  // the tail through a padded copy, with the same polynomial
        float tmp[16];
        for (int i = 0; i < 16; ++i) tmp[i] = j + i < n ? s[j + i] : -INFINITY;
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(tmp), vm));
        _mm512_storeu_ps(tmp, e);
        vsum = _mm512_add_ps(vsum, e);
        for (int i = 0; j + i < n; ++i) s[j + i] = tmp[i];
    }
    return hsum16(vsum);
}

template <int NV>
void weighted_sum_cols(const float* p, const f16_t* v, size_t v_stride, int n, float* out) {
    __m512 a[NV];
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) a[u] = _mm512_setzero_ps();
    for (int j = 0; j < n; ++j) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const f16_t* vj = v + size_t(j) * v_stride;
#pragma GCC unroll 8
        for (int u = 0; u < NV; ++u) a[u] = _mm512_fmadd_ps(pj, widen16(vj + 16 * u), a[u]);
    }
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) _mm512_storeu_ps(out + 16 * u, a[u]);
}

void weighted_sum(const float* p, const f16_t* v, size_t v_stride, int n, int d, float* out) {
    int x0 = 0;
    for (; x0 + 128 <= d; x0 += 128) weighted_sum_cols<8>(p, v + x0, v_stride, n, out + x0);
    for (; x0 < d; x0 += 16) weighted_sum_cols<1>(p, v + x0, v_stride, n, out + x0);
}

constexpr AttentionKernels AVX512 = {
    /* .isa          = */ VERSUS_AVX512_NAME("avx512"),
    /* .width        = */ 16,
    /* .key_tile     = */ KEY_TILE,
    /* .attend       = */ attend,
    /* .scores       = */ scores,
    /* .exp_sum      = */ exp_sum,
    /* .weighted_sum = */ weighted_sum,
};

}  // namespace

const AttentionKernels& attention_rung() { return AVX512; }

}  // namespace VERSUS_AVX512_NS

}  // namespace versus::cpu
