// Contract: the AArch64 rungs. The file is built for base ARMv8-A (AdvSIMD is mandatory); the code that
// needs an extension carries a target attribute and kernels.cpp lists its rung only when the hwcaps in
// cpu_features() have it, so one binary runs on every aarch64 CPU:
//   "neon"              f32 FMLA for bf16 and f16 (both widened while packing: SHLL #16 and FCVTL, which
//                       are base ARMv8), int8 widened to int16 and multiplied long into int32 (SMLAL).
//   "neon-dotprod"      gemm_i8 with SDOT on int8 quads (FEAT_DotProd): signed x signed, no offset trick.
//   "neon-dotprod-bf16" gemm_bf16 with BFDOT on bf16 pairs (FEAT_BF16).
// gemm_f16 always widens to f32: FEAT_FP16 arithmetic would accumulate in half precision, which the API
// rules out, and FMLAL (FEAT_FHM) is not among the detected features.
// The attributes name armv8.2-a because GCC 12 declares those intrinsics for it; every CPU with
// FEAT_DotProd or FEAT_BF16 implements at least ARMv8.2-A.
//
// The blocked GEMM driver, the f32 micro-kernel (8 x 12 tiles), STREAM and the FMA loop are the shared ones
// (arch/gemm-driver.hpp) over the AdvSIMD traits (simd-neon.hpp); this file holds the int8 and bf16-dot
// micro-kernels (8 x 12 tiles, 8 x 8 for the int16 path).
#include "backend/cpu/arch/arm/simd-neon.hpp"
#include "backend/cpu/arch/gemm-driver.hpp"

namespace versus::cpu::neon {

namespace {

constexpr int MR = Neon::GEMM_MR, NR = Neon::GEMM_NRV * 4;
constexpr int KC = Neon::GEMM_KC, MC = Neon::GEMM_MC, NC = Neon::GEMM_NC, NC2 = Neon::GEMM_NC2;

// Stores (or adds) an 8 x 12 tile.
inline void store_tile(float32x4_t (&r)[MR][3], float* c, int ldc, bool accumulate) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        float* ci = c + size_t(i) * ldc;
#pragma GCC unroll 3
        for (int j = 0; j < 3; ++j) {
            if (accumulate) r[i][j] = vaddq_f32(r[i][j], vld1q_f32(ci + 4 * j));
            vst1q_f32(ci + 4 * j, r[i][j]);
        }
    }
}

inline void store_tile(int32x4_t (&r)[MR][3], int32_t* c, int ldc, bool accumulate) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        int32_t* ci = c + size_t(i) * ldc;
#pragma GCC unroll 3
        for (int j = 0; j < 3; ++j) {
            if (accumulate) r[i][j] = vaddq_s32(r[i][j], vld1q_s32(ci + 4 * j));
            vst1q_s32(ci + 4 * j, r[i][j]);
        }
    }
}

// ---- int8 on base NEON: int16 operands, SMLAL into int32 ---------------------------------------------

struct I8WideTraits {
    using In = int8_t;
    using Word = int16_t;
    using Out = int32_t;
    static constexpr int MR = 8, NR = 8, KW = 1;
    static constexpr int KC = 512, MC = 256, NC = 1536, NC2 = 256;  // int16: same bytes as f32 at KC 256
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }

    static void pack_a(const int8_t* src, int lda, int mv, int kk, int kw, int16_t* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(int16_t) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const int8_t* row = src + size_t(i) * lda;
            for (int p = 0; p < kk; ++p) dst[size_t(p) * MR + i] = row[p];
        }
    }

    static void pack_b(const int8_t* src, int ldb, int nv, int kk, int kw, int16_t* dst) {
        for (int p = 0; p < kk; ++p, dst += NR) {
            const int8_t* row = src + size_t(p) * ldb;
            if (nv == NR) {
                vst1q_s16(dst, vmovl_s8(vld1_s8(row)));
            } else {
                for (int j = 0; j < NR; ++j) dst[j] = j < nv ? row[j] : 0;
            }
        }
    }

    static void kernel(int kw, const int16_t* a, const int16_t* b, int32_t* c, int ldc, bool accumulate) {
        int32x4_t r[MR][2];
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = vdupq_n_s32(0);
        for (int p = 0; p < kw; ++p) {
            const int16x8_t bv = vld1q_s16(b);
#pragma GCC unroll 8
            for (int i = 0; i < MR; ++i) {
                r[i][0] = vmlal_n_s16(r[i][0], vget_low_s16(bv), a[i]);
                r[i][1] = vmlal_high_n_s16(r[i][1], bv, a[i]);
            }
            a += MR;
            b += NR;
        }
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            int32_t* ci = c + size_t(i) * ldc;
            if (accumulate) {
                r[i][0] = vaddq_s32(r[i][0], vld1q_s32(ci));
                r[i][1] = vaddq_s32(r[i][1], vld1q_s32(ci + 4));
            }
            vst1q_s32(ci, r[i][0]);
            vst1q_s32(ci + 4, r[i][1]);
        }
    }
};

