// Contract: the "avx2" quant rung (AVX2 + FMA + F16C; quants.cpp lists it only when all three are present).
//
// Integer dot products run on vpmaddubsw (unsigned x signed bytes -> pairs summed into int16) and vpmaddwd
// (int16 pairs -> int32), then one f32 FMA per block (Q4_0, Q8_0) or per super-block (K-quants):
//   Q4_0 x Q8_0  nibbles are used unsigned (0..15) and the -8 comes off as 8 * Σx per block, computed once per
//                token and shared by every row of the tile. Four blocks per step, one per 128-bit lane of two
//                registers ([a | b], [c | d]; elements 0..15 and 16..31 apart), so that a block's int16 pair
//                sums add up before vpmaddwd: the two halves of each block, then the [a | b] and [c | d]
//                registers folded into one (unpack + add; |sums| <= 15240), then one vpmaddwd, one convert
//                and one FMA for four blocks. On 128-bit datapaths (Zen 1), where the integer multiplies are
//                the bottleneck, that is 5 vector multiplies per 4 blocks instead of 8.
//   Q8_0 x Q8_0  two blocks per step in the same lane layout, signed x signed through |w| and sign(x, w)
//                (int16 pair sums reach 32512, so nothing folds before vpmaddwd).
//   Q4_K, Q5_K   per 64 elements one 32-byte load gives two sub-blocks (low and high nibbles; Q5_K ors in
//                the fifth bit from qh); their products are folded into one register and multiplied by the
//                two 6-bit sub-block scales in one vpmaddwd; mins come off once per super-block from the
//                activation group sums (bsums).
//   Q6_K         6-bit quants assembled from ql/qh, unsigned, two 16-element scale groups per register, two
//                registers folded per vpmaddwd; the -32 comes off through bsums and the scales.
//   F32/F16/BF16 weights widened to f32, FMA against f32 activations.
// Q4_0 and Q8_0 read activations that matmul prepared once per token in that lane layout, with the
// offsets and scales already computed (QuantTile::prep): per tile only the weights are decoded.
// Every tile prefetches the rows of the next tile (R rows on) at the place it reads: decode walks its rows
// as R short streams that start cold, which the hardware prefetchers pick up too late.
// Tiles are rows x tokens (decode runs rows x 1); each (row, token) pair keeps a vector of partial sums,
// reduced once at the end of the tile.
#include "backend/cpu/arch/x86/simd-avx2.hpp"
#include "backend/cpu/arch/gemm-driver.hpp"
#include "backend/cpu/arch/quant-panel.hpp"
#include "backend/cpu/arch/quant-tile.hpp"

namespace versus::cpu::qavx2 {

namespace {

using avx2::Avx2;
using simd::block_q4_0;
using simd::block_q8_0;
using simd::load_f32;
using simd::load_u16;
using simd::prefetch_block;
using simd::tile_of;

// ---- helpers -------------------------------------------------------------------------------------

inline __m256i loadu(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i loadu128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
// [16 bytes at lo | 16 bytes at hi]
inline __m256i loadu_pair(const uint8_t* lo, const uint8_t* hi) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(lo)), loadu128(hi), 1);
}
inline float load_f16(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }
// [f16 at a x4 | f16 at b x4] as f32.
inline __m256 scale_pair(const uint8_t* a, const uint8_t* b) {
    const __m128i dup = _mm_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3);
    const uint32_t v = uint32_t(load_u16(a)) | uint32_t(load_u16(b)) << 16;
    return _mm256_cvtph_ps(_mm_shuffle_epi8(_mm_cvtsi32_si128(int(v)), dup));
}

template <int R, int T>
inline void store_tile(const __m256 (&acc)[R][T], const float (&tail)[R][T], float* y, size_t ys) {
    simd::store_tile<Avx2, R, T>(acc, tail, y, ys);
}

// ---- activations ---------------------------------------------------------------------------------

