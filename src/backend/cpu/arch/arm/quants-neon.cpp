// Contract: the AArch64 quant rungs. The file is built for base ARMv8-A; the dotprod code carries a target
// attribute and quants.cpp lists its rung only when the hwcaps in cpu_features() have FEAT_DotProd:
//   "neon"          signed byte products widened with smull/smlal into int16 (exact: |w| <= 128, |x| <= 127 and
//                   at most two products per int16 lane), then sadalp into int32.
//   "neon-dotprod"  sdot: four signed byte products per int32 lane.
// Both rungs share the kernels below, which take the dot-product step as a policy (Base or DotProd). The
// dotprod entry points are `flatten` + target("arch=armv8.2-a+dotprod"): flatten inlines the whole kernel,
// policy included, into the attributed function, so sdot is emitted only there and the base rung stays
// ARMv8.0 (a template cannot carry a target attribute for one instantiation only).
//   Q4_0  nibbles - 8 as signed bytes; Q8_0 signed x signed.
//   Q4_K, Q5_K  per sub-block of 32 an int32 dot, times the 6-bit scale (mla by scalar); mins from bsums.
//   Q6_K  quants - 32 as signed bytes, one int32 dot per 16-element scale group.
//   F32/F16/BF16  widened to f32 (fcvtl, shll #16), fma against f32 activations.
// Activations are quantized with fcvtns (round to nearest even), matching the scalar rung byte for byte.
#include "backend/cpu/arch/arm/simd-neon.hpp"
#include "backend/cpu/arch/gemm-driver.hpp"
#include "backend/cpu/arch/quant-tile.hpp"

#define VERSUS_DOTPROD_ENTRY __attribute__((flatten, target("arch=armv8.2-a+dotprod")))

namespace versus::cpu::qneon {

namespace {

using neon::Neon;
using simd::block_q4_0;
using simd::block_q8_0;
using simd::dispatch;
using simd::load_f32;
using simd::load_u16;
using simd::tile_of;

// ---- the dot-product step --------------------------------------------------------------------------

struct Base {
    static inline int32x4_t dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
        int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
        p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(b));
        return vpadalq_s16(acc, p);
    }
};

struct DotProd {
    __attribute__((target("arch=armv8.2-a+dotprod"))) static inline int32x4_t dot(int32x4_t acc, int8x16_t a,
                                                                                  int8x16_t b) {
        return vdotq_s32(acc, a, b);
    }
};

// ---- helpers -------------------------------------------------------------------------------------

inline float load_f16(const uint8_t* p) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(load_u16(p)))), 0);
}
inline int8x16_t ld_s8(const uint8_t* p) { return vreinterpretq_s8_u8(vld1q_u8(p)); }

template <int R, int T>
inline void store_tile(const float32x4_t (&acc)[R][T], const float (&tail)[R][T], float* y, size_t ys) {
    simd::store_tile<Neon, R, T>(acc, tail, y, ys);
}

// ---- activations ---------------------------------------------------------------------------------

inline float amax_of(const float* x, int n) {
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int i = 0; i < n; i += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    return vmaxvq_f32(m);
}

// 16 floats times id, rounded to nearest even, as int8; *sum = their sum.
inline int8x16_t quantize16(const float* x, float id, int* sum) {
    int32x4_t q[4];
    for (int i = 0; i < 4; ++i) q[i] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * i), id));
    *sum = vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])));
    const int16x8_t a = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
    const int16x8_t b = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
    return vcombine_s8(vqmovn_s16(a), vqmovn_s16(b));
}

void act_q8_0(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 32; ++ib, x += 32, out += 34) {
        const float d = amax_of(x, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t h = vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(d))), 0);
        std::memcpy(out, &h, 2);
        int s;
        vst1q_s8(reinterpret_cast<int8_t*>(out + 2), quantize16(x, id, &s));
        vst1q_s8(reinterpret_cast<int8_t*>(out + 18), quantize16(x + 16, id, &s));
    }
}

