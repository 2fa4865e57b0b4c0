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
// STREAM uses plain stores: AArch64 cores detect streaming writes and stop allocating on them (write
// streaming mode), and STNP is only a hint, so there is no non-temporal path to choose.
//
// GEMM blocking is the AVX2 rung's (see arch/x86/kernels-avx2.cpp); tiles are 8 x 12 (24 accumulators of
// the 32 vector registers), 8 x 8 for the int16 path.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu {

namespace detail {
void pool_run(ThreadPool& pool, void (*fn)(void* ctx, int thread, int n_threads), void* ctx);
void gemm_split(int M, int N, int mr, int nr, int thread, int n_threads, int out[4]);
void* thread_scratch(int slot, size_t bytes);
}  // namespace detail

namespace neon {

namespace {

inline int imin(int a, int b) { return a < b ? a : b; }
inline float add_out(float c, float r) { return c + r; }
inline int32_t add_out(int32_t c, int32_t r) { return int32_t(uint32_t(c) + uint32_t(r)); }  // wraps, no UB

// ---- blocked driver (as in the x86 rungs) ------------------------------------------------------------

template <class T>
struct GemmJob {
    int M, N, K;
    const typename T::In* A;  // (M, K)
    const typename T::In* B;  // (K, N)
    typename T::Out* C;  // (M, N)
};

template <class T>
void gemm_worker(void* ctx, int thread, int n_threads) {
    using W = typename T::Word;
    using Out = typename T::Out;
    constexpr int MR = T::MR, NR = T::NR, KW = T::KW;
    static_assert(T::MC % MR == 0 && T::NC % NR == 0 && T::NC2 % NR == 0, "blocks must hold whole tiles");
    const GemmJob<T>& g = *static_cast<const GemmJob<T>*>(ctx);
    int blk[4];
    detail::gemm_split(g.M, g.N, MR, NR, thread, n_threads, blk);
    const int m0 = blk[0], m1 = blk[1], n0 = blk[2], n1 = blk[3];
    if (m0 >= m1 || n0 >= n1) return;

    const int kw_all = (g.K + KW - 1) / KW;
    const int kc_max = imin(T::KC, kw_all);
    const int nc_max = imin(T::NC, n1 - n0), mc_max = imin(T::MC, m1 - m0);
    const size_t b_bytes = sizeof(W) * T::b_panel_words(kc_max) * size_t((nc_max + NR - 1) / NR);
    const size_t a_bytes = sizeof(W) * size_t(kc_max) * MR * size_t((mc_max + MR - 1) / MR);
    W* bbuf = static_cast<W*>(detail::thread_scratch(1, b_bytes));
    W* abuf = static_cast<W*>(detail::thread_scratch(0, a_bytes));
    alignas(64) Out edge[MR * NR];

    for (int jc = n0; jc < n1; jc += T::NC) {
        const int nc = imin(T::NC, n1 - jc);
        for (int pw = 0; pw < kw_all; pw += T::KC) {
            const int kw = imin(T::KC, kw_all - pw);
            const int k0 = pw * KW, kk = imin(g.K - k0, kw * KW);
            const size_t b_panel = T::b_panel_words(kw);
            for (int jr = 0; jr < nc; jr += NR) {
                T::pack_b(g.B + size_t(k0) * g.N + jc + jr, g.N, imin(NR, nc - jr), kk, kw,
                          bbuf + size_t(jr / NR) * b_panel);
            }
            for (int ic = m0; ic < m1; ic += T::MC) {
                const int mc = imin(T::MC, m1 - ic);
                for (int ir = 0; ir < mc; ir += MR) {
                    T::pack_a(g.A + size_t(ic + ir) * g.K + k0, g.K, imin(MR, mc - ir), kk, kw,
                              abuf + size_t(ir / MR) * kw * MR);
                }
                for (int j2 = 0; j2 < nc; j2 += T::NC2) {
                    const int j2_end = imin(nc, j2 + T::NC2);
                    for (int ir = 0; ir < mc; ir += MR) {
                        const W* a_panel = abuf + size_t(ir / MR) * kw * MR;
                        const int mr = imin(MR, mc - ir);
                        for (int jr = j2; jr < j2_end; jr += NR) {
                            const W* b_p = bbuf + size_t(jr / NR) * b_panel;
                            const int nr = imin(NR, nc - jr);
                            Out* c = g.C + size_t(ic + ir) * g.N + jc + jr;
                            if (mr == MR && nr == NR) {
                                T::kernel(kw, a_panel, b_p, c, g.N, pw > 0);
                                continue;
                            }
                            T::kernel(kw, a_panel, b_p, edge, NR, false);
                            for (int i = 0; i < mr; ++i) {
                                for (int j = 0; j < nr; ++j) {
                                    Out& dst = c[size_t(i) * g.N + j];
                                    dst = pw > 0 ? add_out(dst, edge[i * NR + j]) : edge[i * NR + j];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

template <class T>
void gemm_run(int M, int N, int K, const typename T::In* A, const typename T::In* B, typename T::Out* C,
              ThreadPool& pool) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        std::memset(C, 0, sizeof(typename T::Out) * size_t(M) * size_t(N));
        return;
    }
    GemmJob<T> job{M, N, K, A, B, C};
    // Below about a megaflop (tens of microseconds) waking the pool costs more than it saves.
    if (pool.size() == 1 || 2.0 * M * N * K < 1e6) {
        gemm_worker<T>(&job, 0, 1);
        return;
    }
    detail::pool_run(pool, gemm_worker<T>, &job);
}

// ---- shared tile shape and blocking ----------------------------------------------------------------

constexpr int MR = 8, NR = 12;
// KC k-words: A panel 8 x 256 x 4 B = 8 KiB in L1; packed-B block 256 x 252 x 4 B ~ 250 KiB in L2.
constexpr int KC = 256, MC = 256, NC = 1512, NC2 = 252;

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

// ---- f32 (bf16/f16 widened while packing) ----------------------------------------------------------

template <bool BF16>
inline float32x4_t widen4(const uint16_t* p) {
    const uint16x4_t h = vld1_u16(p);
    if constexpr (BF16) return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
}

template <bool BF16>
struct WidenTraits {
    using In = uint16_t;
    using Word = float;
    using Out = float;
    static constexpr int MR = neon::MR, NR = neon::NR, KW = 1;
    static constexpr int KC = neon::KC, MC = neon::MC, NC = neon::NC, NC2 = neon::NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }
    static float widen(uint16_t x) { return BF16 ? bf16_to_f32(x) : f16_to_f32(x); }

    static void pack_a(const uint16_t* src, int lda, int mv, int kk, int kw, float* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(float) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const uint16_t* row = src + size_t(i) * lda;
            int p = 0;
            for (; p + 4 <= kk; p += 4) {
                const float32x4_t v = widen4<BF16>(row + p);
                dst[size_t(p) * MR + i] = vgetq_lane_f32(v, 0);
                dst[size_t(p + 1) * MR + i] = vgetq_lane_f32(v, 1);
                dst[size_t(p + 2) * MR + i] = vgetq_lane_f32(v, 2);
                dst[size_t(p + 3) * MR + i] = vgetq_lane_f32(v, 3);
            }
            for (; p < kk; ++p) dst[size_t(p) * MR + i] = widen(row[p]);
        }
    }

    static void pack_b(const uint16_t* src, int ldb, int nv, int kk, int kw, float* dst) {
        for (int p = 0; p < kk; ++p, dst += NR) {
            const uint16_t* row = src + size_t(p) * ldb;
            if (nv == NR) {
                vst1q_f32(dst, widen4<BF16>(row));
                vst1q_f32(dst + 4, widen4<BF16>(row + 4));
                vst1q_f32(dst + 8, widen4<BF16>(row + 8));
            } else {
                for (int j = 0; j < nv; ++j) dst[j] = widen(row[j]);
                for (int j = nv; j < NR; ++j) dst[j] = 0.0f;
            }
        }
    }

    // c(8,12) (+)= a(kw,8)ᵀ · b(kw,12)
    static void kernel(int kw, const float* a, const float* b, float* c, int ldc, bool accumulate) {
        float32x4_t r[MR][3];
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = r[i][2] = vdupq_n_f32(0.0f);
        for (int p = 0; p < kw; ++p) {
            const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
#pragma GCC unroll 8
            for (int i = 0; i < MR; ++i) {
                r[i][0] = vfmaq_n_f32(r[i][0], b0, a[i]);
                r[i][1] = vfmaq_n_f32(r[i][1], b1, a[i]);
                r[i][2] = vfmaq_n_f32(r[i][2], b2, a[i]);
            }
            a += MR;
            b += NR;
        }
        store_tile(r, c, ldc, accumulate);
    }
};

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
    gemm_run<WidenTraits<true>>(M, N, K, A, B, C, pool);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    gemm_run<WidenTraits<false>>(M, N, K, A, B, C, pool);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    gemm_run<I8WideTraits>(M, N, K, A, B, C, pool);
}

void gemm_i8_dot(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    gemm_run<I8DotTraits>(M, N, K, A, B, C, pool);
}

void gemm_bf16_dot(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    gemm_run<Bf16DotTraits>(M, N, K, A, B, C, pool);
}

// ---- STREAM ----------------------------------------------------------------------------------------

struct StreamJob {
    StreamOp op;
    double* a;
    const double* b;
    const double* c;
    double s;
    size_t n;
};

template <StreamOp OP>
inline double stream_one(const double* b, const double* c, double s, size_t i) {
    if constexpr (OP == StreamOp::COPY) return b[i];
    if constexpr (OP == StreamOp::SCALE) return s * b[i];
    if constexpr (OP == StreamOp::ADD) return b[i] + c[i];
    return b[i] + s * c[i];
}

template <StreamOp OP>
inline float64x2_t stream_vec(const double* b, const double* c, float64x2_t s, size_t i) {
    if constexpr (OP == StreamOp::COPY) return vld1q_f64(b + i);
    if constexpr (OP == StreamOp::SCALE) return vmulq_f64(s, vld1q_f64(b + i));
    if constexpr (OP == StreamOp::ADD) return vaddq_f64(vld1q_f64(b + i), vld1q_f64(c + i));
    return vaddq_f64(vld1q_f64(b + i), vmulq_f64(s, vld1q_f64(c + i)));
}

template <StreamOp OP>
void stream_slice(double* a, const double* b, const double* c, double s, size_t lo, size_t hi) {
    const float64x2_t vs = vdupq_n_f64(s);
    size_t i = lo;
    for (; i + 8 <= hi; i += 8) {
        const float64x2_t x0 = stream_vec<OP>(b, c, vs, i), x1 = stream_vec<OP>(b, c, vs, i + 2);
        const float64x2_t x2 = stream_vec<OP>(b, c, vs, i + 4), x3 = stream_vec<OP>(b, c, vs, i + 6);
        vst1q_f64(a + i, x0);
        vst1q_f64(a + i + 2, x1);
        vst1q_f64(a + i + 4, x2);
        vst1q_f64(a + i + 6, x3);
    }
    for (; i < hi; ++i) a[i] = stream_one<OP>(b, c, s, i);
}

void stream_worker(void* ctx, int t, int n_threads) {
    const StreamJob& j = *static_cast<const StreamJob*>(ctx);
    // A fixed contiguous slice per thread (whole cache lines), so pages stay with their first toucher.
    const size_t chunk = ((j.n + size_t(n_threads) - 1) / size_t(n_threads) + 7) & ~size_t{7};
    size_t lo = chunk * size_t(t), hi = lo + chunk;
    lo = lo < j.n ? lo : j.n;
    hi = hi < j.n ? hi : j.n;
    switch (j.op) {
        case StreamOp::COPY: stream_slice<StreamOp::COPY>(j.a, j.b, j.c, j.s, lo, hi); break;
        case StreamOp::SCALE: stream_slice<StreamOp::SCALE>(j.a, j.b, j.c, j.s, lo, hi); break;
        case StreamOp::ADD: stream_slice<StreamOp::ADD>(j.a, j.b, j.c, j.s, lo, hi); break;
        case StreamOp::TRIAD: stream_slice<StreamOp::TRIAD>(j.a, j.b, j.c, j.s, lo, hi); break;
    }
}

void stream(StreamOp op, double* a, const double* b, const double* c, double s, size_t n, ThreadPool& pool) {
    StreamJob job{op, a, b, c, s, n};
    if (pool.size() == 1 || n < 16384) {  // under 128 KiB per array the pool's wake-up dominates
        stream_worker(&job, 0, 1);
        return;
    }
    detail::pool_run(pool, stream_worker, &job);
}

// ---- peak FMA --------------------------------------------------------------------------------------

constexpr int FMA_CHAINS = 16;  // 4 FMA pipes x 4 cycles (Apple M, Neoverse V) ; 2 x 4 on Cortex-A7x

double fma_loop(int64_t iters) {
    float32x4_t x[FMA_CHAINS];
#pragma GCC unroll 16
    for (int i = 0; i < FMA_CHAINS; ++i) x[i] = vdupq_n_f32(0.05f * float(i + 1));
    const float32x4_t m = vdupq_n_f32(0.999f), d = vdupq_n_f32(0.001f);  // x -> 1, never overflows
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
        for (int i = 0; i < FMA_CHAINS; ++i) x[i] = vfmaq_f32(d, x[i], m);
    }
    float32x4_t sum = x[0];
#pragma GCC unroll 16
    for (int i = 1; i < FMA_CHAINS; ++i) sum = vaddq_f32(sum, x[i]);
    volatile float sink = vgetq_lane_f32(sum, 0);  // keeps every chain live
    (void)sink;
    return double(iters) * FMA_CHAINS * 4 * 2;
}

constexpr KernelSet NEON = {
    /* .isa       = */ "neon",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

constexpr KernelSet NEON_DOTPROD = {
    /* .isa       = */ "neon-dotprod",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

constexpr KernelSet NEON_DOTPROD_BF16 = {
    /* .isa       = */ "neon-dotprod-bf16",
    /* .gemm_bf16 = */ gemm_bf16_dot,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

}  // namespace

const KernelSet& rung() { return NEON; }
const KernelSet& rung_dotprod() { return NEON_DOTPROD; }
const KernelSet& rung_dotprod_bf16() { return NEON_DOTPROD_BF16; }

}  // namespace neon

}  // namespace versus::cpu
