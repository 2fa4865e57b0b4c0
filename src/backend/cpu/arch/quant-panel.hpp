// quant-panel: the prefill path of the integer quant types (QuantPanel in quants.hpp), written once over a panel
// traits type PT per rung (the int32 vector of PT::L lanes, its 4-byte dot product, the transposition of a
// row-major block of bytes into lanes). Per weight type only the decoding of one row's group into bytes differs.
//
// A panel holds PT::P sub-panels of PT::L rows. A sub-panel is laid out per group of G elements (32; 16 for
// Q6_K, whose scales cover 16), for g = 0 .. n/G - 1:
//   G/4 vectors of L int32 lanes: vector k, lane j = elements 4k .. 4k+3 of row j, as unsigned bytes u (the quant
//       plus the offset that makes it non-negative: Q4_0 8, Q8_0 128, Q6_K 32; the K-quants' are already)
//   S  L f32: the scale of each row's group (d, or d * the sub-block scale)
//   M  L f32: what one unit of Σx costs each row: S * offset, or for Q4_K/Q5_K dmin * the sub-block min
// so that the dot product of a row's group with activations q (scale dx) is  S * dx * Σ u q  -  M * dx * Σ q.
// The activations (prep) are the row's n quants as bytes, then per group the two f32 dx and dx * Σ q.
//
// The kernel keeps one int32 vector per (sub-panel, token) for the group's Σ u q, four bytes per lane per step
// (PT::group: vpdpbusd, or vpmaddubsw steps added in int16 and widened by vpmaddwd), and one f32 vector per (sub-panel, token) across groups: per
// group and token two FMAs and a convert rescale L rows at once, where a row-at-a-time dot product would spend a
// horizontal reduction per row. Lane j is row j, so the results are stored as they are, with no reduction.
//
// Everything is in an anonymous namespace and instantiated with a rung's own types (see quant-tile.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/arch/quant-tile.hpp"

