// Contract: the two AVX-512 rungs. Built with -mavx512{f,bw,vl,dq,vnni,bf16} -mfma -mf16c; kernels.cpp
// lists each rung only when cpu_features() has every extension it executes:
//   "avx512"           F/BW/VL/DQ (+FMA, F16C): bf16 and f16 widened to f32 while packing, then f32 FMA;
//                      int8 widened to int16 pairs, then vpmaddwd (exact, no saturation).
//   "avx512-vnni-bf16" adds AVX512-BF16 and AVX512-VNNI: gemm_bf16 runs vdpbf16ps on bf16 pairs (two
//                      products per f32 lane per instruction), gemm_i8 runs vpdpbusd on int8 quads.
// f16, STREAM and fma_loop are the same code in both.
//
// vpdpbusd multiplies unsigned by signed bytes, so A is stored as a+128 (a ^ 0x80) and each tile subtracts
// 128 * (column sums of B over the K block) at the end: Σ(a+128)b - 128Σb = Σab. The int32 lanes wrap
// (they are modular), so intermediate values may overflow as long as the true result fits: exact for
// K <= 133144 with inputs in [-127, 127]. -128 is excluded by the API because other rungs (int16 pair
// sums on NEON) would overflow with it.
//
// GEMM blocking is the AVX2 rung's (see there), with a 12 x 32 register tile (24 zmm accumulators).
//
// Test build: with VERSUS_KERNELS_AVX512_SIMDE the file is compiled a second time, without -mavx512*,
// against SIMDe's portable AVX-512, as namespace avx512_simde with rungs named "*-simde", so that CPUs
// without AVX-512 still run this code's logic in the tests.
#if defined(VERSUS_KERNELS_AVX512_SIMDE)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#define VERSUS_AVX512_NS avx512_simde
#define VERSUS_AVX512_NAME(name) name "-simde"
#else
#include <immintrin.h>
// GCC 12's AVX-512 headers initialise their "undefined" vectors from themselves (GCC bug 105593), which
// warns at every inlined use of e.g. _mm512_slli_epi32; the warning is about the header, not this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define VERSUS_AVX512_NS avx512
#define VERSUS_AVX512_NAME(name) name
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu {

namespace detail {
void pool_run(ThreadPool& pool, void (*fn)(void* ctx, int thread, int n_threads), void* ctx);
void gemm_split(int M, int N, int mr, int nr, int thread, int n_threads, int out[4]);
void* thread_scratch(int slot, size_t bytes);
bool stream_use_nt(size_t bytes_touched);
}  // namespace detail

namespace VERSUS_AVX512_NS {

namespace {

// ---- the few operations SIMDe lacks ----------------------------------------------------------------

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
inline __m512 cvt_f16x16(__m256i h) {
    uint16_t in[16];
    float out[16];
    std::memcpy(in, &h, sizeof(in));
    for (int i = 0; i < 16; ++i) out[i] = f16_to_f32(in[i]);
    return _mm512_loadu_ps(out);
}
inline __m512 cvt_bf16x16(__m256i h) {
    uint16_t in[16];
    uint32_t out[16];
    std::memcpy(in, &h, sizeof(in));
    for (int i = 0; i < 16; ++i) out[i] = uint32_t(in[i]) << 16;
    return _mm512_loadu_ps(reinterpret_cast<const float*>(out));
}
inline void stream_store(double* p, __m512d v) { _mm512_storeu_pd(p, v); }
// SIMDe 0.7.4 maps the native name to the masked form by mistake.
inline __m512i madd_i16(__m512i a, __m512i b) { return simde_mm512_madd_epi16(a, b); }
#else
inline __m512 cvt_f16x16(__m256i h) { return _mm512_cvtph_ps(h); }
inline __m512 cvt_bf16x16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
inline void stream_store(double* p, __m512d v) { _mm512_stream_pd(p, v); }
inline __m512i madd_i16(__m512i a, __m512i b) { return _mm512_madd_epi16(a, b); }
#endif

template <class V>
inline __m512bh as_bh(V v) {  // a bit cast; compiles to nothing
    __m512bh r;
    std::memcpy(&r, &v, sizeof(r));
    return r;
}

inline int imin(int a, int b) { return a < b ? a : b; }
inline float add_out(float c, float r) { return c + r; }
inline int32_t add_out(int32_t c, int32_t r) { return int32_t(uint32_t(c) + uint32_t(r)); }  // wraps, no UB

// ---- blocked driver (as in the AVX2 rung) ------------------------------------------------------------

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

constexpr int MR = 12, NR = 32;  // 24 zmm accumulators, 2 for B, broadcasts from memory
// KC k-words: the A panel (12 x 256 x 4 B = 12 KiB) stays in L1; the packed-B block of NC2 columns
// (256 x 384 x 4 B = 384 KiB) in L2; A blocks of MC rows and B blocks of NC columns in L3.
constexpr int KC = 256, MC = 480, NC = 1536, NC2 = 384;

// Stores (or adds) a 12 x 32 tile of f32 or int32 lanes.
inline void store_tile(__m512 (&r)[MR][2], float* c, int ldc, bool accumulate) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
        float* ci = c + size_t(i) * ldc;
        if (accumulate) {
            r[i][0] = _mm512_add_ps(r[i][0], _mm512_loadu_ps(ci));
            r[i][1] = _mm512_add_ps(r[i][1], _mm512_loadu_ps(ci + 16));
        }
        _mm512_storeu_ps(ci, r[i][0]);
        _mm512_storeu_ps(ci + 16, r[i][1]);
    }
}

inline void store_tile(__m512i (&r)[MR][2], int32_t* c, int ldc, bool accumulate) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
        int32_t* ci = c + size_t(i) * ldc;
        if (accumulate) {
            r[i][0] = _mm512_add_epi32(r[i][0], _mm512_loadu_si512(ci));
            r[i][1] = _mm512_add_epi32(r[i][1], _mm512_loadu_si512(ci + 16));
        }
        _mm512_storeu_si512(ci, r[i][0]);
        _mm512_storeu_si512(ci + 16, r[i][1]);
    }
}