// 32 floats -> 32 int8 of round(x * id), in order; returns the int32 sums of elements 0..15 and 16..31.
inline __m256i quantize32(const float* x, __m256 vid, int* sum_lo, int* sum_hi) {
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), vid));
    *sum_lo = avx2::hsum_i32(_mm256_add_epi32(q[0], q[1]));
    *sum_hi = avx2::hsum_i32(_mm256_add_epi32(q[2], q[3]));
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    // The packs work per 128-bit lane; this puts the 4-byte groups back in element order.
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline float amax_of(const float* x, int n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    return avx2::hmax_ps(m);
}

void act_q8_0(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 32; ++ib, x += 32, out += 34) {
        const float d = amax_of(x, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t h = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        std::memcpy(out, &h, 2);
        int s0, s1;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2), quantize32(x, _mm256_set1_ps(id), &s0, &s1));
    }
}

void act_q8_k(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 256; ++ib, x += 256, out += sizeof(versus_block_q8_K)) {
        const float d = amax_of(x, 256) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        std::memcpy(out, &d, 4);
        int16_t bsums[16];
        for (int i = 0; i < 8; ++i) {
            int s0, s1;
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 + 32 * i),
                                quantize32(x + 32 * i, _mm256_set1_ps(id), &s0, &s1));
            bsums[2 * i] = int16_t(s0), bsums[2 * i + 1] = int16_t(s1);
        }
        std::memcpy(out + 4 + 256, bsums, sizeof(bsums));
    }
}

// ---- Q4_0 x Q8_0 ---------------------------------------------------------------------------------

// The four f16 scales at p + k * stride (k = 0..3) as f32.
inline __m128 scale_quad(const uint8_t* p, size_t stride) {
    const uint64_t v = uint64_t(load_u16(p)) | uint64_t(load_u16(p + stride)) << 16 |
                       uint64_t(load_u16(p + 2 * stride)) << 32 | uint64_t(load_u16(p + 3 * stride)) << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128(int64_t(v)));
}

// Two [a | b] and [c | d] int16 vectors (8 lanes per block) folded into one, [a c a c | b d b d] in pairs
// of lanes: each output pair is the sum of two input pairs of the same block.
inline __m256i fold_blocks(__m256i ab, __m256i cd) {
    return _mm256_add_epi16(_mm256_unpacklo_epi32(ab, cd), _mm256_unpackhi_epi32(ab, cd));
}

// [s_a s_b s_c s_d] spread to match madd(fold_blocks(..)): [a c a c | b d b d].
inline __m256 spread_quad(__m128 s) {
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s), _mm256_setr_epi32(0, 2, 0, 2, 1, 3, 1, 3));
}

// Prepared activations (QuantTile::prep), per group of four blocks a, b, c, d, 192 bytes:
//   [0, 128)   the quants in the kernel's lane layout: [a0..15 | b0..15], [a16..31 | b16..31], then c, d
//   [128, 160) 8 * Σx, in int16 pairs folded like the products (the -8 of the nibbles)
//   [160, 176) the four scales as f32, then 16 bytes of padding
// followed by the row's last nb % 4 blocks as they were.
constexpr size_t Q4_0_GROUP = 192;

size_t q4_0_prep_bytes(int64_t n) { return size_t(n / 128) * Q4_0_GROUP + size_t((n / 32) % 4) * 34; }

void q4_0_prep(int64_t n, const void* xv, void* outv) {
    const uint8_t* x = static_cast<const uint8_t*>(xv);
    uint8_t* out = static_cast<uint8_t*>(outv);
    const __m256i eight = _mm256_set1_epi8(8);
    const int64_t groups = n / 128;
    for (int64_t g = 0; g < groups; ++g, x += 4 * 34, out += Q4_0_GROUP) {
        const __m256i v[4] = {loadu_pair(x + 2, x + 36), loadu_pair(x + 18, x + 52), loadu_pair(x + 70, x + 104),
                              loadu_pair(x + 86, x + 120)};
        for (int i = 0; i < 4; ++i) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), v[i]);
        const __m256i off =
            fold_blocks(_mm256_add_epi16(_mm256_maddubs_epi16(eight, v[0]), _mm256_maddubs_epi16(eight, v[1])),
                        _mm256_add_epi16(_mm256_maddubs_epi16(eight, v[2]), _mm256_maddubs_epi16(eight, v[3])));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 128), off);
        _mm256_storeu_ps(reinterpret_cast<float*>(out + 160), _mm256_castps128_ps256(scale_quad(x, 34)));
        std::memset(out + 176, 0, 16);
    }
    std::memcpy(out, x, size_t((n / 32) % 4) * 34);
}

