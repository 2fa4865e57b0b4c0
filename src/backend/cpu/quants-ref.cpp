// Contract: the scalar half of quants: decoding (dequantize_row) exactly per the ggml format definitions,
// the reference encoders (quantize_row), and the "scalar" rung of the quant ladder: activation quantizers
// whose bytes every other rung reproduces, and tiles that compute each dot product block by block in
// integers, scaled in f32, written to be obviously right rather than fast.
//
// Built with -ffp-contract=off (versus-kernels.cmake) so that d * sc * q - dmin * m rounds the way the
// format's reference decoder does on every target, instead of turning into a fused multiply-add on Arm.
//
// Encoders:
//   Q8_0  d = max|x| / 127, q = round(x / d) (half away from zero), as ggml's reference.
//   Q4_0  d = -m / 8 where m is the element of largest magnitude (so it lands on q = 0), q = min(15,
//         floor(x / d + 8.5)), as ggml's reference.
//   Q4_K, Q5_K  per sub-block of 32, an affine fit x ~ s * q - m (s, m >= 0, q in [0, 2^b - 1]) by least
//         squares: 21 grids spanning [min, max] with 2^b - 2 .. 2^b steps are rounded, the best pair (s, m)
//         for each rounding solved in closed form, and the winner refined by re-rounding against its own fit
//         until it stops improving. The 8 scales and 8 mins are then coded in 6 bits against their
//         super-block maxima (d, dmin); each code may move one step up or down where the quants, re-rounded
//         with the coded values, fit better.
//   Q6_K  per sub-block of 16, a symmetric fit x ~ s * q (q in [-32, 31], s of either sign: the largest
//         element may take -32) over 38 grids, best by the same closed form, refined likewise; scales coded
//         as int8 against d = max|s| / 127, with the same one-step search.
//   Q8_K  as the activations (d = max|x| / 127, q rounded to nearest even, group sums).
// The fits are unweighted, so they minimise the plain squared error: on N(0, 1) data the relative RMS error
// is below ggml's reference quantizers' (Q4_K 0.0700 vs 0.0712, Q5_K 0.0347 vs 0.0360, Q6_K 0.0169 vs
// 0.0178, measured against libggml); ggml weights large elements more, which trades a little RMS error for
// the outliers LLMs are sensitive to.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.hpp"
#include "quants.hpp"

namespace versus::cpu {

namespace {

constexpr int QK = VERSUS_QK_K;

inline float load_f16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16_to_f32(h);
}
inline void store_f16(uint8_t* p, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(p, &h, 2);
}
inline float load_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
inline int8_t as_i8(uint8_t b) { return static_cast<int8_t>(b); }

// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block.
inline void k4_scale_min(const uint8_t* s, int j, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

inline void k4_pack_scales(const int sc[8], const int m[8], uint8_t* s) {
    std::memset(s, 0, VERSUS_K_SCALE_BYTES);
    for (int j = 0; j < 4; ++j) {
        s[j] = uint8_t(sc[j]);
        s[j + 4] = uint8_t(m[j]);
    }
    for (int j = 4; j < 8; ++j) {
        s[j + 4] = uint8_t((sc[j] & 15) | ((m[j] & 15) << 4));
        s[j - 4] |= uint8_t((sc[j] >> 4) << 6);
        s[j] |= uint8_t((m[j] >> 4) << 6);
    }
}

// Round to nearest (ties to even) without a libm call: adding 1.5 * 2^23 leaves the integer in the low
// mantissa bits. Exact for |v| < 2^22; callers clamp into a small range first (values here are quants), and
// the scale codes (at most 127 / 63 times a ratio <= 1) are far inside it.
inline int round_nearest(float v) {
    return int(std::bit_cast<uint32_t>(v + 12582912.0f) & 0x7fffffu) - 0x400000;
}

// ---- decoders ----------------------------------------------------------------------------------

void dequant_q4_0(const uint8_t* b, float* y) {
    const float d = load_f16(b);
    for (int j = 0; j < 16; ++j) {
        y[j] = float((b[2 + j] & 15) - 8) * d;
        y[j + 16] = float((b[2 + j] >> 4) - 8) * d;
    }
}

void dequant_q8_0(const uint8_t* b, float* y) {
    const float d = load_f16(b);
    for (int j = 0; j < 32; ++j) y[j] = float(as_i8(b[2 + j])) * d;
}

// Q4_K (qh == nullptr) and Q5_K.
void dequant_k4(const uint8_t* d_ptr, const uint8_t* scales, const uint8_t* qh, const uint8_t* qs, float* y) {
    const float d = load_f16(d_ptr), dmin = load_f16(d_ptr + 2);
    for (int c = 0; c < 4; ++c) {
        for (int half = 0; half < 2; ++half) {
            const int j = 2 * c + half;
            int sc, m;
            k4_scale_min(scales, j, &sc, &m);
            const float d1 = d * float(sc), m1 = dmin * float(m);
            for (int l = 0; l < 32; ++l) {
                int q = half ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 15;
                if (qh) q |= ((qh[l] >> j) & 1) << 4;
                y[64 * c + 32 * half + l] = d1 * float(q) - m1;
            }
        }
    }
}

void dequant_q6_k(const uint8_t* b, float* y) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const uint8_t* sc = b + 192;
    const float d = load_f16(b + 208);
    for (int h = 0; h < 2; ++h) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t lo0 = ql[64 * h + l], lo1 = ql[64 * h + 32 + l], hi = qh[32 * h + l];
            const int q[4] = {(lo0 & 15) | ((hi & 3) << 4), (lo1 & 15) | (((hi >> 2) & 3) << 4),
                              (lo0 >> 4) | (((hi >> 4) & 3) << 4), (lo1 >> 4) | (((hi >> 6) & 3) << 4)};
            for (int k = 0; k < 4; ++k) {
                const int e = 128 * h + 32 * k + l;
                y[e] = d * float(as_i8(sc[e / 16])) * float(q[k] - 32);
            }
        }
    }
}

