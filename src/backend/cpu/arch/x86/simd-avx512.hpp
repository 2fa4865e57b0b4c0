// simd-avx512: the AVX-512 vector traits (F + FMA + F16C) the shared drivers are written over (arch/*.hpp),
// and the few operations the AVX-512 micro-kernels share. Included only by files built with -mavx512*.
//
// Test build: with VERSUS_KERNELS_AVX512_SIMDE the including file is compiled a second time, without
// -mavx512*, against SIMDe's portable AVX-512, in namespace VERSUS_AVX512_NS = avx512_simde with rungs named
// "*-simde" (VERSUS_AVX512_NAME), so CPUs without AVX-512 still run the code's logic in the tests. Only
// intrinsics SIMDe 0.7.4 provides are used; the few it lacks or gets wrong have a portable stand-in below.
#pragma once

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#define VERSUS_AVX512_NS avx512_simde
#define VERSUS_AVX512_NAME(name) name "-simde"
#define VERSUS_ROUND_NEAREST (SIMDE_MM_FROUND_TO_NEAREST_INT | SIMDE_MM_FROUND_NO_EXC)
#else
#include <immintrin.h>
// GCC 12's AVX-512 headers initialise their "undefined" vectors from themselves (GCC bug 105593), which
// warns at every inlined use of e.g. _mm512_slli_epi32; the warning is about the header, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define VERSUS_AVX512_NS avx512
#define VERSUS_AVX512_NAME(name) name
#define VERSUS_ROUND_NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu::VERSUS_AVX512_NS {