// ---- f32 (bf16/f16 widened while packing) ----------------------------------------------------------

template <bool BF16>
struct WidenTraits {
    using In = uint16_t;
    using Word = float;
    using Out = float;
    static constexpr int MR = VERSUS_AVX512_NS::MR, NR = VERSUS_AVX512_NS::NR, KW = 1;
    static constexpr int KC = VERSUS_AVX512_NS::KC, MC = VERSUS_AVX512_NS::MC;
    static constexpr int NC = VERSUS_AVX512_NS::NC, NC2 = VERSUS_AVX512_NS::NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }

    static __m512 widen16(const uint16_t* p) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        return BF16 ? cvt_bf16x16(h) : cvt_f16x16(h);
    }
    static float widen(uint16_t x) { return BF16 ? bf16_to_f32(x) : f16_to_f32(x); }

    static void pack_a(const uint16_t* src, int lda, int mv, int kk, int kw, float* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(float) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const uint16_t* row = src + size_t(i) * lda;
            int p = 0;
            alignas(64) float tmp[16];
            for (; p + 16 <= kk; p += 16) {
                _mm512_store_ps(tmp, widen16(row + p));
                for (int q = 0; q < 16; ++q) dst[size_t(p + q) * MR + i] = tmp[q];
            }
            for (; p < kk; ++p) dst[size_t(p) * MR + i] = widen(row[p]);
        }
    }

    static void pack_b(const uint16_t* src, int ldb, int nv, int kk, int kw, float* dst) {
        for (int p = 0; p < kk; ++p, dst += NR) {
            const uint16_t* row = src + size_t(p) * ldb;
            if (nv == NR) {
                _mm512_storeu_ps(dst, widen16(row));
                _mm512_storeu_ps(dst + 16, widen16(row + 16));
            } else {
                for (int j = 0; j < nv; ++j) dst[j] = widen(row[j]);
                for (int j = nv; j < NR; ++j) dst[j] = 0.0f;
            }
        }
    }

    // c(12,32) (+)= a(kw,12)ᵀ · b(kw,32)
    static void kernel(int kw, const float* a, const float* b, float* c, int ldc, bool accumulate) {
        __m512 r[MR][2];
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm512_setzero_ps();
        for (int p = 0; p < kw; ++p) {
            const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
            for (int i = 0; i < MR; ++i) {
                const __m512 ai = _mm512_set1_ps(a[i]);
                r[i][0] = _mm512_fmadd_ps(ai, b0, r[i][0]);
                r[i][1] = _mm512_fmadd_ps(ai, b1, r[i][1]);
            }
            a += MR;
            b += NR;
        }
        store_tile(r, c, ldc, accumulate);
    }
};