void dequant_q8_k(const uint8_t* b, float* y) {
    const float d = load_f32(b);
    for (int j = 0; j < QK; ++j) y[j] = d * float(as_i8(b[4 + j]));
}

// ---- encoders ----------------------------------------------------------------------------------

void quant_q4_0(const float* x, uint8_t* b) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
        if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(b, d);
    for (int j = 0; j < 16; ++j) {
        const int q0 = std::clamp(int(x[j] * id + 8.5f), 0, 15);
        const int q1 = std::clamp(int(x[j + 16] * id + 8.5f), 0, 15);
        b[2 + j] = uint8_t(q0 | (q1 << 4));
    }
}

void quant_q8_0(const float* x, uint8_t* b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(b, d);
    for (int j = 0; j < 32; ++j) b[2 + j] = uint8_t(int8_t(std::round(x[j] * id)));
}

// The activation quantizers: the exact arithmetic every rung repeats (one IEEE division, products, rounding
// to nearest even; nothing that a compiler could fuse).
void act_q8_0(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 32; ++ib, x += 32, out += 34) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_f16(out, d);
        for (int j = 0; j < 32; ++j) out[2 + j] = uint8_t(int8_t(std::nearbyint(x[j] * id)));
    }
}

void act_q8_k(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / QK; ++ib, x += QK, out += sizeof(versus_block_q8_K)) {
        float amax = 0;
        for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        std::memcpy(out, &d, 4);
        int16_t bsums[16];
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int j = 16 * g; j < 16 * g + 16; ++j) {
                const int q = int(std::nearbyint(x[j] * id));
                out[4 + j] = uint8_t(int8_t(q));
                sum += q;
            }
            bsums[g] = int16_t(sum);
        }
        std::memcpy(out + 4 + QK, bsums, sizeof(bsums));
    }
}