// ---- packing into groups of KW consecutive k (sdot quads, bfdot pairs) --------------------------------

// A(mv, kk) -> dst(kw, 8) words of KW elements each, zero past kk and mv.
template <class E, int KW>
void pack_a_groups(const E* src, int lda, int mv, int kk, int kw, uint32_t* dst) {
    static_assert(sizeof(E) * KW == 4, "a word holds 4 bytes");
    if (mv < MR || kk < kw * KW) std::memset(dst, 0, sizeof(uint32_t) * size_t(kw) * MR);
    for (int i = 0; i < mv; ++i) {
        const E* row = src + size_t(i) * lda;
        int p = 0;
        for (; KW * p + KW <= kk; ++p) std::memcpy(&dst[size_t(p) * MR + i], row + KW * p, 4);
        if (KW * p < kk) std::memcpy(&dst[size_t(p) * MR + i], row + KW * p, sizeof(E) * size_t(kk - KW * p));
    }
}

// B(kk, nv) -> dst(kw, 12) words: column j's KW consecutive k side by side, zero past kk and nv.
template <class E, int KW>
void pack_b_groups(const E* src, int ldb, int nv, int kk, int kw, uint32_t* dst) {
    for (int p = 0; p < kw; ++p, dst += NR) {
        E group[NR][KW] = {};
        for (int t = 0; t < KW && KW * p + t < kk; ++t) {
            const E* row = src + size_t(KW * p + t) * ldb;
            for (int j = 0; j < nv; ++j) group[j][t] = row[j];
        }
        std::memcpy(dst, group, sizeof(group));
    }
}

// ---- int8 quads, SDOT ------------------------------------------------------------------------------

struct I8DotTraits {
    using In = int8_t;
    using Word = uint32_t;  // 4 consecutive k
    using Out = int32_t;
    static constexpr int MR = neon::MR, NR = neon::NR, KW = 4;
    static constexpr int KC = neon::KC, MC = neon::MC, NC = neon::NC, NC2 = neon::NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }
    static void pack_a(const int8_t* s, int ld, int mv, int kk, int kw, uint32_t* d) {
        pack_a_groups<int8_t, 4>(s, ld, mv, kk, kw, d);
    }
    static void pack_b(const int8_t* s, int ld, int nv, int kk, int kw, uint32_t* d) {
        pack_b_groups<int8_t, 4>(s, ld, nv, kk, kw, d);
    }

    __attribute__((target("arch=armv8.2-a+dotprod"))) static void kernel(int kw, const uint32_t* a, const uint32_t* b,
                                                                         int32_t* c, int ldc, bool accumulate) {
        int32x4_t r[MR][3];
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = r[i][2] = vdupq_n_s32(0);
        for (int p = 0; p < kw; ++p) {
            const int8x16_t b0 = vreinterpretq_s8_u32(vld1q_u32(b));
            const int8x16_t b1 = vreinterpretq_s8_u32(vld1q_u32(b + 4));
            const int8x16_t b2 = vreinterpretq_s8_u32(vld1q_u32(b + 8));
#pragma GCC unroll 8
            for (int i = 0; i < MR; ++i) {
                const int8x16_t ai = vreinterpretq_s8_u32(vld1q_dup_u32(a + i));
                r[i][0] = vdotq_s32(r[i][0], b0, ai);
                r[i][1] = vdotq_s32(r[i][1], b1, ai);
                r[i][2] = vdotq_s32(r[i][2], b2, ai);
            }
            a += MR;
            b += NR;
        }
        store_tile(r, c, ldc, accumulate);
    }
};