namespace {

// ---- conversions SIMDe lacks or maps wrongly --------------------------------------------------------------

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
inline __m512 cvt_f16x16(__m256i h) {
    uint16_t in[16];
    float out[16];
    std::memcpy(in, &h, sizeof(in));
    for (int i = 0; i < 16; ++i) out[i] = f16_to_f32(in[i]);
    return _mm512_loadu_ps(out);
}
inline __m512 cvt_i32_ps(__m512i v) {
    int32_t a[16];
    float f[16];
    std::memcpy(a, &v, sizeof(a));
    for (int i = 0; i < 16; ++i) f[i] = float(a[i]);
    return _mm512_loadu_ps(f);
}
inline __m512i cvt_ps_i32(__m512 v) {  // round to nearest even, as vcvtps2dq under the default MXCSR
    float f[16];
    int32_t a[16];
    std::memcpy(f, &v, sizeof(f));
    for (int i = 0; i < 16; ++i) a[i] = int32_t(__builtin_nearbyintf(f[i]));
    return _mm512_loadu_si512(a);
}
inline __m512i cvt_u16_i32(__m256i h) {
    uint16_t in[16];
    int32_t out[16];
    std::memcpy(in, &h, sizeof(in));
    for (int i = 0; i < 16; ++i) out[i] = in[i];
    return _mm512_loadu_si512(out);
}
// SIMDe 0.7.4 maps the native name to the masked form by mistake.
inline __m512i madd_i16(__m512i a, __m512i b) { return simde_mm512_madd_epi16(a, b); }
inline float f16_scalar(uint16_t h) { return f16_to_f32(h); }
inline uint16_t f16_from(float f) { return f32_to_f16(f); }
inline void stream_pd(double* p, __m512d v) { _mm512_storeu_pd(p, v); }
#else
inline __m512 cvt_f16x16(__m256i h) { return _mm512_cvtph_ps(h); }
inline __m512 cvt_i32_ps(__m512i v) { return _mm512_cvtepi32_ps(v); }
inline __m512i cvt_ps_i32(__m512 v) { return _mm512_cvtps_epi32(v); }
inline __m512i cvt_u16_i32(__m256i h) { return _mm512_cvtepu16_epi32(h); }
inline __m512i madd_i16(__m512i a, __m512i b) { return _mm512_madd_epi16(a, b); }
inline float f16_scalar(uint16_t h) { return _cvtsh_ss(h); }
inline uint16_t f16_from(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }
inline void stream_pd(double* p, __m512d v) { _mm512_stream_pd(p, v); }
#endif

inline __m256 fold256(__m512 v) {  // lanes i + (i + 8), as 8 lanes
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

inline float hsum_ps(__m512 v) {
    const __m256 h = fold256(v);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hmax_ps(__m512 v) {
    const __m256 h =
        _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m512i v) {
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

// ---- the traits -------------------------------------------------------------------------------------------

struct Avx512 {
    using F = __m512;   // 16 f32
    using D = __m512d;  // 8 f64
    static constexpr int W = 16, DW = 8;
    // Register blocking of the shared attention kernels (32 registers): scores 4 rows x 4 keys, weighted
    // sums 4 rows x 4 vectors, the naive weighted sum 8 vectors.
    static constexpr int ATT_ROWS = 4, ATT_COLS = 4, NAIVE_COLS = 8;
    // Float-weight quant tiles (rows x tokens): accumulators R*T + T activations + 1 weight within the registers.
    static constexpr int QUANT_ROWS = 4, QUANT_TOKS = 4;
    static constexpr int FMA_CHAINS = 12;  // >= 2 pipes x 4 cycles latency (Skylake-SP, Ice Lake, Zen 4)
    // f32 GEMM: 12 x 32 tile (24 accumulators, 2 for B, broadcasts from memory); A panel 12 x 256 x 4 B = 12 KiB
    // in L1, packed-B block 256 x 384 x 4 B = 384 KiB in L2.
    static constexpr int GEMM_MR = 12, GEMM_NRV = 2, GEMM_KC = 256, GEMM_MC = 480, GEMM_NC = 1536, GEMM_NC2 = 384;
    static constexpr bool STREAM_NT = true;
    static constexpr int STREAM_ALIGN = 64;  // a streaming store writes a whole line

    static F zero() { return _mm512_setzero_ps(); }
    static F set1(float x) { return _mm512_set1_ps(x); }
    static F load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
    static F add(F a, F b) { return _mm512_add_ps(a, b); }
    static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
    static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }  // a * b + c
    static F max(F a, F b) { return _mm512_max_ps(a, b); }
    static F fmas(F b, float a, F c) { return _mm512_fmadd_ps(_mm512_set1_ps(a), b, c); }  // a * b + c
    static float hsum(F v) { return hsum_ps(v); }
    static float hmax(F v) { return hmax_ps(v); }
    // out[0..3] = scale * (sum a, sum b, sum c, sum d)
    static void hsum4(F a, F b, F c, F d, float scale, float* out) {
        const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(fold256(a), fold256(b)), _mm256_hadd_ps(fold256(c), fold256(d)));
        const __m128 s = _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
        _mm_storeu_ps(out, _mm_mul_ps(s, _mm_set1_ps(scale)));
    }
    // r[i][k] -> r[k][i]: a 16 x 16 transposition in three rounds (pairs of rows within 128-bit lanes, quads,
    // then the lanes).
    static void transpose(F (&r)[16]) {
        F t[16], u[16];
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 4; ++i) {  // u[4i + c], lane L: column 4L + c of rows 4i .. 4i+3
            u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
            u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
            u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
            u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
        }
        for (int c = 0; c < 4; ++c) {
            const F x01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), x23 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
            const F y01 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
            const F y23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
            r[c] = _mm512_shuffle_f32x4(x01, y01, 0x88);
            r[4 + c] = _mm512_shuffle_f32x4(x01, y01, 0xDD);
            r[8 + c] = _mm512_shuffle_f32x4(x23, y23, 0x88);
            r[12 + c] = _mm512_shuffle_f32x4(x23, y23, 0xDD);
        }
    }
    // 16 halves widened.
    static F load_f16(const f16_t* p) {
        return cvt_f16x16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static F load_bf16(const uint16_t* p) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        return _mm512_castsi512_ps(_mm512_slli_epi32(cvt_u16_i32(h), 16));
    }
    // e^x for x <= 0, relative error about 2 ulp; underflows to 0 (through subnormals) below about -87.
    // x = n ln2 + r, e^r by Cephes' degree-6 polynomial, times 2^n by vscalefps.
    static F exp(F x) {
        x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.0f));  // -inf -> 0
        const F n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), VERSUS_ROUND_NEAREST);
        F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
        r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
        F p = _mm512_set1_ps(1.9875691500e-4f);
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
        p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
        return _mm512_scalef_ps(p, n);
    }

    static D dset1(double x) { return _mm512_set1_pd(x); }
    static D dload(const double* p) { return _mm512_loadu_pd(p); }
    static void dstore(double* p, D v) { _mm512_storeu_pd(p, v); }
    static void dstream(double* p, D v) { stream_pd(p, v); }
    static D dadd(D a, D b) { return _mm512_add_pd(a, b); }
    static D dmul(D a, D b) { return _mm512_mul_pd(a, b); }
    static void sfence() { _mm_sfence(); }
    static float first(F v) { return _mm_cvtss_f32(_mm512_castps512_ps128(v)); }
};

}  // namespace

}  // namespace versus::cpu::VERSUS_AVX512_NS