// Σ x[i] * L[i] over N elements in eight independent partial sums (a fixed order, so the result is the
// same on every target, and one the compiler can vectorise without reassociating).
template <int N, class Q>
inline float dot_xl(const float* x, const Q* L) {
    float acc[8] = {};
    for (int i = 0; i < N; i += 8) {
        for (int k = 0; k < 8; ++k) acc[k] += x[i + k] * float(L[i + k]);
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Σx and Σx² of a sub-block, shared by all the candidate fits.
struct Moments {
    double sx, sxx;
};
template <int N>
Moments moments(const float* x) {
    double sx = 0, sxx = 0;
    for (int i = 0; i < N; ++i) sx += x[i], sxx += double(x[i]) * x[i];
    return {sx, sxx};
}

// Least squares of x ~ s * L + b over N elements; b is forced to 0 when the unconstrained fit wants b > 0
// (the formats only subtract a min). Returns the squared error.
struct Affine {
    float s, b, err;
};
template <int N>
Affine fit_affine_given(const float* x, const uint8_t* L, const Moments& mo) {
    int isl = 0, isll = 0;
    for (int i = 0; i < N; ++i) isl += L[i], isll += L[i] * L[i];
    const double sw = N, sl = isl, sll = isll, sx = mo.sx, sxx = mo.sxx, slx = dot_xl<N>(x, L);
    double s = 0, b = 0;
    const double det = sw * sll - sl * sl;
    if (det > 0) {
        s = (sw * slx - sl * sx) / det;
        b = (sll * sx - sl * slx) / det;
    }
    if (b > 0 || det <= 0) {
        b = 0;
        s = sll > 0 ? slx / sll : 0;
    }
    if (s < 0) s = 0, b = std::min(0.0, sx / sw);
    // Σ(sL + b - x)² expanded.
    const double err = s * s * sll + b * b * sw + sxx + 2 * s * b * sl - 2 * s * slx - 2 * b * sx;
    return {float(s), float(b), float(std::max(0.0, err))};
}

// L = clamp(round((x - b) / s), 0, nmax); clamped before rounding (the same for integer bounds), so the
// rounding trick's range always holds.
template <int N>
void round_affine(const float* x, int nmax, float s, float b, uint8_t* L) {
    const float is = s > 0 ? 1.0f / s : 0.0f, top = float(nmax);
    for (int i = 0; i < N; ++i) {
        float v = (x[i] - b) * is;
        v = v < 0.0f ? 0.0f : v;
        v = v > top ? top : v;
        L[i] = uint8_t(round_nearest(v));
    }
}

// The sub-block fit of Q4_K/Q5_K: returns scale s >= 0 and min m >= 0 with x ~ s * L - m.
void fit_sub_affine(const float* x, int nmax, float* s_out, float* m_out) {
    constexpr int N = 32;
    float lo = x[0], hi = x[0];
    for (int i = 1; i < N; ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    lo = std::min(lo, 0.0f);
    if (hi <= lo) {
        *s_out = 0, *m_out = -lo;
        return;
    }
    const Moments mo = moments<N>(x);
    uint8_t L[N], best_L[N];
    Affine best{0, 0, INFINITY};
    for (int k = -10; k <= 10; ++k) {
        const float steps = float(nmax) + 0.1f * float(k);
        round_affine<N>(x, nmax, (hi - lo) / steps, lo, L);
        const Affine f = fit_affine_given<N>(x, L, mo);
        if (f.err < best.err) best = f, std::memcpy(best_L, L, N);
    }
    for (int it = 0; it < 4 && best.s > 0; ++it) {
        round_affine<N>(x, nmax, best.s, best.b, L);
        if (std::memcmp(L, best_L, N) == 0) break;
        const Affine f = fit_affine_given<N>(x, L, mo);
        if (!(f.err < best.err)) break;
        best = f, std::memcpy(best_L, L, N);
    }
    *s_out = best.s, *m_out = -best.b;
}

// The squared error of 32 elements coded as S * q - M (each product rounded as the decoder rounds it), the
// quants q (0..nmax) re-rounded into L.
float coded_error_affine(const float* x, int nmax, float S, float M, uint8_t* L) {
    round_affine<32>(x, nmax, S, -M, L);
    float acc[8] = {};
    for (int i = 0; i < 32; i += 8) {
        for (int k = 0; k < 8; ++k) {
            const float e = x[i + k] - (S * float(L[i + k]) - M);
            acc[k] += e * e;
        }
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Q4_K (bits 4) and Q5_K (bits 5): the 256 quants (0 .. 2^bits - 1) and the block header.
void quant_k4_common(const float* x, int bits, uint8_t* d_ptr, uint8_t* scales, uint8_t q[QK]) {
    const int nmax = (1 << bits) - 1;
    float s[8], m[8];
    float max_s = 0, max_m = 0;
    for (int j = 0; j < 8; ++j) {
        fit_sub_affine(x + 32 * j, nmax, &s[j], &m[j]);
        max_s = std::max(max_s, s[j]);
        max_m = std::max(max_m, m[j]);
    }
    const float inv_s = max_s > 0 ? 63.0f / max_s : 0.0f, inv_m = max_m > 0 ? 63.0f / max_m : 0.0f;
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
        sc[j] = std::clamp(round_nearest(s[j] * inv_s), 0, 63);
        mn[j] = std::clamp(round_nearest(m[j] * inv_m), 0, 63);
    }
    store_f16(d_ptr, max_s / 63.0f);
    store_f16(d_ptr + 2, max_m / 63.0f);
    // Re-round against the coded values, letting each code move by one step where that lowers the error
    // (the rounding of a scale and of its min can compensate each other).
    const float d = load_f16(d_ptr), dmin = load_f16(d_ptr + 2);
    for (int j = 0; j < 8; ++j) {
        float best = INFINITY;
        int best_sc = sc[j], best_mn = mn[j];
        for (int a = std::max(0, sc[j] - 1); a <= std::min(63, sc[j] + 1); ++a) {
            for (int b = std::max(0, mn[j] - 1); b <= std::min(63, mn[j] + 1); ++b) {
                const float e = coded_error_affine(x + 32 * j, nmax, d * float(a), dmin * float(b), q + 32 * j);
                if (e < best) best = e, best_sc = a, best_mn = b;
            }
        }
        sc[j] = best_sc, mn[j] = best_mn;
        coded_error_affine(x + 32 * j, nmax, d * float(sc[j]), dmin * float(mn[j]), q + 32 * j);
    }
    k4_pack_scales(sc, mn, scales);
}

void quant_q4_k(const float* x, uint8_t* b) {
    uint8_t q[QK];
    quant_k4_common(x, 4, b, b + 4, q);
    uint8_t* qs = b + 16;
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) qs[32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
}

void quant_q5_k(const float* x, uint8_t* b) {
    uint8_t q[QK];
    quant_k4_common(x, 5, b, b + 4, q);
    uint8_t* qh = b + 16;
    uint8_t* qs = b + 48;
    std::memset(qh, 0, 32);
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
            qs[32 * c + l] = uint8_t((q0 & 15) | ((q1 & 15) << 4));
            qh[l] |= uint8_t(((q0 >> 4) << (2 * c)) | ((q1 >> 4) << (2 * c + 1)));
        }
    }
}

// Symmetric fit x ~ s * L, L in [-32, 31]; returns s (either sign) and the squared error.
struct Sym {
    float s, err;
};
Sym fit_sym_given(const float* x, const int8_t* L, double sxx) {
    int isll = 0;
    for (int i = 0; i < 16; ++i) isll += L[i] * L[i];
    const double sxl = dot_xl<16>(x, L), sll = isll;
    if (sll <= 0) return {0, float(sxx)};
    return {float(sxl / sll), float(std::max(0.0, sxx - sxl * sxl / sll))};
}

void round_sym(const float* x, float s, int8_t* L) {
    const float is = s != 0 ? 1.0f / s : 0.0f;
    for (int i = 0; i < 16; ++i) {
        float v = x[i] * is;
        v = v < -32.0f ? -32.0f : v;
        v = v > 31.0f ? 31.0f : v;
        L[i] = int8_t(round_nearest(v));
    }
}

// The sub-block fit of Q6_K (16 elements): returns the scale.
float fit_sub_sym(const float* x) {
    float amax = 0, max = 0;
    for (int i = 0; i < 16; ++i) {
        if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
    }
    if (amax == 0) return 0;
    const double sxx = moments<16>(x).sxx;
    int8_t L[16], best_L[16];
    Sym best{0, INFINITY};
    for (int k = -9; k <= 9; ++k) {
        // The largest element on -32 (scale of opposite sign) or on +31 (same sign), slightly stretched.
        for (const float target : {-32.0f, 31.0f}) {
            round_sym(x, max / (target + (target < 0 ? -0.1f : 0.1f) * float(k)), L);
            const Sym f = fit_sym_given(x, L, sxx);
            if (f.err < best.err) best = f, std::memcpy(best_L, L, 16);
        }
    }
    for (int it = 0; it < 4 && best.s != 0; ++it) {
        round_sym(x, best.s, L);
        if (std::memcmp(L, best_L, 16) == 0) break;
        const Sym f = fit_sym_given(x, L, sxx);
        if (!(f.err < best.err)) break;
        best = f, std::memcpy(best_L, L, 16);
    }
    return best.s;
}

void quant_q6_k(const float* x, uint8_t* b) {
    float s[16];
    float max_abs = 0;
    for (int g = 0; g < 16; ++g) {
        s[g] = fit_sub_sym(x + 16 * g);
        max_abs = std::max(max_abs, std::fabs(s[g]));
    }
    int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
    const float inv = max_abs > 0 ? 127.0f / max_abs : 0.0f;
    store_f16(b + 208, max_abs / 127.0f);
    const float d = load_f16(b + 208);
    int8_t L[QK];
    for (int g = 0; g < 16; ++g) {
        // The coded scale, or a neighbour where the re-rounded quants fit better.
        const int c = std::clamp(round_nearest(s[g] * inv), -127, 127);
        float best = INFINITY;
        int best_c = c;
        for (int a = std::max(-127, c - 1); a <= std::min(127, c + 1); ++a) {
            const float S = d * float(a);
            round_sym(x + 16 * g, S, L + 16 * g);
            float err = 0;
            for (int i = 0; i < 16; ++i) {
                const float e = x[16 * g + i] - S * float(L[16 * g + i]);
                err += e * e;
            }
            if (err < best) best = err, best_c = a;
        }
        sc[g] = int8_t(best_c);
        round_sym(x + 16 * g, d * float(best_c), L + 16 * g);
    }
    uint8_t* ql = b;
    uint8_t* qh = b + 128;
    for (int h = 0; h < 2; ++h) {
        for (int l = 0; l < 32; ++l) {
            int q[4];
            for (int k = 0; k < 4; ++k) q[k] = L[128 * h + 32 * k + l] + 32;
            ql[64 * h + l] = uint8_t((q[0] & 15) | ((q[2] & 15) << 4));
            ql[64 * h + 32 + l] = uint8_t((q[1] & 15) | ((q[3] & 15) << 4));
            qh[32 * h + l] = uint8_t((q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6));
        }
    }
}

// ---- scalar dot products -----------------------------------------------------------------------

float dot_f32(int64_t n, const uint8_t* w, const float* x) {
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += load_f32(w + 4 * i) * x[i];
    return sum;
}

float dot_f16(int64_t n, const uint8_t* w, const float* x) {
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += load_f16(w + 2 * i) * x[i];
    return sum;
}

float dot_bf16(int64_t n, const uint8_t* w, const float* x) {
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, w + 2 * i, 2);
        sum += bf16_to_f32(h) * x[i];
    }
    return sum;
}