void act_q8_k(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 256; ++ib, x += 256, out += sizeof(versus_block_q8_K)) {
        const float d = amax_of(x, 256) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        std::memcpy(out, &d, 4);
        int16_t bsums[16];
        for (int g = 0; g < 16; ++g) {
            int s;
            vst1q_s8(reinterpret_cast<int8_t*>(out + 4 + 16 * g), quantize16(x + 16 * g, id, &s));
            bsums[g] = int16_t(s);
        }
        std::memcpy(out + 4 + 256, bsums, sizeof(bsums));
    }
}

// ---- Q4_0 / Q8_0 x Q8_0 --------------------------------------------------------------------------

template <class D>
struct Q4_0 {
    static constexpr int ROWS = 4, TOKS = 4;
    template <int R, int T>
    static inline void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 32;
        const uint8x16_t m4 = vdupq_n_u8(0x0F);
        const int8x16_t eight = vdupq_n_s8(8);
        float32x4_t acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = vdupq_n_f32(0.0f);
        }
        for (int64_t b = 0; b < nb; ++b) {
            int8x16_t xl[T], xh[T];
            float dx[T];
            for (int t = 0; t < T; ++t) {
                const uint8_t* xb = x + size_t(t) * xs + size_t(b) * 34;
                xl[t] = ld_s8(xb + 2), xh[t] = ld_s8(xb + 18), dx[t] = load_f16(xb);
            }
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 18;
                const uint8x16_t q = vld1q_u8(wb + 2);
                const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), eight);
                const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
                const float dw = load_f16(wb);
                for (int t = 0; t < T; ++t) {
                    const int32x4_t s = D::dot(D::dot(vdupq_n_s32(0), lo, xl[t]), hi, xh[t]);
                    acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(s), dw * dx[t]);
                }
            }
        }
        const float tail[R][T] = {};
        store_tile<R, T>(acc, tail, y, ys);
    }
};

template <class D>
struct Q8_0 {
    static constexpr int ROWS = 4, TOKS = 4;
    template <int R, int T>
    static inline void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 32;
        float32x4_t acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = vdupq_n_f32(0.0f);
        }
        for (int64_t b = 0; b < nb; ++b) {
            int8x16_t xl[T], xh[T];
            float dx[T];
            for (int t = 0; t < T; ++t) {
                const uint8_t* xb = x + size_t(t) * xs + size_t(b) * 34;
                xl[t] = ld_s8(xb + 2), xh[t] = ld_s8(xb + 18), dx[t] = load_f16(xb);
            }
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 34;
                const int8x16_t wl = ld_s8(wb + 2), wh = ld_s8(wb + 18);
                const float dw = load_f16(wb);
                for (int t = 0; t < T; ++t) {
                    const int32x4_t s = D::dot(D::dot(vdupq_n_s32(0), wl, xl[t]), wh, xh[t]);
                    acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(s), dw * dx[t]);
                }
            }
        }
        const float tail[R][T] = {};
        store_tile<R, T>(acc, tail, y, ys);
    }
};

// ---- K-quants x Q8_K -----------------------------------------------------------------------------

constexpr size_t Q8K_BYTES = sizeof(versus_block_q8_K);

// The 8 scales then the 8 mins of a Q4_K/Q5_K super-block.
inline void k4_scales(const uint8_t* s, uint8_t out[16]) {
    uint32_t w0, w1, w2;
    std::memcpy(&w0, s, 4);
    std::memcpy(&w1, s + 4, 4);
    std::memcpy(&w2, s + 8, 4);
    const uint32_t v[4] = {w0 & 0x3f3f3f3fu, (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u), w1 & 0x3f3f3f3fu,
                           ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u)};
    std::memcpy(out, v, 16);
}

