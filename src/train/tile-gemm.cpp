// tile-gemm: the kernel, written over the compiler's vector extension (GCC and Clang) with VB bytes a vector, so
// that one source is a zmm kernel in the AVX-512 clone and a ymm one in the AVX2 clone (train/simd.hpp), and NEON
// registers in pairs on Arm. Blocking: MR = 4 rows x NV vectors, NV = 4 for 64-byte vectors (16 accumulators of
// the 32 zmm registers) and 2 for 32-byte ones (8 of the 16 ymm); a row block's columns go in NV-vector chunks,
// then one block of the whole vectors left, then scalars.
#include "train/tile-gemm.hpp"

#include <algorithm>
#include <cstring>

#include "train/simd.hpp"

namespace versus::train {

namespace {

template <typename T, int VB>
struct VecOf {
    typedef T type __attribute__((vector_size(VB)));
};

struct Span {
    int n, p0, p1;  // columns, and the contraction range
};

// The columns a COLUMNS block computes are rounded up to whole vectors of w: the extra ones are masked scores,
// computed and left for the caller to ignore, cheaper than a scalar tail.
inline Span block_span(const TileMask mask, int diag, int i0, int i1, int n, int k, int w) {
    switch (mask) {
        case TileMask::COLUMNS:
            return {std::min(n, (std::max(i1 + diag, 0) + w - 1) / w * w), 0, k};
        case TileMask::P_END:
            return {n, 0, std::clamp(i1 + diag, 0, k)};
        case TileMask::P_BEGIN:
            return {n, std::clamp(i0 - diag, 0, k), k};
        case TileMask::NONE:
            break;
    }
    return {n, 0, k};
}

// C (R rows, NV vectors) [+]= sum over p in [p0, p1) of A(:, p) B(p, :).
template <typename T, int VB, int R, int NV>
[[gnu::always_inline]] inline void block(int p0, int p1, const T* __restrict a, int64_t ai, int64_t ap,
                                         const T* __restrict b, int64_t ldb, T* __restrict c, int64_t ldc, bool add) {
    using V = typename VecOf<T, VB>::type;
    constexpr int W = VB / sizeof(T);
    V acc[R][NV];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {
            if (add)
                std::memcpy(&acc[i][j], c + i * ldc + j * W, sizeof(V));
            else
                acc[i][j] = V{};
        }
    for (int p = p0; p < p1; ++p) {
        V bv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) std::memcpy(&bv[j], b + p * ldb + j * W, sizeof(V));
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
            const V av = a[i * ai + p * ap] - V{};  // a broadcast (x - 0 is x, so nothing is added)
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) acc[i][j] += av * bv[j];
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) std::memcpy(c + i * ldc + j * W, &acc[i][j], sizeof(V));
}

// The columns after the last whole vector.
template <typename T>
[[gnu::always_inline]] inline void block_scalar(int rows, int cols, int p0, int p1, const T* a, int64_t ai, int64_t ap,
                                                const T* b, int64_t ldb, T* c, int64_t ldc, bool add) {
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
            T s = add ? c[i * ldc + j] : T(0);
            for (int p = p0; p < p1; ++p) s += a[i * ai + p * ap] * b[p * ldb + j];
            c[i * ldc + j] = s;
        }
}

// (No lambdas in here: a lambda is a function of its own, compiled for the baseline ISA, not for the clone.)
template <typename T, int VB, int R>
[[gnu::always_inline]] inline void row_block(const TileProduct<T>& g, const T* a, T* c, Span s) {
    constexpr int W = VB / sizeof(T), NV = VB >= 64 ? 4 : 2;
    int j = 0;
    for (; j + NV * W <= s.n; j += NV * W)
        block<T, VB, R, NV>(s.p0, s.p1, a, g.ai, g.ap, g.b + j, g.ldb, c + j, g.ldc, g.accumulate);
    const int rest = (s.n - j) / W;  // whole vectors left, fewer than NV: one block of them
    if constexpr (NV > 3)
        if (rest == 3) block<T, VB, R, 3>(s.p0, s.p1, a, g.ai, g.ap, g.b + j, g.ldb, c + j, g.ldc, g.accumulate);
    if constexpr (NV > 2)
        if (rest == 2) block<T, VB, R, 2>(s.p0, s.p1, a, g.ai, g.ap, g.b + j, g.ldb, c + j, g.ldc, g.accumulate);
    if (rest == 1) block<T, VB, R, 1>(s.p0, s.p1, a, g.ai, g.ap, g.b + j, g.ldb, c + j, g.ldc, g.accumulate);
    j += rest * W;
    if (j < s.n) block_scalar<T>(R, s.n - j, s.p0, s.p1, a, g.ai, g.ap, g.b + j, g.ldb, c + j, g.ldc, g.accumulate);
}

template <typename T, int VB>
VERSUS_TRAIN_SIMD void tile_gemm_vb(const TileProduct<T>& g) {
    constexpr int MR = 4;
    for (int i = 0; i < g.m; i += MR) {
        const int rows = std::min(MR, g.m - i);
        const Span s = block_span(g.mask, g.diag, i, i + rows, g.n, g.k, VB / sizeof(T));
        const T* a = g.a + i * g.ai;
        T* c = g.c + i * g.ldc;
        switch (rows) {
            case 4:
                row_block<T, VB, 4>(g, a, c, s);
                break;
            case 3:
                row_block<T, VB, 3>(g, a, c, s);
                break;
            case 2:
                row_block<T, VB, 2>(g, a, c, s);
                break;
            default:
                row_block<T, VB, 1>(g, a, c, s);
                break;
        }
    }
}

}  // namespace

int tile_vector_bytes() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const int bytes = __builtin_cpu_supports("avx512f") ? 64 : 32;
    return bytes;
#else
    return 32;
#endif
}

template <typename T>
void tile_gemm(const TileProduct<T>& g, int vector_bytes) {
    if (vector_bytes >= 64)
        tile_gemm_vb<T, 64>(g);
    else
        tile_gemm_vb<T, 32>(g);
}

template void tile_gemm<float>(const TileProduct<float>&, int);
template void tile_gemm<double>(const TileProduct<double>&, int);

}  // namespace versus::train