float dot_q4_0(int64_t n, const uint8_t* w, const uint8_t* x) {
    float sum = 0;
    for (int64_t ib = 0; ib < n / 32; ++ib, w += 18, x += 34) {
        int isum = 0;
        for (int j = 0; j < 16; ++j) {
            isum += ((w[2 + j] & 15) - 8) * as_i8(x[2 + j]) + ((w[2 + j] >> 4) - 8) * as_i8(x[18 + j]);
        }
        sum += float(isum) * (load_f16(w) * load_f16(x));
    }
    return sum;
}

float dot_q8_0(int64_t n, const uint8_t* w, const uint8_t* x) {
    float sum = 0;
    for (int64_t ib = 0; ib < n / 32; ++ib, w += 34, x += 34) {
        int isum = 0;
        for (int j = 0; j < 32; ++j) isum += as_i8(w[2 + j]) * as_i8(x[2 + j]);
        sum += float(isum) * (load_f16(w) * load_f16(x));
    }
    return sum;
}

// Q4_K (qh == nullptr, w_bytes 144) and Q5_K (176): Σ_j sc_j Σ q x and Σ_j m_j Σ x per super-block.
float dot_k4(int64_t n, const uint8_t* w, const uint8_t* x, bool five) {
    const size_t wb = five ? 176 : 144;
    float sum = 0;
    for (int64_t ib = 0; ib < n / QK; ++ib, w += wb, x += sizeof(versus_block_q8_K)) {
        const uint8_t* scales = w + 4;
        const uint8_t* qh = five ? w + 16 : nullptr;
        const uint8_t* qs = five ? w + 48 : w + 16;
        const int8_t* xq = reinterpret_cast<const int8_t*>(x + 4);
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            int sc, m;
            k4_scale_min(scales, j, &sc, &m);
            const int c = j / 2;
            int dot = 0, sx = 0;
            for (int l = 0; l < 32; ++l) {
                int q = (j & 1) ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 15;
                if (qh) q |= ((qh[l] >> j) & 1) << 4;
                dot += q * xq[32 * j + l];
                sx += xq[32 * j + l];
            }
            sumi += sc * dot;
            summ += m * sx;
        }
        const float dx = load_f32(x);
        sum += dx * load_f16(w) * float(sumi) - dx * load_f16(w + 2) * float(summ);
    }
    return sum;
}