// ---- bf16 pairs, BFDOT -----------------------------------------------------------------------------

struct Bf16DotTraits {
    using In = uint16_t;
    using Word = uint32_t;  // 2 consecutive k
    using Out = float;
    static constexpr int MR = neon::MR, NR = neon::NR, KW = 2;
    static constexpr int KC = neon::KC, MC = neon::MC, NC = neon::NC, NC2 = neon::NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }
    static void pack_a(const uint16_t* s, int ld, int mv, int kk, int kw, uint32_t* d) {
        pack_a_groups<uint16_t, 2>(s, ld, mv, kk, kw, d);
    }
    static void pack_b(const uint16_t* s, int ld, int nv, int kk, int kw, uint32_t* d) {
        pack_b_groups<uint16_t, 2>(s, ld, nv, kk, kw, d);
    }

    __attribute__((target("arch=armv8.2-a+bf16"))) static void kernel(int kw, const uint32_t* a, const uint32_t* b,
                                                                      float* c, int ldc, bool accumulate) {
        float32x4_t r[MR][3];
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = r[i][2] = vdupq_n_f32(0.0f);
        for (int p = 0; p < kw; ++p) {
            const bfloat16x8_t b0 = vreinterpretq_bf16_u32(vld1q_u32(b));
            const bfloat16x8_t b1 = vreinterpretq_bf16_u32(vld1q_u32(b + 4));
            const bfloat16x8_t b2 = vreinterpretq_bf16_u32(vld1q_u32(b + 8));
#pragma GCC unroll 8
            for (int i = 0; i < MR; ++i) {
                const bfloat16x8_t ai = vreinterpretq_bf16_u32(vld1q_dup_u32(a + i));
                r[i][0] = vbfdotq_f32(r[i][0], b0, ai);
                r[i][1] = vbfdotq_f32(r[i][1], b1, ai);
                r[i][2] = vbfdotq_f32(r[i][2], b2, ai);
            }
            a += MR;
            b += NR;
        }
        store_tile(r, c, ldc, accumulate);
    }
};

void gemm_bf16(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<simd::WidenF32<Neon, true>>(M, N, K, A, B, C, pool);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<simd::WidenF32<Neon, false>>(M, N, K, A, B, C, pool);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    simd::gemm_run<I8WideTraits>(M, N, K, A, B, C, pool);
}

void gemm_i8_dot(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    simd::gemm_run<I8DotTraits>(M, N, K, A, B, C, pool);
}

void gemm_bf16_dot(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    simd::gemm_run<Bf16DotTraits>(M, N, K, A, B, C, pool);
}

constexpr KernelSet NEON = {
    /* .isa       = */ "neon",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ simd::Stream<Neon>::run,
    /* .fma_loop  = */ simd::fma_loop<Neon>,
};

constexpr KernelSet NEON_DOTPROD = {
    /* .isa       = */ "neon-dotprod",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ simd::Stream<Neon>::run,
    /* .fma_loop  = */ simd::fma_loop<Neon>,
};

constexpr KernelSet NEON_DOTPROD_BF16 = {
    /* .isa       = */ "neon-dotprod-bf16",
    /* .gemm_bf16 = */ gemm_bf16_dot,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ simd::Stream<Neon>::run,
    /* .fma_loop  = */ simd::fma_loop<Neon>,
};

}  // namespace

const KernelSet& rung() { return NEON; }
const KernelSet& rung_dotprod() { return NEON_DOTPROD; }
const KernelSet& rung_dotprod_bf16() { return NEON_DOTPROD_BF16; }

}  // namespace versus::cpu::neon
