// quant-tile: the plumbing every vector rung of the quant ladder (quants.hpp) shares between its micro-kernels
// and matmul's driver (quants.cpp): a kernel K is a struct with ROWS, TOKS and a template run<R, T> for one
// tile of R <= ROWS weight rows by T <= TOKS tokens (optionally prep/prep_bytes, the activation layout it
// reads); dispatch<K> picks run<nr, nt> for a tile's actual shape, tile_of<K> makes the QuantTile entry, and
// store_tile reduces the per-(row, token) vector accumulators into y. V is the rung's vector traits
// (arch/x86/simd-*.hpp, arch/arm/simd-neon.hpp).
//
// Everything is in an anonymous namespace and instantiated with a rung's own types, so no copy built for one
// ISA can stand in for another at link time; for the same reason no standard-library template is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/kernels.hpp"
#include "backend/cpu/quants.hpp"

namespace versus::cpu::simd {

namespace {

inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline float load_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}

// Every cache line of a weight block of BYTES bytes, wherever it starts: a block that is not whole lines
// straddles one line more when it starts late in one, so its last byte is fetched too. Decode's R row streams
// start cold; each tile fetches the next tile's blocks this way (into L1).
template <size_t BYTES>
inline void prefetch_block(const uint8_t* p) {
    for (size_t off = 0; off < BYTES; off += 64) __builtin_prefetch(p + off);
    if constexpr (BYTES % 64 != 0) __builtin_prefetch(p + BYTES - 1);
}

// run<R, T> for (nr, nt), through a chain of compile-time comparisons the compiler folds into one switch (an
// entry function with a target attribute can inline all of it, which a table of pointers would prevent).
template <class K, int I>
inline void dispatch_from(int idx, int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y,
                          size_t ys) {
    if constexpr (I < K::ROWS * K::TOKS) {
        if (idx == I) {
            K::template run<I / K::TOKS + 1, I % K::TOKS + 1>(n, w, ws, x, xs, y, ys);
            return;
        }
        dispatch_from<K, I + 1>(idx, n, w, ws, x, xs, y, ys);
    }
}

template <class K>
inline void dispatch(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y,
                     size_t ys) {
    dispatch_from<K, 0>((nr - 1) * K::TOKS + (nt - 1), n, static_cast<const uint8_t*>(w), ws,
                        static_cast<const uint8_t*>(x), xs, y, ys);
}

// The QuantTileFn of kernel K (a rung that needs a target attribute on the entry writes its own, calling
// dispatch<K>, and passes it here).
template <class K>
void tile(int64_t n, const void* w, size_t ws, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    dispatch<K>(n, w, ws, nr, x, xs, nt, y, ys);
}

template <class K>
constexpr QuantTile tile_of(QuantTileFn fn = tile<K>) {
    if constexpr (requires { K::prep; }) {
        return {fn, K::ROWS, K::TOKS, K::prep_bytes, K::prep};
    } else {
        return {fn, K::ROWS, K::TOKS, nullptr, nullptr};
    }
}

// A tile with its (optional) prefill paths.
constexpr QuantTile with_panel(QuantTile t, QuantPanel p) {
    t.panel = p;
    return t;
}
constexpr QuantTile with_gemm(QuantTile t, QuantGemm g) {
    t.gemm = g;
    return t;
}
// Float weights: from this many tokens the blocked GEMM (gemm_weights in arch/gemm-driver.hpp), with its
// packing, beats the tiles.
constexpr int GEMM_MIN_TOKS = 32;

// y[t * ys + r] = Σ lanes of acc[r][t] + tail[r][t].
template <class V, int R, int T>
inline void store_tile(const typename V::F (&acc)[R][T], const float (&tail)[R][T], float* y, size_t ys) {
    for (int t = 0; t < T; ++t) {
        for (int r = 0; r < R; ++r) y[size_t(t) * ys + r] = V::hsum(acc[r][t]) + tail[r][t];
    }
}

// Scalar block dots for the blocks left over after the vector loop (Q4_0 and Q8_0 weights x Q8_0 activations).
inline float block_q4_0(const uint8_t* w, const uint8_t* x) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
        isum += ((w[2 + j] & 15) - 8) * int8_t(x[2 + j]) + ((w[2 + j] >> 4) - 8) * int8_t(x[18 + j]);
    }
    return float(isum) * (f16_to_f32(load_u16(w)) * f16_to_f32(load_u16(x)));
}

inline float block_q8_0(const uint8_t* w, const uint8_t* x) {
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += int8_t(w[2 + j]) * int8_t(x[2 + j]);
    return float(isum) * (f16_to_f32(load_u16(w)) * f16_to_f32(load_u16(x)));
}

// ---- float weights (F32, F16, BF16) x f32 activations, the same on every rung -------------------------------

enum class Fmt { F32, F16, BF16 };

template <class V, Fmt FMT>
struct FloatTile {
    using F = typename V::F;
    static constexpr int ROWS = V::QUANT_ROWS, TOKS = V::QUANT_TOKS, W = V::W;
    static constexpr size_t ES = FMT == Fmt::F32 ? 4 : 2;
    static F widen(const uint8_t* p) {
        if constexpr (FMT == Fmt::F32) return V::load(reinterpret_cast<const float*>(p));
        if constexpr (FMT == Fmt::F16) return V::load_f16(reinterpret_cast<const f16_t*>(p));
        if constexpr (FMT == Fmt::BF16) return V::load_bf16(reinterpret_cast<const uint16_t*>(p));
    }
    static float widen1(const uint8_t* p) {
        if constexpr (FMT == Fmt::F32) return load_f32(p);
        if constexpr (FMT == Fmt::F16) return f16_to_f32(load_u16(p));
        if constexpr (FMT == Fmt::BF16) return bf16_to_f32(load_u16(p));
    }
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        F acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = V::zero();
        }
        int64_t i = 0;
        for (; i + W <= n; i += W) {
            F xv[T];
            for (int t = 0; t < T; ++t) xv[t] = V::load(reinterpret_cast<const float*>(x + size_t(t) * xs) + i);
            for (int r = 0; r < R; ++r) {
                const F wv = widen(w + size_t(r) * ws + size_t(i) * ES);
                for (int t = 0; t < T; ++t) acc[r][t] = V::fma(wv, xv[t], acc[r][t]);
            }
        }
        float tail[R][T] = {};
        for (; i < n; ++i) {
            for (int r = 0; r < R; ++r) {
                const float wv = widen1(w + size_t(r) * ws + size_t(i) * ES);
                for (int t = 0; t < T; ++t) tail[r][t] += wv * load_f32(x + size_t(t) * xs + size_t(i) * 4);
            }
        }
        store_tile<V, R, T>(acc, tail, y, ys);
    }
};

}  // namespace

}  // namespace versus::cpu::simd