float dot_q6_k(int64_t n, const uint8_t* w, const uint8_t* x) {
    float sum = 0;
    for (int64_t ib = 0; ib < n / QK; ++ib, w += 210, x += sizeof(versus_block_q8_K)) {
        const uint8_t* ql = w;
        const uint8_t* qh = w + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(w + 192);
        const int8_t* xq = reinterpret_cast<const int8_t*>(x + 4);
        int group[16] = {};
        for (int h = 0; h < 2; ++h) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t lo0 = ql[64 * h + l], lo1 = ql[64 * h + 32 + l], hi = qh[32 * h + l];
                const int q[4] = {(lo0 & 15) | ((hi & 3) << 4), (lo1 & 15) | (((hi >> 2) & 3) << 4),
                                  (lo0 >> 4) | (((hi >> 4) & 3) << 4), (lo1 >> 4) | (((hi >> 6) & 3) << 4)};
                for (int k = 0; k < 4; ++k) {
                    const int e = 128 * h + 32 * k + l;
                    group[e / 16] += (q[k] - 32) * xq[e];
                }
            }
        }
        int sumi = 0;
        for (int g = 0; g < 16; ++g) sumi += sc[g] * group[g];
        sum += load_f32(x) * load_f16(w + 208) * float(sumi);
    }
    return sum;
}

