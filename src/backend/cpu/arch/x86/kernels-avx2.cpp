// Contract: the AVX2 rung (AVX2 + FMA + F16C; Haswell, Zen 1 and later). Built with -mavx2 -mfma -mf16c
// and only called once kernels.cpp has seen those features in cpu_features().
//
// GEMM is blocked the BLIS way, with the roles of the loops chosen for row-major C and a vector along N:
//   for jc (NC columns of C)  for pc (KC k-steps): pack B(KC, NC) into NR-wide panels
//     for ic (MC rows): pack A(MC, KC) into MR-tall panels
//       for j2 (NC2 columns, the packed-B block kept in L2)  for ir (MR rows: A panel stays in L1)
//         for jr (NR columns): MR x NR register tile
// Packing widens the inputs (bf16/f16 -> f32, int8 -> int16 pairs) once per block, so the inner loop
// is pure FMA / vpmaddwd. Each thread owns a block of C (detail::gemm_split) and packs what it needs,
// so threads never wait for each other inside a GEMM.
//
// No standard-library templates are used here: an inline function instantiated in this file would be
// compiled for AVX2, and the linker may keep that copy for callers on CPUs without it.
#include <immintrin.h>

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

namespace avx2 {

namespace {

inline int imin(int a, int b) { return a < b ? a : b; }
inline float add_out(float c, float r) { return c + r; }
inline int32_t add_out(int32_t c, int32_t r) { return int32_t(uint32_t(c) + uint32_t(r)); }  // wraps, no UB

// ---- blocked driver (shared by every dtype of this rung) -----------------------------------------

// Traits T supplies: In (input element), Word (packed element: KW consecutive k of one row/column),
// Out, MR, NR, KW, KC (k-words per block), MC, NC, NC2, b_panel_words(kw), pack_a, pack_b, kernel.
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

// ---- f32 micro-kernel: 6 x 16, 12 ymm accumulators + 2 for B + 1 broadcast -------------------------

constexpr int F32_MR = 6, F32_NR = 16;

// c(6,16) (+)= a(kw, 6)ᵀ · b(kw, 16), both packed k-major.
void kernel_f32(int kw, const float* a, const float* b, float* c, int ldc, bool accumulate) {
    __m256 r[F32_MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < F32_MR; ++i) r[i][0] = r[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int p = 0; p < kw; ++p) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < F32_MR; ++i) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            r[i][0] = _mm256_fmadd_ps(ai, b0, r[i][0]);
            r[i][1] = _mm256_fmadd_ps(ai, b1, r[i][1]);
        }
        a += F32_MR;
        b += F32_NR;
    }
#pragma GCC unroll 6
    for (int i = 0; i < F32_MR; ++i) {
        float* ci = c + size_t(i) * ldc;
        if (accumulate) {
            r[i][0] = _mm256_add_ps(r[i][0], _mm256_loadu_ps(ci));
            r[i][1] = _mm256_add_ps(r[i][1], _mm256_loadu_ps(ci + 8));
        }
        _mm256_storeu_ps(ci, r[i][0]);
        _mm256_storeu_ps(ci + 8, r[i][1]);
    }
}

// Widening B packers: dst(kw, 16) from src(kk, nv), zero beyond.
inline float widen_bf16(uint16_t x) {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(int(uint32_t(x) << 16))));
}
inline float widen_f16(uint16_t x) { return _cvtsh_ss(x); }

template <bool BF16>
inline void widen16(const uint16_t* src, float* dst) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    if constexpr (BF16) {
        const __m256i lo = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(h)), 16);
        const __m256i hi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1)), 16);
        _mm256_storeu_ps(dst, _mm256_castsi256_ps(lo));
        _mm256_storeu_ps(dst + 8, _mm256_castsi256_ps(hi));
    } else {
        _mm256_storeu_ps(dst, _mm256_cvtph_ps(_mm256_castsi256_si128(h)));
        _mm256_storeu_ps(dst + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
    }
}