struct Q4_0 {
    static constexpr int ROWS = 4, TOKS = 2;
    static constexpr auto prep_bytes = q4_0_prep_bytes;
    static constexpr auto prep = q4_0_prep;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 32;
        const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
        __m256 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm256_setzero_ps();
        }
        int64_t b = 0;
        // Four blocks a, b, c, d per step: per 128-bit lane [a | b] and [c | d], low halves (elements 0..15)
        // and high halves (16..31) in separate registers, so each block's nibbles meet its activations.
        for (; b + 4 <= nb; b += 4) {
            const uint8_t* xg = x + size_t(b / 4) * Q4_0_GROUP;
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 18;
                // The same place R rows on: the next tile's rows, which start cold in the caches.
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws + 64), _MM_HINT_T0);
                const __m256i q0 = loadu_pair(wb + 2, wb + 20), q1 = loadu_pair(wb + 38, wb + 56);
                const __m256i lo0 = _mm256_and_si256(q0, m4), hi0 = _mm256_and_si256(_mm256_srli_epi16(q0, 4), m4);
                const __m256i lo1 = _mm256_and_si256(q1, m4), hi1 = _mm256_and_si256(_mm256_srli_epi16(q1, 4), m4);
                const __m128 dw = scale_quad(wb, 18);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    const uint8_t* xt = xg + size_t(t) * xs;
                    // Pairs of nibble x int8 products; |sums| <= 4 * 15 * 127, then folded (<= 15240) and the
                    // offset taken off (|Σ(q - 8)x| <= 8128): int16 holds them all.
                    const __m256i s0 = _mm256_add_epi16(_mm256_maddubs_epi16(lo0, loadu(xt)),
                                                        _mm256_maddubs_epi16(hi0, loadu(xt + 32)));
                    const __m256i s1 = _mm256_add_epi16(_mm256_maddubs_epi16(lo1, loadu(xt + 64)),
                                                        _mm256_maddubs_epi16(hi1, loadu(xt + 96)));
                    const __m256i s = _mm256_madd_epi16(_mm256_sub_epi16(fold_blocks(s0, s1), loadu(xt + 128)), ones);
                    const __m128 dx = _mm_loadu_ps(reinterpret_cast<const float*>(xt + 160));
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), spread_quad(_mm_mul_ps(dw, dx)), acc[r][t]);
                }
            }
        }
        float tail[R][T] = {};
        const uint8_t* xtail = x + size_t(nb / 4) * Q4_0_GROUP;
        for (; b < nb; ++b) {
            for (int r = 0; r < R; ++r) {
                for (int t = 0; t < T; ++t) {
                    tail[r][t] += block_q4_0(w + size_t(r) * ws + size_t(b) * 18,
                                             xtail + size_t(t) * xs + size_t(b % 4) * 34);
                }
            }
        }
        store_tile<R, T>(acc, tail, y, ys);
    }
};

// ---- Q8_0 x Q8_0 ---------------------------------------------------------------------------------


// Prepared activations, per pair of blocks a, b, 96 bytes: [a0..15 | b0..15], [a16..31 | b16..31], then the
// scales spread as [da x4 | db x4] (f32); an odd last block follows as it was.
constexpr size_t Q8_0_PAIR = 96;

size_t q8_0_prep_bytes(int64_t n) { return size_t(n / 64) * Q8_0_PAIR + size_t((n / 32) % 2) * 34; }

void q8_0_prep(int64_t n, const void* xv, void* outv) {
    const uint8_t* x = static_cast<const uint8_t*>(xv);
    uint8_t* out = static_cast<uint8_t*>(outv);
    for (int64_t p = 0; p < n / 64; ++p, x += 68, out += Q8_0_PAIR) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), loadu_pair(x + 2, x + 36));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32), loadu_pair(x + 18, x + 52));
        _mm256_storeu_ps(reinterpret_cast<float*>(out + 64), scale_pair(x, x + 34));
    }
    std::memcpy(out, x, size_t((n / 32) % 2) * 34);
}