// A scalar tile: every (row, token) pair through `dot`.
template <class Dot>
void tile_each(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys,
               Dot dot) {
    const uint8_t* wp = static_cast<const uint8_t*>(w);
    const uint8_t* xp = static_cast<const uint8_t*>(x);
    for (int t = 0; t < nt; ++t) {
        for (int r = 0; r < nr; ++r) y[size_t(t) * ys + r] = dot(n, wp + size_t(r) * ws, xp + size_t(t) * xs);
    }
}

void tile_f32(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys, [](int64_t k, const uint8_t* a, const uint8_t* b) {
        return dot_f32(k, a, reinterpret_cast<const float*>(b));
    });
}
void tile_f16(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys, [](int64_t k, const uint8_t* a, const uint8_t* b) {
        return dot_f16(k, a, reinterpret_cast<const float*>(b));
    });
}
void tile_bf16(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys, [](int64_t k, const uint8_t* a, const uint8_t* b) {
        return dot_bf16(k, a, reinterpret_cast<const float*>(b));
    });
}
void tile_q4_0(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys, dot_q4_0);
}
void tile_q8_0(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys, dot_q8_0);
}
void tile_q4_k(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys,
              [](int64_t k, const uint8_t* a, const uint8_t* b) { return dot_k4(k, a, b, false); });
}
void tile_q5_k(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys,
              [](int64_t k, const uint8_t* a, const uint8_t* b) { return dot_k4(k, a, b, true); });
}
void tile_q6_k(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    tile_each(n, w, ws, nr, x, xs, nt, y, ys, dot_q6_k);
}