template <bool BF16>
struct WidenTraits {
    using In = uint16_t;
    using Word = float;
    using Out = float;
    static constexpr int MR = F32_MR, NR = F32_NR, KW = 1;
    static constexpr int KC = 256, MC = 384, NC = 2048, NC2 = 256;  // B block 256 KiB (L2), A panel 6 KiB (L1)
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }
    static float widen(uint16_t x) { return BF16 ? widen_bf16(x) : widen_f16(x); }

    static void pack_a(const uint16_t* src, int lda, int mv, int kk, int kw, float* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(float) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const uint16_t* row = src + size_t(i) * lda;
            int p = 0;
            alignas(32) float tmp[16];
            for (; p + 16 <= kk; p += 16) {
                widen16<BF16>(row + p, tmp);
                for (int q = 0; q < 16; ++q) dst[size_t(p + q) * MR + i] = tmp[q];
            }
            for (; p < kk; ++p) dst[size_t(p) * MR + i] = widen(row[p]);
        }
    }

    static void pack_b(const uint16_t* src, int ldb, int nv, int kk, int kw, float* dst) {
        for (int p = 0; p < kk; ++p, dst += NR) {
            const uint16_t* row = src + size_t(p) * ldb;
            if (nv == NR) {
                widen16<BF16>(row, dst);
            } else {
                for (int j = 0; j < nv; ++j) dst[j] = widen(row[j]);
                for (int j = nv; j < NR; ++j) dst[j] = 0.0f;
            }
        }
    }

    static void kernel(int kw, const float* a, const float* b, float* c, int ldc, bool acc) {
        kernel_f32(kw, a, b, c, ldc, acc);
    }
};

// ---- int8: operands widened to int16 pairs, vpmaddwd into int32 (exact: |pair sum| <= 2*127^2) ------

struct I8Traits {
    using In = int8_t;
    using Word = uint32_t;  // two int16: k even in the low half, k odd in the high half
    using Out = int32_t;
    static constexpr int MR = 6, NR = 16, KW = 2;
    static constexpr int KC = 256, MC = 384, NC = 2048, NC2 = 256;
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
    gemm_run<WidenTraits<true>>(M, N, K, A, B, C, pool);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    gemm_run<WidenTraits<false>>(M, N, K, A, B, C, pool);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    gemm_run<I8Traits>(M, N, K, A, B, C, pool);
}

// ---- STREAM --------------------------------------------------------------------------------------

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
inline __m256d stream_vec(const double* b, const double* c, __m256d s, size_t i) {
    if constexpr (OP == StreamOp::COPY) return _mm256_loadu_pd(b + i);
    if constexpr (OP == StreamOp::SCALE) return _mm256_mul_pd(s, _mm256_loadu_pd(b + i));
    if constexpr (OP == StreamOp::ADD) return _mm256_add_pd(_mm256_loadu_pd(b + i), _mm256_loadu_pd(c + i));
    return _mm256_add_pd(_mm256_loadu_pd(b + i), _mm256_mul_pd(s, _mm256_loadu_pd(c + i)));
}

template <StreamOp OP, bool NT>
void stream_slice(double* a, const double* b, const double* c, double s, size_t lo, size_t hi) {
    size_t i = lo;
    if constexpr (NT) {  // streaming stores need 32-byte aligned destinations
        for (; i < hi && (reinterpret_cast<uintptr_t>(a + i) & 31) != 0; ++i) a[i] = stream_one<OP>(b, c, s, i);
    }
    const __m256d vs = _mm256_set1_pd(s);
    for (; i + 16 <= hi; i += 16) {
        const __m256d x0 = stream_vec<OP>(b, c, vs, i), x1 = stream_vec<OP>(b, c, vs, i + 4);
        const __m256d x2 = stream_vec<OP>(b, c, vs, i + 8), x3 = stream_vec<OP>(b, c, vs, i + 12);
        if constexpr (NT) {
            _mm256_stream_pd(a + i, x0);
            _mm256_stream_pd(a + i + 4, x1);
            _mm256_stream_pd(a + i + 8, x2);
            _mm256_stream_pd(a + i + 12, x3);
        } else {
            _mm256_storeu_pd(a + i, x0);
            _mm256_storeu_pd(a + i + 4, x1);
            _mm256_storeu_pd(a + i + 8, x2);
            _mm256_storeu_pd(a + i + 12, x3);
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

constexpr int FMA_CHAINS = 12;  // >= 2 pipes x 5 cycles latency (Zen 1-3, Haswell), with slack

double fma_loop(int64_t iters) {
    __m256 x[FMA_CHAINS];
#pragma GCC unroll 12
    for (int i = 0; i < FMA_CHAINS; ++i) x[i] = _mm256_set1_ps(0.05f * float(i + 1));
    const __m256 m = _mm256_set1_ps(0.999f), d = _mm256_set1_ps(0.001f);  // x -> 1, never overflows
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < FMA_CHAINS; ++i) x[i] = _mm256_fmadd_ps(x[i], m, d);
    }
    __m256 sum = x[0];
#pragma GCC unroll 12
    for (int i = 1; i < FMA_CHAINS; ++i) sum = _mm256_add_ps(sum, x[i]);
    volatile float sink = _mm256_cvtss_f32(sum);  // the chains feed a result, so none can be dropped
    (void)sink;
    return double(iters) * FMA_CHAINS * 8 * 2;
}

constexpr KernelSet AVX2 = {
    /* .isa       = */ "avx2",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

}  // namespace

const KernelSet& rung() { return AVX2; }

}  // namespace avx2

}  // namespace versus::cpu
