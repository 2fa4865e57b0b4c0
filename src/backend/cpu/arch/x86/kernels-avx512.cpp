// Contract: the AVX-512 rungs of the kernel ladder. Built with -mavx512{f,bw,vl,dq,vnni,bf16} -mfma -mf16c;
// rungs.cpp lists each rung only when cpu_features() has every extension it executes:
//   "avx512"           F/BW/VL/DQ (+FMA, F16C): bf16 and f16 widened to f32 while packing, then f32 FMA;
//                      int8 widened to int16 pairs, then vpmaddwd (exact, no saturation).
//   "avx512-vnni"      adds AVX512-VNNI: gemm_i8 runs vpdpbusd on int8 quads (Cascade Lake, Ice Lake).
//   "avx512-vnni-bf16" adds AVX512-BF16 too: gemm_bf16 runs vdpbf16ps on bf16 pairs, two products per f32 lane
//                      per instruction (Cooper Lake, Zen 4, Sapphire Rapids).
// f16, STREAM and fma_loop are the same code in all three: the shared driver (arch/gemm-driver.hpp) over the
// AVX-512 traits (simd-avx512.hpp), as is the blocked driver of every GEMM; this file holds the int8 and bf16
// micro-kernels, 12 x 32 register tiles (24 zmm accumulators).
//
// vpdpbusd multiplies unsigned by signed bytes, so A is stored as a+128 (a ^ 0x80) and each tile subtracts
// 128 * (column sums of B over the K block) at the end: Σ(a+128)b - 128Σb = Σab. The int32 lanes wrap
// (they are modular), so intermediate values may overflow as long as the true result fits: exact for
// K <= 133144 with inputs in [-127, 127]. -128 is excluded by the API because other rungs (int16 pair
// sums on NEON) would overflow with it.
//
// Test build: compiled a second time against SIMDe as namespace avx512_simde (see simd-avx512.hpp).
#include "backend/cpu/arch/x86/simd-avx512.hpp"
#include "backend/cpu/arch/gemm-driver.hpp"

namespace versus::cpu::VERSUS_AVX512_NS {

namespace {

constexpr int GEMM_MR = Avx512::GEMM_MR;

template <class V>
inline __m512bh as_bh(V v) {  // a bit cast; compiles to nothing
    __m512bh r;
    std::memcpy(&r, &v, sizeof(r));
    return r;
}

// Stores (or adds) a 12 x 32 tile of f32 or int32 lanes.
inline void store_tile(__m512 (&r)[GEMM_MR][2], float* c, int ldc, bool accumulate) {
#pragma GCC unroll 12
    for (int i = 0; i < GEMM_MR; ++i) {
        float* ci = c + size_t(i) * ldc;
        if (accumulate) {
            r[i][0] = _mm512_add_ps(r[i][0], _mm512_loadu_ps(ci));
            r[i][1] = _mm512_add_ps(r[i][1], _mm512_loadu_ps(ci + 16));
        }
        _mm512_storeu_ps(ci, r[i][0]);
        _mm512_storeu_ps(ci + 16, r[i][1]);
    }
}

inline void store_tile(__m512i (&r)[GEMM_MR][2], int32_t* c, int ldc, bool accumulate) {
#pragma GCC unroll 12
    for (int i = 0; i < GEMM_MR; ++i) {
        int32_t* ci = c + size_t(i) * ldc;
        if (accumulate) {
            r[i][0] = _mm512_add_epi32(r[i][0], _mm512_loadu_si512(ci));
            r[i][1] = _mm512_add_epi32(r[i][1], _mm512_loadu_si512(ci + 16));
        }
        _mm512_storeu_si512(ci, r[i][0]);
        _mm512_storeu_si512(ci + 16, r[i][1]);
    }
}

// ---- int8 without VNNI: int16 pairs, vpmaddwd --------------------------------------------------------

inline uint32_t i16_pair(int8_t lo, int8_t hi) {
    return uint32_t(uint16_t(int16_t(lo))) | uint32_t(uint16_t(int16_t(hi))) << 16;
}

struct I8PairTraits {
    using In = int8_t;
    using Word = uint32_t;  // (int16 a[k], int16 a[k+1])
    using Out = int32_t;
    static constexpr int MR = Avx512::GEMM_MR, NR = Avx512::GEMM_NRV * 16, KW = 2;
    static constexpr int KC = Avx512::GEMM_KC, MC = Avx512::GEMM_MC, NC = Avx512::GEMM_NC, NC2 = Avx512::GEMM_NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }

    static void pack_a(const int8_t* src, int lda, int mv, int kk, int kw, uint32_t* dst) {
        if (mv < MR || kk < kw * KW) std::memset(dst, 0, sizeof(uint32_t) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const int8_t* row = src + size_t(i) * lda;
            int p = 0;
            for (; 2 * p + 1 < kk; ++p) dst[size_t(p) * MR + i] = i16_pair(row[2 * p], row[2 * p + 1]);
            if (2 * p < kk) dst[size_t(p) * MR + i] = i16_pair(row[2 * p], 0);
        }
    }

    static void pack_b(const int8_t* src, int ldb, int nv, int kk, int kw, uint32_t* dst) {
        for (int p = 0; p < kw; ++p, dst += NR) {
            const int k = 2 * p;  // < kk always: kw = ceil(kk / 2)
            const bool has1 = k + 1 < kk;
            const int8_t* r0 = src + size_t(k) * ldb;
            const int8_t* r1 = has1 ? r0 + ldb : r0;
            if (nv == NR && has1) {
                for (int h = 0; h < 2; ++h) {  // 16 columns at a time: interleave rows, sign-extend to int16
                    const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 16 * h));
                    const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + 16 * h));
                    const __m256i lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1));
                    const __m256i hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1));
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16 * h), lo);
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16 * h + 8), hi);
                }
                continue;
            }
            for (int j = 0; j < NR; ++j) dst[j] = j < nv ? i16_pair(r0[j], has1 ? r1[j] : int8_t(0)) : 0u;
        }
    }

    static void kernel(int kw, const uint32_t* a, const uint32_t* b, int32_t* c, int ldc, bool accumulate) {
        __m512i r[MR][2];
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm512_setzero_si512();
        for (int p = 0; p < kw; ++p) {
            const __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 16);
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                const __m512i ai = _mm512_set1_epi32(int(a[i]));
                r[i][0] = _mm512_add_epi32(r[i][0], madd_i16(ai, b0));
                r[i][1] = _mm512_add_epi32(r[i][1], madd_i16(ai, b1));
            }
            a += MR;
            b += NR;
        }
        store_tile(r, c, ldc, accumulate);
    }
};

// ---- bf16 pairs, vdpbf16ps ---------------------------------------------------------------------------

struct Bf16DotTraits {
    using In = uint16_t;
    using Word = uint32_t;  // (bf16 x[k], bf16 x[k+1]): the pair vdpbf16ps multiplies and adds per lane
    using Out = float;
    static constexpr int MR = Avx512::GEMM_MR, NR = Avx512::GEMM_NRV * 16, KW = 2;
    static constexpr int KC = Avx512::GEMM_KC, MC = Avx512::GEMM_MC, NC = Avx512::GEMM_NC, NC2 = Avx512::GEMM_NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }

    static void pack_a(const uint16_t* src, int lda, int mv, int kk, int kw, uint32_t* dst) {
        if (mv < MR || kk < kw * KW) std::memset(dst, 0, sizeof(uint32_t) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const uint16_t* row = src + size_t(i) * lda;
            int p = 0;
            for (; 2 * p + 1 < kk; ++p) std::memcpy(&dst[size_t(p) * MR + i], row + 2 * p, 4);
            if (2 * p < kk) dst[size_t(p) * MR + i] = row[2 * p];
        }
    }

    static void pack_b(const uint16_t* src, int ldb, int nv, int kk, int kw, uint32_t* dst) {
        for (int p = 0; p < kw; ++p, dst += NR) {
            const int k = 2 * p;  // < kk always
            const bool has1 = k + 1 < kk;
            const uint16_t* r0 = src + size_t(k) * ldb;
            const uint16_t* r1 = has1 ? r0 + ldb : r0;
            if (nv == NR && has1) {
                for (int h = 0; h < 4; ++h) {  // 8 columns at a time: interleave rows k and k+1
                    const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 8 * h));
                    const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + 8 * h));
                    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8 * h), _mm_unpacklo_epi16(x0, x1));
                    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8 * h + 4), _mm_unpackhi_epi16(x0, x1));
                }
                continue;
            }
            for (int j = 0; j < NR; ++j) dst[j] = j < nv ? uint32_t(r0[j]) | uint32_t(has1 ? r1[j] : 0) << 16 : 0u;
        }
    }

    static void kernel(int kw, const uint32_t* a, const uint32_t* b, float* c, int ldc, bool accumulate) {
        __m512 r[MR][2];
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm512_setzero_ps();
        for (int p = 0; p < kw; ++p) {
            const __m512bh b0 = as_bh(_mm512_loadu_si512(b)), b1 = as_bh(_mm512_loadu_si512(b + 16));
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                const __m512bh ai = as_bh(_mm512_set1_epi32(int(a[i])));
                r[i][0] = _mm512_dpbf16_ps(r[i][0], ai, b0);
                r[i][1] = _mm512_dpbf16_ps(r[i][1], ai, b1);
            }
            a += MR;
            b += NR;
        }
        store_tile(r, c, ldc, accumulate);
    }
};