// Tiles of 4 x 4 although the scalar code gains nothing from them: the driver's edge handling then runs
// under this rung too.
constexpr QuantKernelSet REF = {
    /* .isa           = */ "scalar",
    /* .quantize_q8_0 = */ act_q8_0,
    /* .quantize_q8_k = */ act_q8_k,
    /* .f32           = */ {tile_f32, 4, 4, nullptr, nullptr},
    /* .f16           = */ {tile_f16, 4, 4, nullptr, nullptr},
    /* .bf16          = */ {tile_bf16, 4, 4, nullptr, nullptr},
    /* .q4_0          = */ {tile_q4_0, 4, 4, nullptr, nullptr},
    /* .q8_0          = */ {tile_q8_0, 4, 4, nullptr, nullptr},
    /* .q4_k          = */ {tile_q4_k, 4, 4, nullptr, nullptr},
    /* .q5_k          = */ {tile_q5_k, 4, 4, nullptr, nullptr},
    /* .q6_k          = */ {tile_q6_k, 4, 4, nullptr, nullptr},
};

[[noreturn]] void bad_type(const char* what, QType type) {
    throw std::invalid_argument(std::string("[quants] ") + what + ": unsupported type id " +
                                std::to_string(uint32_t(type)) +
                                ". HINT: versus implements f32, f16, bf16, q4_0, q8_0, q4_K, q5_K, q6_K, q8_K");
}

}  // namespace

namespace qref {
const QuantKernelSet& rung() { return REF; }
}  // namespace qref

void dequantize_row(QType type, const void* src, float* dst, int64_t n) {
    const size_t bytes = qtype_row_bytes(type, n);  // validates type and n
    (void)bytes;
    const uint8_t* s = static_cast<const uint8_t*>(src);
    switch (type) {
        case QType::F32:
            std::memcpy(dst, s, size_t(n) * 4);
            return;
        case QType::F16:
            for (int64_t i = 0; i < n; ++i) dst[i] = load_f16(s + 2 * i);
            return;
        case QType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, s + 2 * i, 2);
                dst[i] = bf16_to_f32(h);
            }
            return;
        case QType::Q4_0:
            for (int64_t ib = 0; ib < n / 32; ++ib) dequant_q4_0(s + 18 * ib, dst + 32 * ib);
            return;
        case QType::Q8_0:
            for (int64_t ib = 0; ib < n / 32; ++ib) dequant_q8_0(s + 34 * ib, dst + 32 * ib);
            return;
        case QType::Q4_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) {
                const uint8_t* b = s + 144 * ib;
                dequant_k4(b, b + 4, nullptr, b + 16, dst + QK * ib);
            }
            return;
        case QType::Q5_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) {
                const uint8_t* b = s + 176 * ib;
                dequant_k4(b, b + 4, b + 16, b + 48, dst + QK * ib);
            }
            return;
        case QType::Q6_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) dequant_q6_k(s + 210 * ib, dst + QK * ib);
            return;
        case QType::Q8_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) dequant_q8_k(s + sizeof(versus_block_q8_K) * ib, dst + QK * ib);
            return;
    }
    bad_type("dequantize_row", type);
}

void quantize_row(QType type, const float* src, void* dst, int64_t n) {
    qtype_row_bytes(type, n);  // validates type and n
    uint8_t* d = static_cast<uint8_t*>(dst);
    switch (type) {
        case QType::F32:
            std::memcpy(d, src, size_t(n) * 4);
            return;
        case QType::F16:
            for (int64_t i = 0; i < n; ++i) {
                const uint16_t h = f32_to_f16(src[i]);
                std::memcpy(d + 2 * i, &h, 2);
            }
            return;
        case QType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                const uint16_t h = f32_to_bf16(src[i]);
                std::memcpy(d + 2 * i, &h, 2);
            }
            return;
        case QType::Q4_0:
            for (int64_t ib = 0; ib < n / 32; ++ib) quant_q4_0(src + 32 * ib, d + 18 * ib);
            return;
        case QType::Q8_0:
            for (int64_t ib = 0; ib < n / 32; ++ib) quant_q8_0(src + 32 * ib, d + 34 * ib);
            return;
        case QType::Q4_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) quant_q4_k(src + QK * ib, d + 144 * ib);
            return;
        case QType::Q5_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) quant_q5_k(src + QK * ib, d + 176 * ib);
            return;
        case QType::Q6_K:
            for (int64_t ib = 0; ib < n / QK; ++ib) quant_q6_k(src + QK * ib, d + 210 * ib);
            return;
        case QType::Q8_K:
            act_q8_k(src, d, n);
            return;
    }
    bad_type("quantize_row", type);
}

}  // namespace versus::cpu
