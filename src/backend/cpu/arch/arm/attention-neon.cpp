// Contract: the NEON rung of the attention ladder, for head_dim a multiple of 8. Base ARMv8-A only: f16 is
// widened by FCVTL (vcvt_f32_f16), which every AArch64 CPU has, and all arithmetic is f32, so the rung is
// listed unconditionally on aarch64.
//
// The AVX2 rung's structure (see arch/x86/attention-avx2.cpp) on 4-lane vectors and 32 registers: a 4-row x
// 4-key score kernel (16 accumulators, FADDP reductions), a 4-row x 16-column weighted sum, and Cephes' exp
// with 2^n built in the exponent field.
#include <arm_neon.h>
#include <math.h>

#include <cstddef>
#include <cstdint>

#include "backend/cpu/attention.hpp"

namespace versus::cpu {

namespace neon {

namespace {

constexpr int KEY_TILE = 64;  // a multiple of 4
constexpr int R = 4;          // rows per register block

inline int imin(int a, int b) { return a < b ? a : b; }
inline int imax(int a, int b) { return a > b ? a : b; }

// As in the AVX2 rung: fetch the next tile's rows while this one is widened.
inline void prefetch_row(const f16_t* k, const f16_t* v, int d) {
    for (int x = 0; x < d; x += 32) {
        __builtin_prefetch(k + x);
        __builtin_prefetch(v + x);
    }
    __builtin_prefetch(k + d - 1);
    __builtin_prefetch(v + d - 1);
}

inline float32x4_t widen4(const f16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }

// e^x for x <= 0, relative error about 2 ulp; exactly 0 below -87 and for -inf (see the AVX2 rung).
inline float32x4_t exp4(float32x4_t x) {
    const float32x4_t lo = vdupq_n_f32(-87.0f);
    const uint32x4_t keep = vcgeq_f32(x, lo);
    x = vminq_f32(vmaxq_f32(x, lo), vdupq_n_f32(88.0f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(y), keep));
}

// (sum a, sum b, sum c, sum d)
inline float32x4_t hsum4x4(float32x4_t a, float32x4_t b, float32x4_t c, float32x4_t d) {
    return vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d));
}

// s[r * ls + j] = scale * q_row[r] · kf_j for r < NR, j < n; kf (n, d) f32.
template <int NR>
void scores_tile(const float* const* q_row, const float* kf, int n, int d, float scale, float* s, int ls) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float* kj = kf + size_t(j) * d;
        float32x4_t acc[NR][4];
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = vdupq_n_f32(0.0f);
        for (int x = 0; x < d; x += 4) {
            float32x4_t q[NR];
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) q[r] = vld1q_f32(q_row[r] + x);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) {
                const float32x4_t k = vld1q_f32(kj + size_t(c) * d + x);
#pragma GCC unroll 4
                for (int r = 0; r < NR; ++r) acc[r][c] = vfmaq_f32(acc[r][c], q[r], k);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
            vst1q_f32(s + size_t(r) * ls + j, vmulq_n_f32(hsum4x4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), scale));
        }
    }
    for (; j < n; ++j) {
        const float* kj = kf + size_t(j) * d;
        float32x4_t acc[NR];
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) acc[r] = vdupq_n_f32(0.0f);
        for (int x = 0; x < d; x += 4) {
            const float32x4_t k = vld1q_f32(kj + x);
#pragma GCC unroll 4
            for (int r = 0; r < NR; ++r) acc[r] = vfmaq_f32(acc[r], vld1q_f32(q_row[r] + x), k);
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) s[size_t(r) * ls + j] = scale * vaddvq_f32(acc[r]);
    }
}

// acc_r[x0, x0 + 4 NV) = acc_r * corr[r] + sum_{j < n} p_r[j] * vf_j for r < NR; acc rows d apart, p rows
// ls apart, vf (n, d) f32.
template <int NR, int NV>
void pv_tile(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d, int x0) {
    float32x4_t a[NR][NV];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) a[r][u] = vmulq_n_f32(vld1q_f32(acc + size_t(r) * d + x0 + 4 * u), corr[r]);
    }
    for (int j = 0; j < n; ++j) {
        const float* vj = vf + size_t(j) * d + x0;
        float32x4_t v[NV];
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) v[u] = vld1q_f32(vj + 4 * u);
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
            const float pr = p[size_t(r) * ls + j];
#pragma GCC unroll 4
            for (int u = 0; u < NV; ++u) a[r][u] = vfmaq_n_f32(a[r][u], v[u], pr);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 4
        for (int u = 0; u < NV; ++u) vst1q_f32(acc + size_t(r) * d + x0 + 4 * u, a[r][u]);
    }
}

template <int NR>
void pv_rows(float* acc, const float* corr, const float* p, int ls, const float* vf, int n, int d) {
    int x0 = 0;
    for (; x0 + 16 <= d; x0 += 16) pv_tile<NR, 4>(acc, corr, p, ls, vf, n, d, x0);
    for (; x0 < d; x0 += 4) pv_tile<NR, 1>(acc, corr, p, ls, vf, n, d, x0);
}