// ---- int8 quads, vpdpbusd ----------------------------------------------------------------------------

struct I8DotTraits {
    using In = int8_t;
    using Word = uint32_t;  // 4 consecutive k: A as a+128 (unsigned), B as is (signed)
    using Out = int32_t;
    static constexpr int MR = Avx512::GEMM_MR, NR = Avx512::GEMM_NRV * 16, KW = 4;
    static constexpr int KC = Avx512::GEMM_KC, MC = Avx512::GEMM_MC, NC = Avx512::GEMM_NC, NC2 = Avx512::GEMM_NC2;
    // Each B panel ends with the NR column sums of its K block, for the +128 correction.
    static size_t b_panel_words(int kw) { return size_t(kw) * NR + NR; }

    static void pack_a(const int8_t* src, int lda, int mv, int kk, int kw, uint32_t* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(uint32_t) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const int8_t* row = src + size_t(i) * lda;
            int p = 0;
            for (; 4 * p + 3 < kk; ++p) {
                uint32_t w;
                std::memcpy(&w, row + 4 * p, 4);
                dst[size_t(p) * MR + i] = w ^ 0x80808080u;
            }
            if (4 * p < kk) {  // partial quad: B is zero past kk, so these bytes only need to exist
                uint8_t q[4] = {0x80, 0x80, 0x80, 0x80};
                for (int t = 0; 4 * p + t < kk; ++t) q[t] = uint8_t(row[4 * p + t]) ^ 0x80u;
                std::memcpy(&dst[size_t(p) * MR + i], q, 4);
            }
        }
    }

    static void pack_b(const int8_t* src, int ldb, int nv, int kk, int kw, uint32_t* dst) {
        int32_t* sums = reinterpret_cast<int32_t*>(dst + size_t(kw) * NR);
        if (nv == NR) {
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            const __m512i ones = _mm512_set1_epi8(1);
            for (int p = 0; p < kw; ++p, dst += NR) {
                const int k = 4 * p;
                if (k + 3 < kk) {
                    const int8_t* r0 = src + size_t(k) * ldb;
                    for (int h = 0; h < 2; ++h) {  // 16 columns at a time: byte-interleave four rows
                        const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 16 * h));
                        const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + ldb + 16 * h));
                        const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 2 * ldb + 16 * h));
                        const __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 3 * ldb + 16 * h));
                        const __m128i x01l = _mm_unpacklo_epi8(x0, x1), x01h = _mm_unpackhi_epi8(x0, x1);
                        const __m128i x23l = _mm_unpacklo_epi8(x2, x3), x23h = _mm_unpackhi_epi8(x2, x3);
                        __m128i* d = reinterpret_cast<__m128i*>(dst + 16 * h);
                        _mm_storeu_si128(d + 0, _mm_unpacklo_epi16(x01l, x23l));
                        _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(x01l, x23l));
                        _mm_storeu_si128(d + 2, _mm_unpacklo_epi16(x01h, x23h));
                        _mm_storeu_si128(d + 3, _mm_unpackhi_epi16(x01h, x23h));
                    }
                } else {
                    for (int j = 0; j < NR; ++j) {
                        uint8_t q[4] = {0, 0, 0, 0};
                        for (int t = 0; k + t < kk; ++t) q[t] = uint8_t(src[size_t(k + t) * ldb + j]);
                        std::memcpy(&dst[j], q, 4);
                    }
                }
                // Column sums of the quads just packed, by the same instruction: 1 x b summed over 4 bytes.
                s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_loadu_si512(dst));
                s1 = _mm512_dpbusd_epi32(s1, ones, _mm512_loadu_si512(dst + 16));
            }
            _mm512_storeu_si512(sums, s0);
            _mm512_storeu_si512(sums + 16, s1);
            return;
        }
        for (int j = 0; j < NR; ++j) sums[j] = 0;
        for (int p = 0; p < kw; ++p, dst += NR) {
            const int k = 4 * p;
            for (int j = 0; j < NR; ++j) {
                uint8_t q[4] = {0, 0, 0, 0};
                if (j < nv) {
                    for (int t = 0; k + t < kk && t < 4; ++t) {
                        const int8_t v = src[size_t(k + t) * ldb + j];
                        q[t] = uint8_t(v);
                        sums[j] += v;
                    }
                }
                std::memcpy(&dst[j], q, 4);
            }
        }
    }

    static void kernel(int kw, const uint32_t* a, const uint32_t* b, int32_t* c, int ldc, bool accumulate) {
        __m512i r[MR][2];
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm512_setzero_si512();
        for (int p = 0; p < kw; ++p) {
            const __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 16);
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                const __m512i ai = _mm512_set1_epi32(int(a[i]));
                r[i][0] = _mm512_dpbusd_epi32(r[i][0], ai, b0);
                r[i][1] = _mm512_dpbusd_epi32(r[i][1], ai, b1);
            }
            a += MR;
            b += NR;
        }
        // b now points at the column sums: remove the +128 on A.
        const __m512i k0 = _mm512_slli_epi32(_mm512_loadu_si512(b), 7);
        const __m512i k1 = _mm512_slli_epi32(_mm512_loadu_si512(b + 16), 7);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            r[i][0] = _mm512_sub_epi32(r[i][0], k0);
            r[i][1] = _mm512_sub_epi32(r[i][1], k1);
        }
        store_tile(r, c, ldc, accumulate);
    }
};