namespace versus::cpu::simd {

namespace {

// ---- one row's group as bytes, per weight type ----------------------------------------------------------

// decode(row, g, u, f): the G bytes u of group g of the row at `row`, and its S and M as f16 scales times
// factors, S = f.s * f.ks and M = f.m * f.km (widened L rows at a time by the pack). The bytes go eight at a
// time in 64-bit words (SWAR): as fast as vector code here, and the same on every rung.
struct PanelScales {
    uint16_t s, m;  // f16
    float ks, km;
};

inline uint64_t load_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline void store_u64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
constexpr uint64_t BYTES_0F = 0x0F0F0F0F0F0F0F0Full, BYTES_01 = 0x0101010101010101ull;

// BLOCK bytes hold PER groups (for the pack's prefetches); U_MAX bounds u.
struct PanelQ4_0 {
    static constexpr int G = 32, BLOCK = 18, PER = 1, U_MAX = 15;
    static void decode(const uint8_t* row, int64_t g, uint8_t* u, PanelScales* f) {
        const uint8_t* b = row + size_t(g) * 18;
        for (int i = 0; i < 2; ++i) {
            const uint64_t v = load_u64(b + 2 + 8 * i);
            store_u64(u + 8 * i, v & BYTES_0F);
            store_u64(u + 16 + 8 * i, (v >> 4) & BYTES_0F);
        }
        *f = {load_u16(b), load_u16(b), 1.0f, 8.0f};
    }
};

struct PanelQ8_0 {
    static constexpr int G = 32, BLOCK = 34, PER = 1, U_MAX = 255;
    static void decode(const uint8_t* row, int64_t g, uint8_t* u, PanelScales* f) {
        const uint8_t* b = row + size_t(g) * 34;
        for (int i = 0; i < 4; ++i) store_u64(u + 8 * i, load_u64(b + 2 + 8 * i) ^ (BYTES_01 << 7));
        *f = {load_u16(b), load_u16(b), 1.0f, 128.0f};
    }
};

// Q8_0 as signed bytes, with no offset (M = 0), for a rung whose group multiplies signed weights: with the
// offset, u reaches 255 and one vpmaddubsw step's pairs (2 * 127 * 255) overflow int16 (x86/quants-avx2.cpp).
struct PanelQ8_0Signed {
    static constexpr int G = 32, BLOCK = 34, PER = 1, U_MAX = 128;  // |w|
    static void decode(const uint8_t* row, int64_t g, uint8_t* u, PanelScales* f) {
        const uint8_t* b = row + size_t(g) * 34;
        std::memcpy(u, b + 2, 32);
        *f = {load_u16(b), load_u16(b), 1.0f, 0.0f};
    }
};

// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block from its 12 packed bytes.
inline void k_scale_min(const uint8_t* q, int j, int* sc, int* mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4;
        *mn = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
    }
}

template <bool FIVE>
struct PanelK4 {
    static constexpr int G = 32, BLOCK = FIVE ? 176 : 144, PER = 8, U_MAX = FIVE ? 31 : 15;
    static void decode(const uint8_t* row, int64_t g, uint8_t* u, PanelScales* f) {
        const uint8_t* b = row + size_t(g / 8) * (FIVE ? 176 : 144);
        const int j = int(g % 8);
        const uint8_t* qs = b + (FIVE ? 48 : 16) + 32 * (j / 2);
        const int shift = 4 * (j % 2);
        for (int i = 0; i < 4; ++i) {
            uint64_t v = (load_u64(qs + 8 * i) >> shift) & BYTES_0F;
            if constexpr (FIVE) v |= ((load_u64(b + 16 + 8 * i) >> j) & BYTES_01) << 4;
            store_u64(u + 8 * i, v);
        }
        int sc, mn;
        k_scale_min(b + 4, j, &sc, &mn);
        *f = {load_u16(b), load_u16(b + 2), float(sc), float(mn)};
    }
};

struct PanelQ6_K {
    static constexpr int G = 16, BLOCK = 210, PER = 16, U_MAX = 63;
    static void decode(const uint8_t* row, int64_t g, uint8_t* u, PanelScales* f) {
        const uint8_t* b = row + size_t(g / 16) * 210;
        const int e0 = 16 * int(g % 16), h = e0 / 128, k = (e0 % 128) / 32, l0 = e0 % 32;
        const uint8_t* ql = b + 64 * h + 32 * (k % 2) + l0;
        const uint8_t* qh = b + 128 + 32 * h + l0;
        const int shift = 4 * (k / 2);
        for (int i = 0; i < 2; ++i) {
            const uint64_t lo = (load_u64(ql + 8 * i) >> shift) & BYTES_0F;
            const uint64_t hi = (load_u64(qh + 8 * i) >> (2 * k)) & (BYTES_01 * 3);
            store_u64(u + 8 * i, lo | hi << 4);
        }
        const float sc = float(int8_t(b[192 + g % 16]));
        *f = {load_u16(b + 208), load_u16(b + 208), sc, 32.0f * sc};
    }
};

// ---- activations ----------------------------------------------------------------------------------------

// Q8_0 rows (blocks of 32: f16 d, 32 quants), groups of 32.
inline size_t panel_prep_bytes_q8_0(int64_t n) { return (size_t(n) + size_t(n / 32) * 8 + 63) & ~size_t{63}; }
inline void panel_prep_q8_0(int64_t n, const void* xv, void* outv) {
    const uint8_t* x = static_cast<const uint8_t*>(xv);
    uint8_t* q = static_cast<uint8_t*>(outv);
    float* meta = reinterpret_cast<float*>(q + n);
    for (int64_t b = 0; b < n / 32; ++b, x += 34) {
        std::memcpy(q + 32 * b, x + 2, 32);
        int sum = 0;
        for (int i = 0; i < 32; ++i) sum += int8_t(x[2 + i]);
        const float d = f16_to_f32(load_u16(x));
        meta[2 * b] = d;
        meta[2 * b + 1] = d * float(sum);
    }
}

// Q8_K rows (blocks of 256: f32 d, 256 quants, 16 group sums of 16), groups of G = 32 or 16.
template <int G>
size_t panel_prep_bytes_q8_k(int64_t n) {
    return (size_t(n) + size_t(n / G) * 8 + 63) & ~size_t{63};
}
template <int G>
void panel_prep_q8_k(int64_t n, const void* xv, void* outv) {
    const uint8_t* x = static_cast<const uint8_t*>(xv);
    uint8_t* q = static_cast<uint8_t*>(outv);
    float* meta = reinterpret_cast<float*>(q + n);
    for (int64_t b = 0; b < n / 256; ++b, x += sizeof(versus_block_q8_K)) {
        std::memcpy(q + 256 * b, x + 4, 256);
        const float d = load_f32(x);
        int16_t bs[16];
        std::memcpy(bs, x + 260, sizeof(bs));
        for (int j = 0; j < 256 / G; ++j) {
            const int sum = G == 16 ? bs[j] : bs[2 * j] + bs[2 * j + 1];
            meta[2 * (b * (256 / G) + j)] = d;
            meta[2 * (b * (256 / G) + j) + 1] = d * float(sum);
        }
    }
}

// ---- pack and kernel -----------------------------------------------------------------------------------

template <class PT, int G>
constexpr size_t panel_group_bytes() {
    return size_t(G / 4) * PT::L * 4 + 2 * size_t(PT::L) * 4;
}

template <class PT, class D>
size_t panel_pack_bytes(int64_t n) {
    return size_t(PT::P) * size_t(n / D::G) * panel_group_bytes<PT, D::G>();
}

// Rows [0, nr) of w into the panel at out; rows nr .. P*L - 1 become zeros (u, S and M: f16 zero times any factor).
template <class PT, class D>
void panel_pack(int64_t n, const void* wv, size_t ws, int nr, void* outv) {
    constexpr int L = PT::L, G = D::G;
    constexpr size_t GB = panel_group_bytes<PT, G>();
    const uint8_t* w = static_cast<const uint8_t*>(wv);
    uint8_t* out = static_cast<uint8_t*>(outv);
    const int64_t ng = n / G;
    alignas(64) uint8_t tile[L * G];
    alignas(64) uint16_t hs[L], hm[L];
    alignas(64) float ks[L], km[L];
    for (int p = 0; p < PT::P; ++p) {
        const int rows = nr - p * L < 0 ? 0 : (nr - p * L > L ? L : nr - p * L);
        if (rows < L) {
            std::memset(tile, 0, sizeof(tile));
            std::memset(hs, 0, sizeof(hs));
            std::memset(hm, 0, sizeof(hm));
        }
        for (int64_t g = 0; g < ng; ++g) {
            uint8_t* o = out + (size_t(p) * size_t(ng) + size_t(g)) * GB;
            for (int j = 0; j < rows; ++j) {
                // The rows are L streams read in step: too many for the hardware prefetchers to follow.
                const uint8_t* row = w + size_t(p * L + j) * ws;
                __builtin_prefetch(row + size_t(g / D::PER) * D::BLOCK + 512);
                PanelScales f;
                D::decode(row, g, tile + j * G, &f);
                hs[j] = f.s, hm[j] = f.m, ks[j] = f.ks, km[j] = f.km;
            }
            PT::template transpose<G>(tile, o);
            PT::scale_f16(hs, ks, o + size_t(G / 4) * L * 4);
            PT::scale_f16(hm, km, o + size_t(G / 4) * L * 4 + L * 4);
        }
    }
}

// How many 4-byte steps of vpmaddubsw may add up in int16 before they are widened (PT::group without VNNI): a
// step's pair sums reach 2 * 127 * u_max.
constexpr int panel_fold(int u_max) {
    const int f = 32767 / (2 * 127 * u_max);
    return f >= 4 ? 4 : f >= 2 ? 2 : 1;
}

// T tokens over a packed panel: y[t * ys + r] for r < nr. PT::group<KQ, T, FOLD>(w, sub, x, xs, s) sets s[p][t]
// to the Σ u q of one group: sub-panel p's vectors at w + p * sub, token t's G quants at x + t * xs.
template <class PT, int G, int FOLD, int T>
void panel_tile(int64_t n, const uint8_t* panel, int nr, const uint8_t* x, size_t xs, float* y, size_t ys) {
    using I = typename PT::I;
    using F = typename PT::F;
    constexpr int L = PT::L, P = PT::P, KQ = G / 4;
    constexpr size_t GB = panel_group_bytes<PT, G>();
    const int64_t ng = n / G;
    const size_t sub = size_t(ng) * GB;
    F acc[P][T];
    for (auto& row : acc) {
        for (auto& a : row) a = PT::fzero();
    }
    for (int64_t g = 0; g < ng; ++g) {
        const uint8_t* wg = panel + size_t(g) * GB;
        I s[P][T];
        PT::template group<KQ, T, FOLD>(wg, sub, x + size_t(g) * G, xs, s);
        for (int p = 0; p < P; ++p) {
            const uint8_t* sm = wg + size_t(p) * sub + size_t(KQ) * L * 4;
            const F sc = PT::fload(sm), mn = PT::fload(sm + L * 4);
            for (int t = 0; t < T; ++t) {
                const float* meta = reinterpret_cast<const float*>(x + size_t(t) * xs + size_t(n)) + 2 * g;
                acc[p][t] = PT::fma(PT::cvt(s[p][t]), PT::mul(sc, PT::set1(meta[0])), acc[p][t]);
                acc[p][t] = PT::fnma(mn, PT::set1(meta[1]), acc[p][t]);
            }
        }
    }
    for (int t = 0; t < T; ++t) {
        for (int p = 0; p < P; ++p) {
            const int rows = nr - p * L;
            if (rows >= L) {
                PT::fstore(y + size_t(t) * ys + size_t(p) * L, acc[p][t]);
            } else if (rows > 0) {
                alignas(64) float tmp[L];
                PT::fstore(tmp, acc[p][t]);
                std::memcpy(y + size_t(t) * ys + size_t(p) * L, tmp, sizeof(float) * size_t(rows));
            }
        }
    }
}

template <class PT, class D, int T = PT::T>
void panel_run(int64_t n, const void* panel, int nr, const void* x, size_t xs, int nt, float* y, size_t ys) {
    if constexpr (T > 1) {
        if (nt < T) {
            panel_run<PT, D, T - 1>(n, panel, nr, x, xs, nt, y, ys);
            return;
        }
    }
    panel_tile<PT, D::G, panel_fold(D::U_MAX), T>(n, static_cast<const uint8_t*>(panel), nr,
                                                  static_cast<const uint8_t*>(x), xs, y, ys);
}

// The QuantPanel of weight type D (PanelQ4_0, ...) read with activations of type Act (Q8_0 or Q8_K).
template <class PT, class D, bool ACT_Q8_K>
constexpr QuantPanel panel_of(int min_toks) {
    if constexpr (ACT_Q8_K) {
        return {PT::L * PT::P, PT::T, min_toks, panel_pack_bytes<PT, D>, panel_pack<PT, D>,
                panel_prep_bytes_q8_k<D::G>, panel_prep_q8_k<D::G>, panel_run<PT, D>};
    } else {
        return {PT::L * PT::P, PT::T, min_toks, panel_pack_bytes<PT, D>, panel_pack<PT, D>,
                panel_prep_bytes_q8_0, panel_prep_q8_0, panel_run<PT, D>};
    }
}

}  // namespace

}  // namespace versus::cpu::simd