void attend(const AttentionBlock& b) {
    const int d = b.head_dim, rpg = b.n_pos * b.n_rep, rows = b.n_kvh * rpg;
    if (rows <= 0 || b.k_begin >= b.k_end) return;
    const AttentionTiles t = attention_tiles(rows, d, KEY_TILE);
    for (int r = 0; r < rows; ++r) {
        const int g = r / rpg, i = r % rpg / b.n_rep, j = r % b.n_rep;
        t.q_row[r] = b.q + size_t(i) * b.q_stride + size_t(g * b.n_rep + j) * d;
    }
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
                    const float16x8_t kh = vreinterpretq_f16_u16(vld1q_u16(kj + x));
                    const float16x8_t vh = vreinterpretq_f16_u16(vld1q_u16(vj + x));
                    vst1q_f32(kd + x, vcvt_f32_f16(vget_low_f16(kh)));
                    vst1q_f32(kd + x + 4, vcvt_high_f32_f16(kh));
                    vst1q_f32(vd + x, vcvt_f32_f16(vget_low_f16(vh)));
                    vst1q_f32(vd + x + 4, vcvt_high_f32_f16(vh));
                }
            }
            const int r_lo = g * rpg + i_lo * b.n_rep, r_end = (g + 1) * rpg;

            int r = r_lo;
            for (; r + R <= r_end; r += R) {
                scores_tile<R>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);
            }
            for (; r < r_end; ++r) scores_tile<1>(t.q_row + r, t.k, nk, d, b.scale, t.s + size_t(r) * KEY_TILE, KEY_TILE);

            // Online softmax; keys a row does not see become -inf, so their probability is 0.
            const int nk4 = (nk + 3) & ~3;
            for (r = r_lo; r < r_end; ++r) {
                const int n_vis = imin(nk, b.pos0 + r % rpg / b.n_rep - t0 + 1);
                float* s = t.s + size_t(r) * KEY_TILE;
                for (int j = n_vis; j < nk4; ++j) s[j] = -INFINITY;
                float32x4_t vmax = vdupq_n_f32(-INFINITY);
                for (int j = 0; j < nk4; j += 4) vmax = vmaxq_f32(vmax, vld1q_f32(s + j));
                const float m_old = b.m[r], m_new = fmaxf(m_old, vmaxvq_f32(vmax));
                const float32x4_t vm = vdupq_n_f32(m_new);
                float32x4_t vsum = vdupq_n_f32(0.0f);
                for (int j = 0; j < nk4; j += 4) {
                    const float32x4_t e = exp4(vsubq_f32(vld1q_f32(s + j), vm));
                    vst1q_f32(s + j, e);
                    vsum = vaddq_f32(vsum, e);
                }
                t.corr[r] = expf(m_old - m_new);  // 0 on the first tile (m = -inf)
                b.l[r] = b.l[r] * t.corr[r] + vaddvq_f32(vsum);
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
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const f16_t* kj = k + size_t(j) * k_stride;
        float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
        for (int x = 0; x < d; x += 4) {
            const float32x4_t qv = vld1q_f32(q + x);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c) acc[c] = vfmaq_f32(acc[c], qv, widen4(kj + size_t(c) * k_stride + x));
        }
        vst1q_f32(s + j, vmulq_n_f32(hsum4x4(acc[0], acc[1], acc[2], acc[3]), scale));
    }
    for (; j < n; ++j) {
        const f16_t* kj = k + size_t(j) * k_stride;
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (int x = 0; x < d; x += 4) acc = vfmaq_f32(acc, vld1q_f32(q + x), widen4(kj + x));
        s[j] = scale * vaddvq_f32(acc);
    }
}

float exp_sum(float* s, int n, float m) {
    const float32x4_t vm = vdupq_n_f32(m);
    float32x4_t vsum = vdupq_n_f32(0.0f);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(s + j), vm));
        vst1q_f32(s + j, e);
        vsum = vaddq_f32(vsum, e);
    }
    if (j < n) {  // the tail through a padded copy, with the same polynomial
        float tmp[4];
        for (int i = 0; i < 4; ++i) tmp[i] = j + i < n ? s[j + i] : -INFINITY;
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(tmp), vm));
        vst1q_f32(tmp, e);
        vsum = vaddq_f32(vsum, e);
        for (int i = 0; j + i < n; ++i) s[j + i] = tmp[i];
    }
    return vaddvq_f32(vsum);
}

template <int NV>
void weighted_sum_cols(const float* p, const f16_t* v, size_t v_stride, int n, float* out) {
    float32x4_t a[NV];
#pragma GCC unroll 16
    for (int u = 0; u < NV; ++u) a[u] = vdupq_n_f32(0.0f);
    for (int j = 0; j < n; ++j) {
        const float pj = p[j];
        const f16_t* vj = v + size_t(j) * v_stride;
#pragma GCC unroll 16
        for (int u = 0; u < NV; ++u) a[u] = vfmaq_n_f32(a[u], widen4(vj + 4 * u), pj);
    }
#pragma GCC unroll 16
    for (int u = 0; u < NV; ++u) vst1q_f32(out + 4 * u, a[u]);
}

void weighted_sum(const float* p, const f16_t* v, size_t v_stride, int n, int d, float* out) {
    int x0 = 0;
    for (; x0 + 64 <= d; x0 += 64) weighted_sum_cols<16>(p, v + x0, v_stride, n, out + x0);
    for (; x0 < d; x0 += 4) weighted_sum_cols<1>(p, v + x0, v_stride, n, out + x0);
}

constexpr AttentionKernels NEON = {
    /* .isa          = */ "neon",
    /* .width        = */ 8,
    /* .key_tile     = */ KEY_TILE,
    /* .attend       = */ attend,
    /* .scores       = */ scores,
    /* .exp_sum      = */ exp_sum,
    /* .weighted_sum = */ weighted_sum,
};

}  // namespace

const AttentionKernels& attention_rung() { return NEON; }

}  // namespace neon

}  // namespace versus::cpu