struct Q8_0 {
    static constexpr int ROWS = 4, TOKS = 2;
    static constexpr auto prep_bytes = q8_0_prep_bytes;
    static constexpr auto prep = q8_0_prep;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 32;
        const __m256i ones = _mm256_set1_epi16(1);
        __m256 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm256_setzero_ps();
        }
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            const uint8_t* xp = x + size_t(b / 2) * Q8_0_PAIR;
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 34;
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws + 64), _MM_HINT_T0);
                const __m256i wl = loadu_pair(wb + 2, wb + 36), wh = loadu_pair(wb + 18, wb + 52);
                const __m256i al = _mm256_sign_epi8(wl, wl), ah = _mm256_sign_epi8(wh, wh);  // |w|
                const __m256 dw = scale_pair(wb, wb + 34);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    const uint8_t* xt = xp + size_t(t) * xs;
                    // |w| * sign(x, w) = w * x; pairs stay within int16 (2 * 128 * 127).
                    const __m256i pl =
                        _mm256_madd_epi16(_mm256_maddubs_epi16(al, _mm256_sign_epi8(loadu(xt), wl)), ones);
                    const __m256i ph =
                        _mm256_madd_epi16(_mm256_maddubs_epi16(ah, _mm256_sign_epi8(loadu(xt + 32), wh)), ones);
                    const __m256 dx = _mm256_loadu_ps(reinterpret_cast<const float*>(xt + 64));
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(pl, ph)), _mm256_mul_ps(dw, dx),
                                                acc[r][t]);
                }
            }
        }
        float tail[R][T] = {};
        if (b < nb) {
            const uint8_t* xtail = x + size_t(nb / 2) * Q8_0_PAIR;
            for (int r = 0; r < R; ++r) {
                for (int t = 0; t < T; ++t) {
                    tail[r][t] = block_q8_0(w + size_t(r) * ws + size_t(b) * 34, xtail + size_t(t) * xs);
                }
            }
        }
        store_tile<R, T>(acc, tail, y, ys);
    }
};

// ---- K-quants x Q8_K -----------------------------------------------------------------------------

constexpr size_t Q8K_BYTES = sizeof(versus_block_q8_K);

// The 8 scales and 8 mins of a Q4_K/Q5_K super-block as bytes: sc[0..7] then m[0..7]. Built in registers: going
// through a byte array makes the 16-byte load wait on four 4-byte stores it cannot forward from.
inline __m128i k4_scales(const uint8_t* s) {
    uint32_t w0, w1, w2;
    std::memcpy(&w0, s, 4);
    std::memcpy(&w1, s + 4, 4);
    std::memcpy(&w2, s + 8, 4);
    const uint32_t sc_lo = w0 & 0x3f3f3f3fu, m_lo = w1 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u);
    const uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u);
    return _mm_setr_epi32(int(sc_lo), int(sc_hi), int(m_lo), int(m_hi));
}

// Two vectors of int16 pair sums folded into one: the even 32-bit lanes of the result hold a's pairs, the odd
// ones b's, each the sum of two of the input's (so the scale multiply, vpmaddwd, runs once for both).
inline __m256i fold_pairs(__m256i a, __m256i b) {
    return _mm256_add_epi16(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
}

// vpshufb controls that lay int16 scales out to match fold_pairs: k4[c] gives, in both 128-bit lanes,
// [s(2c) s(2c) s(2c+1) s(2c+1)] twice; q6[m] gives [s(4m) s(4m) s(4m+2) s(4m+2)] twice in the low lane and
// [s(4m+1) s(4m+1) s(4m+3) s(4m+3)] twice in the high lane (s(j) = int16 number j of the source lane).
// A table, so that the controls are loads rather than instructions.
struct ShuffleTable {
    alignas(32) uint8_t k4[4][32];
    alignas(32) uint8_t q6[2][32];
};
constexpr ShuffleTable make_shuffles() {
    ShuffleTable t{};
    for (int i = 0; i < 32; i += 2) {
        const int lane16 = (i % 16) / 2;  // int16 index within the 128-bit lane
        const bool odd = (lane16 / 2) % 2 == 1;
        for (int c = 0; c < 4; ++c) {
            const int j = odd ? 2 * c + 1 : 2 * c;
            t.k4[c][i] = uint8_t(2 * j), t.k4[c][i + 1] = uint8_t(2 * j + 1);
        }
        for (int m = 0; m < 2; ++m) {
            const int j = 4 * m + (odd ? 2 : 0) + (i < 16 ? 0 : 1);
            t.q6[m][i] = uint8_t(2 * j), t.q6[m][i + 1] = uint8_t(2 * j + 1);
        }
    }
    return t;
}
constexpr ShuffleTable SHUF = make_shuffles();

inline __m256i shuffle_by(__m256i v, const uint8_t (&ctl)[32]) {
    return _mm256_shuffle_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(ctl)));
}