// ---- int8 without VNNI: int16 pairs, vpmaddwd --------------------------------------------------------

inline uint32_t i16_pair(int8_t lo, int8_t hi) {
    return uint32_t(uint16_t(int16_t(lo))) | uint32_t(uint16_t(int16_t(hi))) << 16;
}

struct I8PairTraits {
    using In = int8_t;
    using Word = uint32_t;  // (int16 a[k], int16 a[k+1])
    using Out = int32_t;
    static constexpr int MR = VERSUS_AVX512_NS::MR, NR = VERSUS_AVX512_NS::NR, KW = 2;
    static constexpr int KC = VERSUS_AVX512_NS::KC, MC = VERSUS_AVX512_NS::MC;
    static constexpr int NC = VERSUS_AVX512_NS::NC, NC2 = VERSUS_AVX512_NS::NC2;
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
    static constexpr int MR = VERSUS_AVX512_NS::MR, NR = VERSUS_AVX512_NS::NR, KW = 2;
    static constexpr int KC = VERSUS_AVX512_NS::KC, MC = VERSUS_AVX512_NS::MC;
    static constexpr int NC = VERSUS_AVX512_NS::NC, NC2 = VERSUS_AVX512_NS::NC2;
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
    static constexpr int MR = VERSUS_AVX512_NS::MR, NR = VERSUS_AVX512_NS::NR, KW = 4;
    static constexpr int KC = VERSUS_AVX512_NS::KC, MC = VERSUS_AVX512_NS::MC;
    static constexpr int NC = VERSUS_AVX512_NS::NC, NC2 = VERSUS_AVX512_NS::NC2;
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
    gemm_run<WidenTraits<true>>(M, N, K, A, B, C, pool);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    gemm_run<WidenTraits<false>>(M, N, K, A, B, C, pool);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    gemm_run<I8PairTraits>(M, N, K, A, B, C, pool);
}

void gemm_bf16_dot(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    gemm_run<Bf16DotTraits>(M, N, K, A, B, C, pool);
}

void gemm_i8_dot(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    gemm_run<I8DotTraits>(M, N, K, A, B, C, pool);
}

// ---- STREAM ----------------------------------------------------------------------------------------

struct StreamJob {
    StreamOp op;
    double* a;
    const double* b;
    const double* c;
    double s;
    size_t n;
    bool nt;
};

template <StreamOp OP>
inline double stream_one(const double* b, const double* c, double s, size_t i) {
    if constexpr (OP == StreamOp::COPY) return b[i];
    if constexpr (OP == StreamOp::SCALE) return s * b[i];
    if constexpr (OP == StreamOp::ADD) return b[i] + c[i];
    return b[i] + s * c[i];
}

template <StreamOp OP>
inline __m512d stream_vec(const double* b, const double* c, __m512d s, size_t i) {
    if constexpr (OP == StreamOp::COPY) return _mm512_loadu_pd(b + i);
    if constexpr (OP == StreamOp::SCALE) return _mm512_mul_pd(s, _mm512_loadu_pd(b + i));
    if constexpr (OP == StreamOp::ADD) return _mm512_add_pd(_mm512_loadu_pd(b + i), _mm512_loadu_pd(c + i));
    return _mm512_add_pd(_mm512_loadu_pd(b + i), _mm512_mul_pd(s, _mm512_loadu_pd(c + i)));
}

template <StreamOp OP, bool NT>
void stream_slice(double* a, const double* b, const double* c, double s, size_t lo, size_t hi) {
    size_t i = lo;
    if constexpr (NT) {  // streaming stores need 64-byte aligned destinations: one full line each
        for (; i < hi && (reinterpret_cast<uintptr_t>(a + i) & 63) != 0; ++i) a[i] = stream_one<OP>(b, c, s, i);
    }
    const __m512d vs = _mm512_set1_pd(s);
    for (; i + 32 <= hi; i += 32) {
        const __m512d x0 = stream_vec<OP>(b, c, vs, i), x1 = stream_vec<OP>(b, c, vs, i + 8);
        const __m512d x2 = stream_vec<OP>(b, c, vs, i + 16), x3 = stream_vec<OP>(b, c, vs, i + 24);
        if constexpr (NT) {
            stream_store(a + i, x0);
            stream_store(a + i + 8, x1);
            stream_store(a + i + 16, x2);
            stream_store(a + i + 24, x3);
        } else {
            _mm512_storeu_pd(a + i, x0);
            _mm512_storeu_pd(a + i + 8, x1);
            _mm512_storeu_pd(a + i + 16, x2);
            _mm512_storeu_pd(a + i + 24, x3);
        }
    }
    for (; i < hi; ++i) a[i] = stream_one<OP>(b, c, s, i);
    if constexpr (NT) _mm_sfence();  // order the weakly-ordered stores before the pool's barrier
}