void gemm_bf16(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<simd::WidenF32<Avx512, true>>(M, N, K, A, B, C, pool);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<simd::WidenF32<Avx512, false>>(M, N, K, A, B, C, pool);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    simd::gemm_run<I8PairTraits>(M, N, K, A, B, C, pool);
}

void gemm_bf16_dot(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<Bf16DotTraits>(M, N, K, A, B, C, pool);
}

void gemm_i8_dot(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    simd::gemm_run<I8DotTraits>(M, N, K, A, B, C, pool);
}

constexpr KernelSet AVX512 = {
    /* .isa       = */ VERSUS_AVX512_NAME("avx512"),
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ simd::Stream<Avx512>::run,
    /* .fma_loop  = */ simd::fma_loop<Avx512>,
};

constexpr KernelSet AVX512_VNNI = {
    /* .isa       = */ VERSUS_AVX512_NAME("avx512-vnni"),
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ simd::Stream<Avx512>::run,
    /* .fma_loop  = */ simd::fma_loop<Avx512>,
};

constexpr KernelSet AVX512_VNNI_BF16 = {
    /* .isa       = */ VERSUS_AVX512_NAME("avx512-vnni-bf16"),
    /* .gemm_bf16 = */ gemm_bf16_dot,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ simd::Stream<Avx512>::run,
    /* .fma_loop  = */ simd::fma_loop<Avx512>,
};

}  // namespace

const KernelSet& rung() { return AVX512; }
const KernelSet& rung_vnni() { return AVX512_VNNI; }
const KernelSet& rung_vnni_bf16() { return AVX512_VNNI_BF16; }

}  // namespace versus::cpu::VERSUS_AVX512_NS