// Q4_K (FIVE = false) and Q5_K.
template <bool FIVE>
struct K4 {
    static constexpr int ROWS = 4, TOKS = 2;
    static constexpr size_t WB = FIVE ? 176 : 144;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 256;
        const __m256i m4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
        __m256 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm256_setzero_ps();
        }
        for (int64_t b = 0; b < nb; ++b) {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * WB;
                // Not prefetch_block: this compute-bound rung measured slower with the straddled line fetched too.
                for (size_t off = 0; off < WB; off += 64) {
                    _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws + off), _MM_HINT_T0);
                }
                const uint8_t* qs = wb + (FIVE ? 48 : 16);
                const __m128i sm16 = k4_scales(wb + 4);
                // i16 scales in both lanes; mins doubled per pair of bsums.
                const __m128i sc8 = _mm_cvtepu8_epi16(sm16);
                const __m256i sc16 = _mm256_broadcastsi128_si256(sc8);
                const __m128i mn8 = _mm_cvtepu8_epi16(_mm_srli_si128(sm16, 8));
                const __m256i mins = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(mn8, mn8)),
                                                             _mm_unpackhi_epi16(mn8, mn8), 1);
                const float d = load_f16(wb), dmin = load_f16(wb + 2);
                __m256i qh = _mm256_setzero_si256();
                if constexpr (FIVE) qh = loadu(wb + 16);
                __m256i isum[T];
                for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int c = 0; c < 4; ++c) {
                    const __m256i q = loadu(qs + 32 * c);
                    __m256i lo = _mm256_and_si256(q, m4);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                    if constexpr (FIVE) {
                        // Bit 2c (2c+1) of each qh byte moved to bit 4; 16-bit shifts spill across bytes only
                        // into bits the mask drops.
                        const int sl = 2 * c, sh = 2 * c + 1;
                        const __m256i hl = sl <= 4 ? _mm256_slli_epi16(qh, 4 - sl) : _mm256_srli_epi16(qh, sl - 4);
                        const __m256i hh = sh <= 4 ? _mm256_slli_epi16(qh, 4 - sh) : _mm256_srli_epi16(qh, sh - 4);
                        lo = _mm256_or_si256(lo, _mm256_and_si256(hl, bit4));
                        hi = _mm256_or_si256(hi, _mm256_and_si256(hh, bit4));
                    }
                    const __m256i sc = shuffle_by(sc16, SHUF.k4[c]);
                    for (int t = 0; t < T; ++t) {
                        // Pair sums <= 2 * 31 * 127, two of them folded: within int16.
                        const uint8_t* xq = x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 4 + 64 * c;
                        const __m256i f = fold_pairs(_mm256_maddubs_epi16(lo, loadu(xq)),
                                                     _mm256_maddubs_epi16(hi, loadu(xq + 32)));
                        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(f, sc));
                    }
                }
                for (int t = 0; t < T; ++t) {
                    const uint8_t* xb = x + size_t(t) * xs + size_t(b) * Q8K_BYTES;
                    const float dx = load_f32(xb);
                    const __m256i msum = _mm256_madd_epi16(mins, loadu(xb + 260));
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_set1_ps(d * dx), acc[r][t]);
                    acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * dx), acc[r][t]);
                }
            }
        }
        const float tail[R][T] = {};
        store_tile<R, T>(acc, tail, y, ys);
    }
};