// Σ_j m_j * (bsum_2j + bsum_2j+1) for the mins m (8 bytes at m) and the 16 group sums at bsums.
inline int32_t mins_dot(const uint8_t* m, const uint8_t* bsums) {
    const int16x8_t b0 = vreinterpretq_s16_u8(vld1q_u8(bsums)), b1 = vreinterpretq_s16_u8(vld1q_u8(bsums + 16));
    const int16x8_t pairs = vpaddq_s16(b0, b1);  // sums of 32 quants, <= 4064 in magnitude
    const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(m)));
    const int32x4_t s = vmlal_s16(vmull_s16(vget_low_s16(mins), vget_low_s16(pairs)), vget_high_s16(mins),
                                  vget_high_s16(pairs));
    return vaddvq_s32(s);
}

template <class D, bool FIVE>
struct K4 {
    static constexpr int ROWS = 4, TOKS = 2;
    static constexpr size_t WB = FIVE ? 176 : 144;
    template <int R, int T>
    static inline void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 256;
        const uint8x16_t m4 = vdupq_n_u8(0x0F), bit4 = vdupq_n_u8(0x10);
        float acc[R][T] = {};
        for (int64_t b = 0; b < nb; ++b) {
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * WB;
                const uint8_t* qs = wb + (FIVE ? 48 : 16);
                uint8_t scm[16];
                k4_scales(wb + 4, scm);
                const float d = load_f16(wb), dmin = load_f16(wb + 2);
                uint8x16_t qh0 = vdupq_n_u8(0), qh1 = vdupq_n_u8(0);
                if constexpr (FIVE) qh0 = vld1q_u8(wb + 16), qh1 = vld1q_u8(wb + 32);
                int32x4_t isum[T];
                for (int t = 0; t < T; ++t) isum[t] = vdupq_n_s32(0);
                for (int c = 0; c < 4; ++c) {
                    const uint8x16_t q0 = vld1q_u8(qs + 32 * c), q1 = vld1q_u8(qs + 32 * c + 16);
                    uint8x16_t l0 = vandq_u8(q0, m4), l1 = vandq_u8(q1, m4);
                    uint8x16_t h0 = vshrq_n_u8(q0, 4), h1 = vshrq_n_u8(q1, 4);
                    if constexpr (FIVE) {
                        // Bit 2c (2c + 1) of qh moved to bit 4 by one signed shift.
                        const int8x16_t sl = vdupq_n_s8(int8_t(4 - 2 * c)), sh = vdupq_n_s8(int8_t(3 - 2 * c));
                        l0 = vorrq_u8(l0, vandq_u8(vshlq_u8(qh0, sl), bit4));
                        l1 = vorrq_u8(l1, vandq_u8(vshlq_u8(qh1, sl), bit4));
                        h0 = vorrq_u8(h0, vandq_u8(vshlq_u8(qh0, sh), bit4));
                        h1 = vorrq_u8(h1, vandq_u8(vshlq_u8(qh1, sh), bit4));
                    }
                    for (int t = 0; t < T; ++t) {
                        const uint8_t* xq = x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 4 + 64 * c;
                        const int32x4_t s_lo = D::dot(D::dot(vdupq_n_s32(0), vreinterpretq_s8_u8(l0), ld_s8(xq)),
                                                      vreinterpretq_s8_u8(l1), ld_s8(xq + 16));
                        const int32x4_t s_hi = D::dot(D::dot(vdupq_n_s32(0), vreinterpretq_s8_u8(h0), ld_s8(xq + 32)),
                                                      vreinterpretq_s8_u8(h1), ld_s8(xq + 48));
                        isum[t] = vmlaq_n_s32(isum[t], s_lo, scm[2 * c]);
                        isum[t] = vmlaq_n_s32(isum[t], s_hi, scm[2 * c + 1]);
                    }
                }
                for (int t = 0; t < T; ++t) {
                    const uint8_t* xb = x + size_t(t) * xs + size_t(b) * Q8K_BYTES;
                    const float dx = load_f32(xb);
                    acc[r][t] += d * dx * float(vaddvq_s32(isum[t])) - dmin * dx * float(mins_dot(scm + 8, xb + 260));
                }
            }
        }
        for (int t = 0; t < T; ++t) {
            for (int r = 0; r < R; ++r) y[size_t(t) * ys + r] = acc[r][t];
        }
    }
};

