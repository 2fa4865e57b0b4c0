// simd-avx2: the AVX2 vector traits (AVX2 + FMA + F16C) the shared drivers are written over (arch/*.hpp),
// and the few operations the AVX2 micro-kernels share. Included only by files built with -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu::avx2 {

namespace {

inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hmax_ps(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

struct Avx2 {
    using F = __m256;   // 8 f32
    using D = __m256d;  // 4 f64
    static constexpr int W = 8, DW = 4;
    // Register blocking of the shared attention kernels (16 registers): scores 2 rows x 4 keys, weighted
    // sums 2 rows x 4 vectors, the naive weighted sum 8 vectors.
    static constexpr int ATT_ROWS = 2, ATT_COLS = 4, NAIVE_COLS = 8;
    // Float-weight quant tiles (rows x tokens): accumulators R*T + T activations + 1 weight within the registers.
    static constexpr int QUANT_ROWS = 4, QUANT_TOKS = 2;
    static constexpr int FMA_CHAINS = 12;  // >= 2 pipes x 5 cycles latency (Zen 1-3, Haswell), with slack
    // f32 GEMM: 6 x 16 tile (12 accumulators, 2 for B, 1 broadcast); A panel 6 KiB in L1, B block 256 KiB in L2.
    static constexpr int GEMM_MR = 6, GEMM_NRV = 2, GEMM_KC = 256, GEMM_MC = 384, GEMM_NC = 2048, GEMM_NC2 = 256;
    static constexpr bool STREAM_NT = true;
    static constexpr int STREAM_ALIGN = 32;

    static F zero() { return _mm256_setzero_ps(); }
    static F set1(float x) { return _mm256_set1_ps(x); }
    static F load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
    static F add(F a, F b) { return _mm256_add_ps(a, b); }
    static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }  // a * b + c
    static F max(F a, F b) { return _mm256_max_ps(a, b); }
    static F fmas(F b, float a, F c) { return _mm256_fmadd_ps(_mm256_set1_ps(a), b, c); }  // a * b + c
    static float hsum(F v) { return hsum_ps(v); }
    static float hmax(F v) { return hmax_ps(v); }
    // out[0..3] = scale * (sum a, sum b, sum c, sum d)
    static void hsum4(F a, F b, F c, F d, float scale, float* out) {
        const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
        const __m128 s = _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
        _mm_storeu_ps(out, _mm_mul_ps(s, _mm_set1_ps(scale)));
    }
    // r[i][k] -> r[k][i]: an 8 x 8 transposition (pairs of rows within 128-bit lanes, quads, then the lanes).
    static void transpose(F (&r)[8]) {
        F t[8], u[8];
        for (int i = 0; i < 4; ++i) {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 2; ++i) {  // u[4i + c], lane L: column 4L + c of rows 4i .. 4i+3
            u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
            u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
            u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
            u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
        }
        for (int c = 0; c < 4; ++c) {
            r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
            r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
        }
    }
    // 8 halves widened.
    static F load_f16(const f16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static F load_bf16(const uint16_t* p) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    // e^x for x <= 0 (a score minus a running max), relative error about 2 ulp; exactly 0 below -87 and for
    // -inf. Cephes' expf: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n built in the
    // exponent.
    static F exp(F x) {
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

    static D dset1(double x) { return _mm256_set1_pd(x); }
    static D dload(const double* p) { return _mm256_loadu_pd(p); }
    static void dstore(double* p, D v) { _mm256_storeu_pd(p, v); }
    static void dstream(double* p, D v) { _mm256_stream_pd(p, v); }
    static D dadd(D a, D b) { return _mm256_add_pd(a, b); }
    static D dmul(D a, D b) { return _mm256_mul_pd(a, b); }
    static void sfence() { _mm_sfence(); }
    static float first(F v) { return _mm256_cvtss_f32(v); }
};

}  // namespace

}  // namespace versus::cpu::avx2