struct Q6_K {
    static constexpr int ROWS = 4, TOKS = 2;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 256;
        const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
        __m256 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm256_setzero_ps();
        }
        for (int64_t b = 0; b < nb; ++b) {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 210;
                prefetch_block<210>(wb + R * ws);
                const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(wb + 192));  // 16 scales as i16
                const float d = load_f16(wb + 208);
                __m256i isum[T];
                for (int t = 0; t < T; ++t) {
                    // -32 * Σ_g sc_g * bsum_g, the offset of the unsigned quants.
                    const __m256i off = _mm256_madd_epi16(sc16, loadu(x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 260));
                    isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
                }
#pragma GCC unroll 2
                for (int h = 0; h < 2; ++h) {
                    const __m256i l0 = loadu(wb + 64 * h), l1 = loadu(wb + 64 * h + 32), qh = loadu(wb + 128 + 32 * h);
                    const __m256i q[4] = {
                        _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                        _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30)),
                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                        _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)),
                    };
                    // Scales of this half in both lanes: [sc(8h .. 8h+7) | same].
                    const __m256i sch = h == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00)
                                               : _mm256_permute2x128_si256(sc16, sc16, 0x11);
#pragma GCC unroll 2
                    for (int m = 0; m < 2; ++m) {
                        // Elements 128h + 64m .. +63: q[2m] holds groups 8h + 4m (low lane), +1 (high lane), q[2m+1]
                        // groups +2 and +3. Pair sums <= 2 * 63 * 128, two folded: within int16.
                        const __m256i s = shuffle_by(sch, SHUF.q6[m]);
                        for (int t = 0; t < T; ++t) {
                            const uint8_t* xq = x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 4 + 128 * h + 64 * m;
                            const __m256i f = fold_pairs(_mm256_maddubs_epi16(q[2 * m], loadu(xq)),
                                                         _mm256_maddubs_epi16(q[2 * m + 1], loadu(xq + 32)));
                            isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(f, s));
                        }
                    }
                }
                for (int t = 0; t < T; ++t) {
                    const float dx = load_f32(x + size_t(t) * xs + size_t(b) * Q8K_BYTES);
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_set1_ps(d * dx), acc[r][t]);
                }
            }
        }
        const float tail[R][T] = {};
        store_tile<R, T>(acc, tail, y, ys);
    }
};

// ---- prefill panels (arch/quant-panel.hpp) -------------------------------------------------------

// 8 rows per vector, one sub-panel by four tokens (16 registers): vpmaddubsw steps added in int16 (FOLD of
// them) and widened by vpmaddwd.
struct PanelAvx2 {
    using I = __m256i;
    using F = __m256;
    static constexpr int L = 8, P = 1, T = 4;
    static F fzero() { return _mm256_setzero_ps(); }
    static I iload(const uint8_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
    static F fload(const uint8_t* p) { return _mm256_load_ps(reinterpret_cast<const float*>(p)); }
    static void fstore(float* p, F v) { _mm256_storeu_ps(p, v); }
    static I bcast4(const uint8_t* p) {
        int32_t v;
        std::memcpy(&v, p, 4);
        return _mm256_set1_epi32(v);
    }
    static F cvt(I v) { return _mm256_cvtepi32_ps(v); }
    static F set1(float v) { return _mm256_set1_ps(v); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F fnma(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
    static void scale_f16(const uint16_t* h, const float* k, uint8_t* out) {
        _mm256_store_ps(reinterpret_cast<float*>(out),
                        _mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h))),
                                      _mm256_load_ps(k)));
    }

    template <int KQ, int T_, int FOLD>
    static void group(const uint8_t* w, size_t, const uint8_t* x, size_t xs, I (&s)[P][T_]) {
        const I ones = _mm256_set1_epi16(1);
        for (auto& a : s[0]) a = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int k = 0; k < KQ; k += FOLD) {
            I u[FOLD];
            for (int f = 0; f < FOLD; ++f) u[f] = iload(w + 32 * (k + f));
            for (int t = 0; t < T_; ++t) {
                I h = _mm256_maddubs_epi16(u[0], bcast4(x + size_t(t) * xs + 4 * k));
                for (int f = 1; f < FOLD; ++f) {
                    h = _mm256_add_epi16(h, _mm256_maddubs_epi16(u[f], bcast4(x + size_t(t) * xs + 4 * (k + f))));
                }
                s[0][t] = _mm256_add_epi32(s[0][t], _mm256_madd_epi16(h, ones));
            }
        }
    }

    // 8 rows of G bytes (row-major at t) into G/4 vectors at out, lane j of vector k = dword k of row j: the
    // 8 x 8 float transposition moves dwords as they are (G = 16: four of its columns are padding).
    template <int G>
    static void transpose(const uint8_t* t, uint8_t* out) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) {
            r[i] = G == 32 ? _mm256_load_ps(reinterpret_cast<const float*>(t + 32 * i))
                           : _mm256_castps128_ps256(_mm_load_ps(reinterpret_cast<const float*>(t + 16 * i)));
        }
        Avx2::transpose(r);
        for (int k = 0; k < G / 4; ++k) _mm256_store_ps(reinterpret_cast<float*>(out + 32 * k), r[k]);
    }
};

