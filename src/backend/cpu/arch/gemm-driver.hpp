// gemm-driver: the blocked GEMM driver every vector rung of the kernel ladder shares, and the STREAM and
// FMA-peak loops written once over a vector-traits type V (arch/x86/simd-*.hpp, arch/arm/simd-neon.hpp).
//
// GEMM is blocked the BLIS way, with the roles of the loops chosen for row-major C and a vector along N:
//   for jc (NC columns of C)  for pc (KC k-steps): pack B(KC, NC) into NR-wide panels
//     for ic (MC rows): pack A(MC, KC) into MR-tall panels
//       for j2 (NC2 columns, the packed-B block kept in L2)  for ir (MR rows: A panel stays in L1)
//         for jr (NR columns): MR x NR register tile
// Packing widens the inputs (bf16/f16 -> f32, int8 -> int16 pairs or quads) once per block, so the inner loop
// is pure FMA / multiply-add. Each thread owns a block of C (detail::gemm_split) and packs what it needs, so
// threads never wait for each other inside a GEMM. Per ISA only the micro-kernel traits T differ:
//   In (input element), Word (packed element: KW consecutive k of one row/column), Out, MR, NR, KW, KC (k-words
//   per block), MC, NC, NC2, b_panel_words(kw), pack_a, pack_b, kernel (MR x NR tile, optionally accumulating).
//
// Everything is in an anonymous namespace and instantiated with a rung's own types, so no copy built for one
// ISA can stand in for another at link time; for the same reason no standard-library template is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.hpp"

namespace versus::cpu {

namespace detail {  // kernels.cpp, built for the baseline ISA
void pool_run(ThreadPool& pool, void (*fn)(void* ctx, int thread, int n_threads), void* ctx);
void gemm_split(int M, int N, int mr, int nr, int thread, int n_threads, int out[4]);
void* thread_scratch(int slot, size_t bytes);
bool stream_use_nt(size_t bytes_touched);
}  // namespace detail

namespace simd {

namespace {

inline int gd_imin(int a, int b) { return a < b ? a : b; }
inline float gd_add_out(float c, float r) { return c + r; }
inline int32_t gd_add_out(int32_t c, int32_t r) { return int32_t(uint32_t(c) + uint32_t(r)); }  // wraps, no UB

// The input element types of traits T: In for both, or InA and InB where they differ. B is (K, N) row-major,
// or with T::B_ROWS (N, K) row-major: the rows of B are its columns, as the weights of an LLM layer are stored.
template <class T>
struct GemmIn {
    using A = typename T::In;
    using B = typename T::In;
};
template <class T>
    requires requires { typename T::InA; }
struct GemmIn<T> {
    using A = typename T::InA;
    using B = typename T::InB;
};

template <class T>
struct GemmJob {
    int M, N, K;
    const typename GemmIn<T>::A* A;  // (M, K)
    const typename GemmIn<T>::B* B;  // (K, N), or (N, K) with T::B_ROWS
    typename T::Out* C;              // (M, N)
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
    const int kc_max = gd_imin(T::KC, kw_all);
    const int nc_max = gd_imin(T::NC, n1 - n0), mc_max = gd_imin(T::MC, m1 - m0);
    const size_t b_bytes = sizeof(W) * T::b_panel_words(kc_max) * size_t((nc_max + NR - 1) / NR);
    const size_t a_bytes = sizeof(W) * size_t(kc_max) * MR * size_t((mc_max + MR - 1) / MR);
    W* bbuf = static_cast<W*>(detail::thread_scratch(1, b_bytes));
    W* abuf = static_cast<W*>(detail::thread_scratch(0, a_bytes));
    alignas(64) Out edge[MR * NR];