template <class D>
struct Q6_K {
    static constexpr int ROWS = 4, TOKS = 2;
    template <int R, int T>
    static inline void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 256;
        const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
        const int8x16_t off = vdupq_n_s8(32);
        float acc[R][T] = {};
        for (int64_t b = 0; b < nb; ++b) {
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 210;
                const int8_t* sc = reinterpret_cast<const int8_t*>(wb + 192);
                const float d = load_f16(wb + 208);
                int32x4_t isum[T];
                for (int t = 0; t < T; ++t) isum[t] = vdupq_n_s32(0);
                for (int h = 0; h < 2; ++h) {
                    const uint8_t* ql = wb + 64 * h;
                    const uint8_t* qh = wb + 128 + 32 * h;
                    for (int half = 0; half < 2; ++half) {  // l in [16 half, 16 half + 16)
                        const uint8x16_t a = vld1q_u8(ql + 16 * half), c = vld1q_u8(ql + 32 + 16 * half);
                        const uint8x16_t hb = vld1q_u8(qh + 16 * half);
                        // Quants - 32 of elements 128h + 32k + 16 half + (0..15), k = 0..3: group 8h + 2k + half.
                        const int8x16_t q[4] = {
                            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(a, m4), vandq_u8(vshlq_n_u8(hb, 4), m30))),
                                     off),
                            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(c, m4), vandq_u8(vshlq_n_u8(hb, 2), m30))),
                                     off),
                            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(a, 4), vandq_u8(hb, m30))), off),
                            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(c, 4), vandq_u8(vshrq_n_u8(hb, 2), m30))),
                                     off),
                        };
                        for (int k = 0; k < 4; ++k) {
                            const int g = 8 * h + 2 * k + half;
                            for (int t = 0; t < T; ++t) {
                                const uint8_t* xq = x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 4 + 16 * g;
                                isum[t] = vmlaq_n_s32(isum[t], D::dot(vdupq_n_s32(0), q[k], ld_s8(xq)), sc[g]);
                            }
                        }
                    }
                }
                for (int t = 0; t < T; ++t) {
                    const float dx = load_f32(x + size_t(t) * xs + size_t(b) * Q8K_BYTES);
                    acc[r][t] += d * dx * float(vaddvq_s32(isum[t]));
                }
            }
        }
        for (int t = 0; t < T; ++t) {
            for (int r = 0; r < R; ++r) y[size_t(t) * ys + r] = acc[r][t];
        }
    }
};

// ---- entry points --------------------------------------------------------------------------------

#define VERSUS_TILE_ARGS int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nt, float *y, size_t ys
#define VERSUS_TILE_PASS n, w, ws, nr, x, xs, nt, y, ys

__attribute__((flatten)) void q4_0_base(VERSUS_TILE_ARGS) { dispatch<Q4_0<Base>>(VERSUS_TILE_PASS); }
__attribute__((flatten)) void q8_0_base(VERSUS_TILE_ARGS) { dispatch<Q8_0<Base>>(VERSUS_TILE_PASS); }
__attribute__((flatten)) void q4_k_base(VERSUS_TILE_ARGS) { dispatch<K4<Base, false>>(VERSUS_TILE_PASS); }
__attribute__((flatten)) void q5_k_base(VERSUS_TILE_ARGS) { dispatch<K4<Base, true>>(VERSUS_TILE_PASS); }
__attribute__((flatten)) void q6_k_base(VERSUS_TILE_ARGS) { dispatch<Q6_K<Base>>(VERSUS_TILE_PASS); }