// Q8_0's panel holds signed weights (PanelQ8_0Signed): each step multiplies |w| by x carrying w's sign, as the
// tiles do, so that its pairs stay within int16 (2 * 128 * 127); no two steps add up before they are widened.
struct PanelAvx2Signed : PanelAvx2 {
    template <int KQ, int T_, int FOLD>
    static void group(const uint8_t* w, size_t, const uint8_t* x, size_t xs, I (&s)[P][T_]) {
        static_assert(FOLD == 1, "signed pairs leave no room to add steps in int16");
        const I ones = _mm256_set1_epi16(1);
        for (auto& a : s[0]) a = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int k = 0; k < KQ; ++k) {
            const I wk = iload(w + 32 * k), ak = _mm256_sign_epi8(wk, wk);  // |w|: -128 stays 0x80, read as 128
            for (int t = 0; t < T_; ++t) {
                const I h = _mm256_maddubs_epi16(ak, _mm256_sign_epi8(bcast4(x + size_t(t) * xs + 4 * k), wk));
                s[0][t] = _mm256_add_epi32(s[0][t], _mm256_madd_epi16(h, ones));
            }
        }
    }
};

constexpr int PANEL_MIN_TOKS = 32;

constexpr QuantKernelSet AVX2 = {
    /* .isa           = */ "avx2",
    /* .quantize_q8_0 = */ act_q8_0,
    /* .quantize_q8_k = */ act_q8_k,
    /* .f32           = */ tile_of<simd::FloatTile<Avx2, simd::Fmt::F32>>(),
    /* .f16           = */ simd::with_gemm(tile_of<simd::FloatTile<Avx2, simd::Fmt::F16>>(),
                                           {simd::GEMM_MIN_TOKS, simd::gemm_weights<Avx2, false>}),
    /* .bf16          = */ simd::with_gemm(tile_of<simd::FloatTile<Avx2, simd::Fmt::BF16>>(),
                                           {simd::GEMM_MIN_TOKS, simd::gemm_weights<Avx2, true>}),
    /* .q4_0          = */ simd::with_panel(tile_of<Q4_0>(),
                                             simd::panel_of<PanelAvx2, simd::PanelQ4_0, false>(PANEL_MIN_TOKS)),
    /* .q8_0          = */ simd::with_panel(
        tile_of<Q8_0>(), simd::panel_of<PanelAvx2Signed, simd::PanelQ8_0Signed, false>(PANEL_MIN_TOKS)),
    /* .q4_k          = */ simd::with_panel(tile_of<K4<false>>(),
                                             simd::panel_of<PanelAvx2, simd::PanelK4<false>, true>(PANEL_MIN_TOKS)),
    /* .q5_k          = */ simd::with_panel(tile_of<K4<true>>(),
                                             simd::panel_of<PanelAvx2, simd::PanelK4<true>, true>(PANEL_MIN_TOKS)),
    /* .q6_k          = */ simd::with_panel(tile_of<Q6_K>(),
                                             simd::panel_of<PanelAvx2, simd::PanelQ6_K, true>(PANEL_MIN_TOKS)),
};

}  // namespace

const QuantKernelSet& rung() { return AVX2; }

}  // namespace versus::cpu::qavx2