    for (int jc = n0; jc < n1; jc += T::NC) {
        const int nc = gd_imin(T::NC, n1 - jc);
        for (int pw = 0; pw < kw_all; pw += T::KC) {
            const int kw = gd_imin(T::KC, kw_all - pw);
            const int k0 = pw * KW, kk = gd_imin(g.K - k0, kw * KW);
            const size_t b_panel = T::b_panel_words(kw);
            for (int jr = 0; jr < nc; jr += NR) {
                if constexpr (requires { T::B_ROWS; }) {
                    T::pack_b(g.B + size_t(jc + jr) * g.K + k0, g.K, gd_imin(NR, nc - jr), kk, kw,
                              bbuf + size_t(jr / NR) * b_panel);
                } else {
                    T::pack_b(g.B + size_t(k0) * g.N + jc + jr, g.N, gd_imin(NR, nc - jr), kk, kw,
                              bbuf + size_t(jr / NR) * b_panel);
                }
            }
            for (int ic = m0; ic < m1; ic += T::MC) {
                const int mc = gd_imin(T::MC, m1 - ic);
                for (int ir = 0; ir < mc; ir += MR) {
                    T::pack_a(g.A + size_t(ic + ir) * g.K + k0, g.K, gd_imin(MR, mc - ir), kk, kw,
                              abuf + size_t(ir / MR) * kw * MR);
                }
                for (int j2 = 0; j2 < nc; j2 += T::NC2) {
                    const int j2_end = gd_imin(nc, j2 + T::NC2);
                    for (int ir = 0; ir < mc; ir += MR) {
                        const W* a_panel = abuf + size_t(ir / MR) * kw * MR;
                        const int mr = gd_imin(MR, mc - ir);
                        for (int jr = j2; jr < j2_end; jr += NR) {
                            const W* b_p = bbuf + size_t(jr / NR) * b_panel;
                            const int nr = gd_imin(NR, nc - jr);
                            Out* c = g.C + size_t(ic + ir) * g.N + jc + jr;
                            if (mr == MR && nr == NR) {
                                T::kernel(kw, a_panel, b_p, c, g.N, pw > 0);
                                continue;
                            }
                            T::kernel(kw, a_panel, b_p, edge, NR, false);
                            for (int i = 0; i < mr; ++i) {
                                for (int j = 0; j < nr; ++j) {
                                    Out& dst = c[size_t(i) * g.N + j];
                                    dst = pw > 0 ? gd_add_out(dst, edge[i * NR + j]) : edge[i * NR + j];
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
void gemm_run(int M, int N, int K, const typename GemmIn<T>::A* A, const typename GemmIn<T>::B* B,
              typename T::Out* C, ThreadPool& pool) {
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

// ---- f32 micro-kernel, bf16/f16 widened while packing --------------------------------------------------------

// The f32 path of gemm_bf16 and gemm_f16 on every vector rung: an MR x (NRV vectors) register tile of FMAs, with
// A and B widened to f32 as they are packed. V supplies the tile (GEMM_MR, GEMM_NRV) and the blocking (GEMM_KC
// k-steps: the A panel stays in L1; GEMM_NC2 columns: the packed-B block stays in L2; GEMM_MC, GEMM_NC: L3).
template <class V, bool BF16>
struct WidenF32 {
    using F = typename V::F;
    using In = uint16_t;
    using Word = float;
    using Out = float;
    static constexpr int W = V::W, NRV = V::GEMM_NRV;
    static constexpr int MR = V::GEMM_MR, NR = NRV * W, KW = 1;
    static constexpr int KC = V::GEMM_KC, MC = V::GEMM_MC, NC = V::GEMM_NC, NC2 = V::GEMM_NC2;
    static size_t b_panel_words(int kw) { return size_t(kw) * NR; }
    static F widen_vec(const uint16_t* p) { return BF16 ? V::load_bf16(p) : V::load_f16(p); }
    static float widen(uint16_t x) { return BF16 ? bf16_to_f32(x) : f16_to_f32(x); }

    static void pack_a(const uint16_t* src, int lda, int mv, int kk, int kw, float* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(float) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const uint16_t* row = src + size_t(i) * lda;
            int p = 0;
            alignas(64) float tmp[W];
            for (; p + W <= kk; p += W) {
                V::store(tmp, widen_vec(row + p));
                for (int q = 0; q < W; ++q) dst[size_t(p + q) * MR + i] = tmp[q];
            }
            for (; p < kk; ++p) dst[size_t(p) * MR + i] = widen(row[p]);
        }
    }

    static void pack_b(const uint16_t* src, int ldb, int nv, int kk, int kw, float* dst) {
        for (int p = 0; p < kk; ++p, dst += NR) {
            const uint16_t* row = src + size_t(p) * ldb;
            if (nv == NR) {
#pragma GCC unroll 4
                for (int u = 0; u < NRV; ++u) V::store(dst + W * u, widen_vec(row + W * u));
            } else {
                for (int j = 0; j < nv; ++j) dst[j] = widen(row[j]);
                for (int j = nv; j < NR; ++j) dst[j] = 0.0f;
            }
        }
    }

    // c(MR, NR) (+)= a(kw, MR)ᵀ · b(kw, NR), both packed k-major.
    static void kernel(int kw, const float* a, const float* b, float* c, int ldc, bool accumulate) {
        F r[MR][NRV];
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
            for (int u = 0; u < NRV; ++u) r[i][u] = V::zero();
        }
        for (int p = 0; p < kw; ++p) {
            F bv[NRV];
#pragma GCC unroll 4
            for (int u = 0; u < NRV; ++u) bv[u] = V::load(b + W * u);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
                for (int u = 0; u < NRV; ++u) r[i][u] = V::fmas(bv[u], a[i], r[i][u]);
            }
            a += MR;
            b += NR;
        }
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            float* ci = c + size_t(i) * ldc;
#pragma GCC unroll 4
            for (int u = 0; u < NRV; ++u) {
                if (accumulate) r[i][u] = V::add(r[i][u], V::load(ci + W * u));
                V::store(ci + W * u, r[i][u]);
            }
        }
    }
};

// y (M, N) = x (M, K) f32 · Wᵀ, W (N, K) in bf16/f16 as an LLM layer stores its weights (QuantGemm): the f32
// micro-kernel of WidenF32 with A copied and B's rows widened into k-major panels.
template <class V, bool BF16>
struct WidenF32Rows : WidenF32<V, BF16> {
    using Base = WidenF32<V, BF16>;
    using InA = float;
    using InB = uint16_t;
    static constexpr bool B_ROWS = true;
    static constexpr int W = V::W, MR = Base::MR, NR = Base::NR;

    static void pack_a(const float* src, int lda, int mv, int kk, int kw, float* dst) {
        if (mv < MR) std::memset(dst, 0, sizeof(float) * size_t(kw) * MR);
        for (int i = 0; i < mv; ++i) {
            const float* row = src + size_t(i) * lda;
            for (int p = 0; p < kk; ++p) dst[size_t(p) * MR + i] = row[p];
        }
    }

    // dst[p * NR + j] = B row j, element p: W x W blocks widened row by row and transposed in registers.
    static void pack_b(const uint16_t* src, int ldb, int nv, int kk, int kw, float* dst) {
        if (nv < NR || kk < kw) std::memset(dst, 0, sizeof(float) * size_t(kw) * NR);
        const int kv = kk / W * W;
        for (int j0 = 0; j0 < nv; j0 += W) {
            const int rows = gd_imin(W, nv - j0);
            for (int p0 = 0; p0 < kv; p0 += W) {
                typename V::F r[W];
                for (int i = 0; i < W; ++i) r[i] = i < rows ? Base::widen_vec(src + size_t(j0 + i) * ldb + p0) : V::zero();
                V::transpose(r);
                for (int q = 0; q < W; ++q) V::store(dst + size_t(p0 + q) * NR + j0, r[q]);
            }
            for (int i = 0; i < rows; ++i) {
                for (int p = kv; p < kk; ++p) dst[size_t(p) * NR + j0 + i] = Base::widen(src[size_t(j0 + i) * ldb + p]);
            }
        }
    }
};

// The QuantGemm of f16 (BF16 false) or bf16 weights on rung V.
template <class V, bool BF16>
void gemm_weights(int64_t n_in, int64_t n_out, const void* w, const float* x, int64_t n_tok, float* y,
                  ThreadPool& pool) {
    gemm_run<WidenF32Rows<V, BF16>>(int(n_tok), int(n_out), int(n_in), x, static_cast<const uint16_t*>(w), y, pool);
}

// ---- STREAM ------------------------------------------------------------------------------------------------

template <class V>
struct Stream {
    using D = typename V::D;
    static constexpr int DW = V::DW;

    struct Job {
        StreamOp op;
        double* a;
        const double* b;
        const double* c;
        double s;
        size_t n;
        bool nt;
    };

    template <StreamOp OP>
    static double one(const double* b, const double* c, double s, size_t i) {
        if constexpr (OP == StreamOp::COPY) return b[i];
        if constexpr (OP == StreamOp::SCALE) return s * b[i];
        if constexpr (OP == StreamOp::ADD) return b[i] + c[i];
        return b[i] + s * c[i];
    }

    template <StreamOp OP>
    static D vec(const double* b, const double* c, D s, size_t i) {
        if constexpr (OP == StreamOp::COPY) return V::dload(b + i);
        if constexpr (OP == StreamOp::SCALE) return V::dmul(s, V::dload(b + i));
        if constexpr (OP == StreamOp::ADD) return V::dadd(V::dload(b + i), V::dload(c + i));
        return V::dadd(V::dload(b + i), V::dmul(s, V::dload(c + i)));
    }

    template <StreamOp OP, bool NT>
    static void slice(double* a, const double* b, const double* c, double s, size_t lo, size_t hi) {
        size_t i = lo;
        if constexpr (NT) {  // streaming stores want aligned destinations: whole lines
            for (; i < hi && (reinterpret_cast<uintptr_t>(a + i) & (V::STREAM_ALIGN - 1)) != 0; ++i) {
                a[i] = one<OP>(b, c, s, i);
            }
        }
        const D vs = V::dset1(s);
        for (; i + 4 * DW <= hi; i += 4 * DW) {
            const D x0 = vec<OP>(b, c, vs, i), x1 = vec<OP>(b, c, vs, i + DW);
            const D x2 = vec<OP>(b, c, vs, i + 2 * DW), x3 = vec<OP>(b, c, vs, i + 3 * DW);
            if constexpr (NT) {
                V::dstream(a + i, x0);
                V::dstream(a + i + DW, x1);
                V::dstream(a + i + 2 * DW, x2);
                V::dstream(a + i + 3 * DW, x3);
            } else {
                V::dstore(a + i, x0);
                V::dstore(a + i + DW, x1);
                V::dstore(a + i + 2 * DW, x2);
                V::dstore(a + i + 3 * DW, x3);
            }
        }
        for (; i < hi; ++i) a[i] = one<OP>(b, c, s, i);
        if constexpr (NT) V::sfence();  // order the weakly-ordered stores before the pool's barrier
    }

    template <StreamOp OP>
    static void dispatch(const Job& j, size_t lo, size_t hi) {
        if (V::STREAM_NT && j.nt) {
            slice<OP, V::STREAM_NT>(j.a, j.b, j.c, j.s, lo, hi);
        } else {
            slice<OP, false>(j.a, j.b, j.c, j.s, lo, hi);
        }
    }

    static void worker(void* ctx, int t, int n_threads) {
        const Job& j = *static_cast<const Job*>(ctx);
        // A fixed contiguous slice per thread (whole cache lines), so pages stay with their first toucher.
        const size_t chunk = ((j.n + size_t(n_threads) - 1) / size_t(n_threads) + 7) & ~size_t{7};
        size_t lo = chunk * size_t(t), hi = lo + chunk;
        lo = lo < j.n ? lo : j.n;
        hi = hi < j.n ? hi : j.n;
        switch (j.op) {
            case StreamOp::COPY: dispatch<StreamOp::COPY>(j, lo, hi); break;
            case StreamOp::SCALE: dispatch<StreamOp::SCALE>(j, lo, hi); break;
            case StreamOp::ADD: dispatch<StreamOp::ADD>(j, lo, hi); break;
            case StreamOp::TRIAD: dispatch<StreamOp::TRIAD>(j, lo, hi); break;
        }
    }

    static void run(StreamOp op, double* a, const double* b, const double* c, double s, size_t n, ThreadPool& pool) {
        const size_t arrays = (op == StreamOp::ADD || op == StreamOp::TRIAD) ? 3 : 2;
        Job job{op, a, b, c, s, n, V::STREAM_NT && detail::stream_use_nt(arrays * n * sizeof(double))};
        if (pool.size() == 1 || n < 16384) {  // under 128 KiB per array the pool's wake-up dominates
            worker(&job, 0, 1);
            return;
        }
        detail::pool_run(pool, worker, &job);
    }
};

// ---- peak FMA ----------------------------------------------------------------------------------------------

// V::FMA_CHAINS independent chains (pipes x latency, with slack); returns the FLOPs executed.
template <class V>
double fma_loop(int64_t iters) {
    using F = typename V::F;
    constexpr int N = V::FMA_CHAINS;
    F x[N];
#pragma GCC unroll 16
    for (int i = 0; i < N; ++i) x[i] = V::set1(0.05f * float(i + 1));
    const F m = V::set1(0.999f), d = V::set1(0.001f);  // x -> 1, never overflows
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
        for (int i = 0; i < N; ++i) x[i] = V::fma(x[i], m, d);
    }
    F sum = x[0];
#pragma GCC unroll 16
    for (int i = 1; i < N; ++i) sum = V::add(sum, x[i]);
    volatile float sink = V::first(sum);  // the chains feed a result, so none can be dropped
    (void)sink;
    return double(iters) * N * V::W * 2;
}

}  // namespace

}  // namespace simd

}  // namespace versus::cpu