VERSUS_DOTPROD_ENTRY void q4_0_dot(VERSUS_TILE_ARGS) { dispatch<Q4_0<DotProd>>(VERSUS_TILE_PASS); }
VERSUS_DOTPROD_ENTRY void q8_0_dot(VERSUS_TILE_ARGS) { dispatch<Q8_0<DotProd>>(VERSUS_TILE_PASS); }
VERSUS_DOTPROD_ENTRY void q4_k_dot(VERSUS_TILE_ARGS) { dispatch<K4<DotProd, false>>(VERSUS_TILE_PASS); }
VERSUS_DOTPROD_ENTRY void q5_k_dot(VERSUS_TILE_ARGS) { dispatch<K4<DotProd, true>>(VERSUS_TILE_PASS); }
VERSUS_DOTPROD_ENTRY void q6_k_dot(VERSUS_TILE_ARGS) { dispatch<Q6_K<DotProd>>(VERSUS_TILE_PASS); }

#undef VERSUS_TILE_ARGS
#undef VERSUS_TILE_PASS

constexpr QuantKernelSet NEON = {
    /* .isa           = */ "neon",
    /* .quantize_q8_0 = */ act_q8_0,
    /* .quantize_q8_k = */ act_q8_k,
    /* .f32           = */ tile_of<simd::FloatTile<Neon, simd::Fmt::F32>>(),
    /* .f16           = */ simd::with_gemm(tile_of<simd::FloatTile<Neon, simd::Fmt::F16>>(),
                                           {simd::GEMM_MIN_TOKS, simd::gemm_weights<Neon, false>}),
    /* .bf16          = */ simd::with_gemm(tile_of<simd::FloatTile<Neon, simd::Fmt::BF16>>(),
                                           {simd::GEMM_MIN_TOKS, simd::gemm_weights<Neon, true>}),
    /* .q4_0          = */ tile_of<Q4_0<Base>>(q4_0_base),
    /* .q8_0          = */ tile_of<Q8_0<Base>>(q8_0_base),
    /* .q4_k          = */ tile_of<K4<Base, false>>(q4_k_base),
    /* .q5_k          = */ tile_of<K4<Base, true>>(q5_k_base),
    /* .q6_k          = */ tile_of<Q6_K<Base>>(q6_k_base),
};

constexpr QuantKernelSet NEON_DOTPROD = {
    /* .isa           = */ "neon-dotprod",
    /* .quantize_q8_0 = */ act_q8_0,
    /* .quantize_q8_k = */ act_q8_k,
    /* .f32           = */ tile_of<simd::FloatTile<Neon, simd::Fmt::F32>>(),
    /* .f16           = */ simd::with_gemm(tile_of<simd::FloatTile<Neon, simd::Fmt::F16>>(),
                                           {simd::GEMM_MIN_TOKS, simd::gemm_weights<Neon, false>}),
    /* .bf16          = */ simd::with_gemm(tile_of<simd::FloatTile<Neon, simd::Fmt::BF16>>(),
                                           {simd::GEMM_MIN_TOKS, simd::gemm_weights<Neon, true>}),
    /* .q4_0          = */ tile_of<Q4_0<DotProd>>(q4_0_dot),
    /* .q8_0          = */ tile_of<Q8_0<DotProd>>(q8_0_dot),
    /* .q4_k          = */ tile_of<K4<DotProd, false>>(q4_k_dot),
    /* .q5_k          = */ tile_of<K4<DotProd, true>>(q5_k_dot),
    /* .q6_k          = */ tile_of<Q6_K<DotProd>>(q6_k_dot),
};

}  // namespace

const QuantKernelSet& rung() { return NEON; }
const QuantKernelSet& rung_dotprod() { return NEON_DOTPROD; }

}  // namespace versus::cpu::qneon