template <StreamOp OP>
void stream_dispatch(const StreamJob& j, size_t lo, size_t hi) {
    if (j.nt) {
        stream_slice<OP, true>(j.a, j.b, j.c, j.s, lo, hi);
    } else {
        stream_slice<OP, false>(j.a, j.b, j.c, j.s, lo, hi);
    }
}

void stream_worker(void* ctx, int t, int n_threads) {
    const StreamJob& j = *static_cast<const StreamJob*>(ctx);
    // A fixed contiguous slice per thread (whole cache lines), so pages stay with their first toucher.
    const size_t chunk = ((j.n + size_t(n_threads) - 1) / size_t(n_threads) + 7) & ~size_t{7};
    size_t lo = chunk * size_t(t), hi = lo + chunk;
    lo = lo < j.n ? lo : j.n;
    hi = hi < j.n ? hi : j.n;
    switch (j.op) {
        case StreamOp::COPY: stream_dispatch<StreamOp::COPY>(j, lo, hi); break;
        case StreamOp::SCALE: stream_dispatch<StreamOp::SCALE>(j, lo, hi); break;
        case StreamOp::ADD: stream_dispatch<StreamOp::ADD>(j, lo, hi); break;
        case StreamOp::TRIAD: stream_dispatch<StreamOp::TRIAD>(j, lo, hi); break;
    }
}

void stream(StreamOp op, double* a, const double* b, const double* c, double s, size_t n, ThreadPool& pool) {
    const size_t arrays = (op == StreamOp::ADD || op == StreamOp::TRIAD) ? 3 : 2;
    StreamJob job{op, a, b, c, s, n, detail::stream_use_nt(arrays * n * sizeof(double))};
    if (pool.size() == 1 || n < 16384) {  // under 128 KiB per array the pool's wake-up dominates
        stream_worker(&job, 0, 1);
        return;
    }
    detail::pool_run(pool, stream_worker, &job);
}

// ---- peak FMA --------------------------------------------------------------------------------------

constexpr int FMA_CHAINS = 12;  // >= 2 pipes x 4 cycles latency (Skylake-SP, Ice Lake, Zen 4), with slack

double fma_loop(int64_t iters) {
    __m512 x[FMA_CHAINS];
#pragma GCC unroll 12
    for (int i = 0; i < FMA_CHAINS; ++i) x[i] = _mm512_set1_ps(0.05f * float(i + 1));
    const __m512 m = _mm512_set1_ps(0.999f), d = _mm512_set1_ps(0.001f);  // x -> 1, never overflows
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < FMA_CHAINS; ++i) x[i] = _mm512_fmadd_ps(x[i], m, d);
    }
    __m512 sum = x[0];
#pragma GCC unroll 12
    for (int i = 1; i < FMA_CHAINS; ++i) sum = _mm512_add_ps(sum, x[i]);
    volatile float sink = _mm_cvtss_f32(_mm512_castps512_ps128(sum));  // keeps every chain live
    (void)sink;
    return double(iters) * FMA_CHAINS * 16 * 2;
}

constexpr KernelSet AVX512 = {
    /* .isa       = */ VERSUS_AVX512_NAME("avx512"),
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

constexpr KernelSet AVX512_VNNI_BF16 = {
    /* .isa       = */ VERSUS_AVX512_NAME("avx512-vnni-bf16"),
    /* .gemm_bf16 = */ gemm_bf16_dot,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8_dot,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

}  // namespace

const KernelSet& rung() { return AVX512; }
const KernelSet& rung_vnni_bf16() { return AVX512_VNNI_BF16; }

}  // namespace VERSUS_AVX512_NS

}  // namespace versus::cpu
