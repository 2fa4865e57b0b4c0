// simd-neon: the AdvSIMD vector traits (base ARMv8-A) the shared drivers are written over (arch/*.hpp).
// f16 is widened by FCVTL (vcvt_f32_f16), which every AArch64 CPU has.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu::neon {

namespace {

struct Neon {
    using F = float32x4_t;
    using D = float64x2_t;
    static constexpr int W = 4, DW = 2;
    // Register blocking of the shared attention kernels (32 registers): scores 4 rows x 4 keys, weighted
    // sums 4 rows x 4 vectors, the naive weighted sum 16 vectors.
    static constexpr int ATT_ROWS = 4, ATT_COLS = 4, NAIVE_COLS = 16;
    // f32 GEMM: 8 x 12 tile (24 accumulators of the 32 registers); A panel 8 x 256 x 4 B = 8 KiB in L1,
    // packed-B block 256 x 252 x 4 B ~ 250 KiB in L2.
    static constexpr int GEMM_MR = 8, GEMM_NRV = 3, GEMM_KC = 256, GEMM_MC = 256, GEMM_NC = 1512, GEMM_NC2 = 252;
    // Float-weight quant tiles (rows x tokens): accumulators R*T + T activations + 1 weight within the registers.
    static constexpr int QUANT_ROWS = 4, QUANT_TOKS = 4;
    static constexpr int FMA_CHAINS = 16;  // 4 FMA pipes x 4 cycles (Apple M, Neoverse V); 2 x 4 on Cortex-A7x
    // AArch64 cores detect streaming writes and stop allocating on them (write streaming mode), and STNP is
    // only a hint: STREAM uses plain stores.
    static constexpr bool STREAM_NT = false;
    static constexpr int STREAM_ALIGN = 16;

    static F zero() { return vdupq_n_f32(0.0f); }
    static F set1(float x) { return vdupq_n_f32(x); }
    static F load(const float* p) { return vld1q_f32(p); }
    static void store(float* p, F v) { vst1q_f32(p, v); }
    static F add(F a, F b) { return vaddq_f32(a, b); }
    static F sub(F a, F b) { return vsubq_f32(a, b); }
    static F mul(F a, F b) { return vmulq_f32(a, b); }
    static F fma(F a, F b, F c) { return vfmaq_f32(c, a, b); }  // a * b + c
    static F max(F a, F b) { return vmaxq_f32(a, b); }
    static F fmas(F b, float a, F c) { return vfmaq_n_f32(c, b, a); }  // a * b + c
    static float hsum(F v) { return vaddvq_f32(v); }
    static float hmax(F v) { return vmaxvq_f32(v); }
    // out[0..3] = scale * (sum a, sum b, sum c, sum d)
    static void hsum4(F a, F b, F c, F d, float scale, float* out) {
        vst1q_f32(out, vmulq_n_f32(vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)), scale));
    }
    // r[i][k] -> r[k][i]: a 4 x 4 transposition.
    static void transpose(F (&r)[4]) {
        const float32x4_t a = vtrn1q_f32(r[0], r[1]), b = vtrn2q_f32(r[0], r[1]);
        const float32x4_t c = vtrn1q_f32(r[2], r[3]), d = vtrn2q_f32(r[2], r[3]);
        r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(c)));
        r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(b), vreinterpretq_f64_f32(d)));
        r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(c)));
        r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(b), vreinterpretq_f64_f32(d)));
    }
    static F load_f16(const f16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
    static F load_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
    // e^x for x <= 0, relative error about 2 ulp; exactly 0 below -87 and for -inf. Cephes' expf: x = n ln2 + r
    // with |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n built in the exponent field.
    static F exp(F x) {
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

    static D dset1(double x) { return vdupq_n_f64(x); }
    static D dload(const double* p) { return vld1q_f64(p); }
    static void dstore(double* p, D v) { vst1q_f64(p, v); }
    static void dstream(double* p, D v) { vst1q_f64(p, v); }
    static D dadd(D a, D b) { return vaddq_f64(a, b); }
    static D dmul(D a, D b) { return vmulq_f64(a, b); }
    static void sfence() {}
    static float first(F v) { return vgetq_lane_f32(v, 0); }
};

}  // namespace

}  // namespace versus::cpu::neon
