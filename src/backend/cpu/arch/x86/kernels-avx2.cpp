// Contract: the AVX2 rung of the kernel ladder (AVX2 + FMA + F16C; Haswell, Zen 1 and later). Built with
// -mavx2 -mfma -mf16c and only called once rungs.cpp has seen those features in cpu_features().
//
// The blocked GEMM driver, the f32 micro-kernel (bf16/f16 widened while packing), STREAM and the FMA loop
// are the shared ones (arch/gemm-driver.hpp) over the AVX2 traits (simd-avx2.hpp); this file holds what only
// AVX2 does: the int8 micro-kernel, operands widened to int16 pairs and multiplied by vpmaddwd.
#include "backend/cpu/arch/x86/simd-avx2.hpp"
#include "backend/cpu/arch/gemm-driver.hpp"

namespace versus::cpu::avx2 {

namespace {

// ---- int8: operands widened to int16 pairs, vpmaddwd into int32 (exact: |pair sum| <= 2*127^2) ------

struct I8Traits {
    using In = int8_t;
    using Word = uint32_t;  // two int16: k even in the low half, k odd in the high half
    using Out = int32_t;
    static constexpr int MR = 6, NR = 16, KW = 2;
    static constexpr int KC = Avx2::GEMM_KC, MC = Avx2::GEMM_MC, NC = Avx2::GEMM_NC, NC2 = Avx2::GEMM_NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }

    static uint32_t pair(int8_t lo, int8_t hi) {
        return uint32_t(uint16_t(int16_t(lo))) | uint32_t(uint16_t(int16_t(hi))) << 16;
    }

    static void pack_a(const int8_t* src, int lda, int mv, int kk, int kw, uint32_t* dst) {
        if (mv < MR || kk < kw * KW) std::memset(dst, 0, sizeof(uint32_t) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const int8_t* row = src + size_t(i) * lda;
            int p = 0;
            for (; 2 * p + 1 < kk; ++p) dst[size_t(p) * MR + i] = pair(row[2 * p], row[2 * p + 1]);
            if (2 * p < kk) dst[size_t(p) * MR + i] = pair(row[2 * p], 0);
        }
    }

    static void pack_b(const int8_t* src, int ldb, int nv, int kk, int kw, uint32_t* dst) {
        for (int p = 0; p < kw; ++p, dst += NR) {
            const int k = 2 * p;
            const bool has1 = k + 1 < kk;  // k < kk always holds: kw = ceil(kk / 2)
            const int8_t* r0 = src + size_t(k) * ldb;
            const int8_t* r1 = has1 ? r0 + ldb : r0;
            if (nv == NR && has1) {
                const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0));
                const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1));
                // Interleave k and k+1 per column, then sign-extend bytes to int16: (b[k][j], b[k+1][j]).
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1)));
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8),
                                    _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1)));
                continue;
            }
            for (int j = 0; j < NR; ++j) {
                const bool in = j < nv && k < kk;
                dst[j] = in ? pair(r0[j], has1 ? r1[j] : int8_t(0)) : 0u;
            }
        }
    }

    static void kernel(int kw, const uint32_t* a, const uint32_t* b, int32_t* c, int ldc, bool accumulate) {
        __m256i r[MR][2];
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int p = 0; p < kw; ++p) {
            const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
            const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 8));
#pragma GCC unroll 6
            for (int i = 0; i < MR; ++i) {
                const __m256i ai = _mm256_set1_epi32(int(a[i]));
                r[i][0] = _mm256_add_epi32(r[i][0], _mm256_madd_epi16(ai, b0));
                r[i][1] = _mm256_add_epi32(r[i][1], _mm256_madd_epi16(ai, b1));
            }
            a += MR;
            b += NR;
        }
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            __m256i* ci = reinterpret_cast<__m256i*>(c + size_t(i) * ldc);
            if (accumulate) {
                r[i][0] = _mm256_add_epi32(r[i][0], _mm256_loadu_si256(ci));
                r[i][1] = _mm256_add_epi32(r[i][1], _mm256_loadu_si256(ci + 1));
            }
            _mm256_storeu_si256(ci, r[i][0]);
            _mm256_storeu_si256(ci + 1, r[i][1]);
        }
    }
};

void gemm_bf16(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<simd::WidenF32<Avx2, true>>(M, N, K, A, B, C, pool);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<simd::WidenF32<Avx2, false>>(M, N, K, A, B, C, pool);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    simd::gemm_run<I8Traits>(M, N, K, A, B, C, pool);
}

constexpr KernelSet AVX2 = {
    /* .isa       = */ "avx2",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ simd::Stream<Avx2>::run,
    /* .fma_loop  = */ simd::fma_loop<Avx2>,
};

}  // namespace

const KernelSet& rung() { return AVX2; }

}  // namespace versus::cpu::avx2
