// Contract: the two AVX-512 quant rungs. Built with -mavx512{f,bw,vl,dq,vnni} -mfma -mf16c; quants.cpp lists
// each rung only when cpu_features() has every extension it executes:
//   "avx512"       F/BW/VL/DQ: the AVX2 rung's method at 512 bits (vpmaddubsw, vpmaddwd).
//   "avx512-vnni"  adds AVX512-VNNI: vpdpbusd (unsigned x signed byte quads into int32, no int16 saturation)
//                  for Q4_0/Q8_0 and vpdpwssd (int16 pairs times the sub-block scales, accumulated) for the
//                  K-quants.
// Layouts, per 512-bit register:
//   Q4_0, Q8_0   four blocks, one per 128-bit lane: [a0..15 | b0..15 | c0..15 | d0..15] and the same for
//                elements 16..31, so one FMA scales four blocks. Q4_0 takes the -8 off as 8 * Σx (folded
//                into the accumulator's initial value with VNNI). Q8_0 with VNNI multiplies x + 128 (unsigned)
//                by w (signed) and subtracts 128 * Σw per row; without VNNI, |w| times x negated where w < 0.
//   Q4_K, Q5_K   64 elements: the low nibbles of 32 quant bytes (sub-block 2c) and the high nibbles (2c + 1).
//   Q6_K         64 elements: two 32-element runs assembled from ql/qh (four scale groups per register).
// Q4_0/Q8_0 read activations prepared once per matmul in that layout (Prep below); leftover blocks (fewer
// than four) go through a scalar loop.
//
// Test build: with VERSUS_KERNELS_AVX512_SIMDE the file is compiled a second time, without -mavx512*, against
// SIMDe's portable AVX-512, as namespace qavx512_simde with rungs named "*-simde" (see kernels-avx512.cpp).
#include "backend/cpu/arch/x86/simd-avx512.hpp"
#include "backend/cpu/arch/gemm-driver.hpp"
#include "backend/cpu/arch/quant-panel.hpp"
#include "backend/cpu/arch/quant-tile.hpp"

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
#define VERSUS_QAVX512_NS qavx512_simde
#else
#define VERSUS_QAVX512_NS qavx512
#endif

namespace versus::cpu::VERSUS_QAVX512_NS {

namespace {

using namespace versus::cpu::VERSUS_AVX512_NS;
using simd::block_q4_0;
using simd::block_q8_0;
using simd::load_f32;
using simd::load_u16;
using simd::prefetch_block;
using simd::tile_of;

// ---- helpers -------------------------------------------------------------------------------------

inline __m512i loadu512(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline __m256i loadu256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i loadu128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline float load_f16(const uint8_t* p) { return f16_scalar(load_u16(p)); }
// Four 16-byte runs, p + k * stride for k = 0..3, one per 128-bit lane.
inline __m512i load_lanes(const uint8_t* p, size_t stride) {
    __m512i v = _mm512_castsi128_si512(loadu128(p));
    v = _mm512_inserti32x4(v, loadu128(p + stride), 1);
    v = _mm512_inserti32x4(v, loadu128(p + 2 * stride), 2);
    return _mm512_inserti32x4(v, loadu128(p + 3 * stride), 3);
}

// Four 18-byte Q4_0 blocks at p: their quants one block per 128-bit lane, and their scales as f32, each over
// the four lanes of its block, from two loads and two byte permutes (VBMI).
inline void gather_q4_0(const uint8_t* p, __m512i* q, __m512* d) {
    alignas(64) static constexpr uint8_t IQ[64] = {
        2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17,   // block 0: bytes 2..17
        20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,   // block 1: 20..35
        38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,   // block 2: 38..53
        56+64-8, 57+64-8, 58+64-8, 59+64-8, 60+64-8, 61+64-8, 62+64-8, 63+64-8,
        64+64-8, 65+64-8, 66+64-8, 67+64-8, 68+64-8, 69+64-8, 70+64-8, 71+64-8};  // block 3: 56..71 from the second load
    alignas(64) static constexpr uint8_t IS[64] = {
        0,  1,  0,  1,  0,  1,  0,  1,  18, 19, 18, 19, 18, 19, 18, 19,
        36, 37, 36, 37, 36, 37, 36, 37, 54, 55, 54, 55, 54, 55, 54, 55};
    const __m512i a = loadu512(p), b = loadu512(p + 8);
    *q = _mm512_permutex2var_epi8(a, _mm512_load_si512(IQ), b);
    *d = cvt_f16x16(_mm512_castsi512_si256(_mm512_permutexvar_epi8(_mm512_load_si512(IS), a)));
}

// Four 34-byte Q8_0 blocks at p: quants 0..15 and 16..31 of each block, one block per 128-bit lane, and the
// scales as f32 over the lanes of their block, from three loads, three byte permutes and a blend (VBMI). Bytes
// 128..135 (the end of the last block) lie beyond the two-register reach of vpermt2b and come from a third
// load at p + 72, where they sit in the same byte positions of the register as in the result.
inline void gather_q8_0(const uint8_t* p, __m512i* wl, __m512i* wh, __m512* d) {
    alignas(64) static constexpr uint8_t IL[64] = {
        2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,
        36,  37,  38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,
        70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,  85,
        104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119};
    alignas(64) static constexpr uint8_t IH[64] = {
        18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,
        52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62,  63,  64,  65,  66,  67,
        86,  87,  88,  89,  90,  91,  92,  93,  94,  95,  96,  97,  98,  99,  100, 101,
        120, 121, 122, 123, 124, 125, 126, 127, 0,   0,   0,   0,   0,   0,   0,   0};
    alignas(64) static constexpr uint8_t IS[64] = {
        0,  1,  0,  1,  0,  1,  0,  1,  34,  35,  34,  35,  34,  35,  34,  35,
        68, 69, 68, 69, 68, 69, 68, 69, 102, 103, 102, 103, 102, 103, 102, 103};
    const __m512i a = loadu512(p), b = loadu512(p + 64);
    *wl = _mm512_permutex2var_epi8(a, _mm512_load_si512(IL), b);
    *wh = _mm512_mask_blend_epi8(__mmask64(0xFF00000000000000ull), _mm512_permutex2var_epi8(a, _mm512_load_si512(IH), b),
                                 loadu512(p + 72));
    *d = cvt_f16x16(_mm512_castsi512_si256(_mm512_permutex2var_epi8(a, _mm512_load_si512(IS), b)));
}

// The f16 scales at p + k * stride (k = 0..3), each repeated over the four f32 of its lane.
inline __m512 scale_lanes(const uint8_t* p, size_t stride) {
    const uint64_t v = uint64_t(load_u16(p)) | uint64_t(load_u16(p + stride)) << 16 |
                       uint64_t(load_u16(p + 2 * stride)) << 32 | uint64_t(load_u16(p + 3 * stride)) << 48;
    const __m256i idx = _mm256_setr_epi16(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return cvt_f16x16(_mm256_permutexvar_epi16(idx, _mm256_set_m128i(_mm_setzero_si128(), _mm_cvtsi64_si128(int64_t(v)))));
}

// 256-bit int32 vector in the low half of a zeroed 512-bit one.
inline __m512i zext256(__m256i v) { return _mm512_inserti64x4(_mm512_setzero_si512(), v, 0); }

template <int R, int T>
inline void store_tile(const __m512 (&acc)[R][T], const float (&tail)[R][T], float* y, size_t ys) {
    simd::store_tile<Avx512, R, T>(acc, tail, y, ys);
}

// acc + int16 pairs of p times int16 pairs of s.
template <bool VNNI>
inline __m512i dot_i16(__m512i acc, __m512i p, __m512i s) {
    if constexpr (VNNI) {
        return _mm512_dpwssd_epi32(acc, p, s);
    } else {
        return _mm512_add_epi32(acc, madd_i16(p, s));
    }
}

// ---- activations ---------------------------------------------------------------------------------

inline float amax_of(const float* x, int n) {
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    return hmax_ps(m);
}

void act_q8_0(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 32; ++ib, x += 32, out += 34) {
        const float d = amax_of(x, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t h = f16_from(d);
        std::memcpy(out, &h, 2);
        const __m512 vid = _mm512_set1_ps(id);
        for (int i = 0; i < 2; ++i) {
            const __m512i q = cvt_ps_i32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * i), vid));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 + 16 * i), _mm512_cvtsepi32_epi8(q));
        }
    }
}

void act_q8_k(const float* x, void* dst, int64_t n) {
    uint8_t* out = static_cast<uint8_t*>(dst);
    for (int64_t ib = 0; ib < n / 256; ++ib, x += 256, out += sizeof(versus_block_q8_K)) {
        const float d = amax_of(x, 256) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        std::memcpy(out, &d, 4);
        const __m512 vid = _mm512_set1_ps(id);
        int16_t bsums[16];
        for (int g = 0; g < 16; ++g) {
            const __m512i q = cvt_ps_i32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), vid));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4 + 16 * g), _mm512_cvtsepi32_epi8(q));
            bsums[g] = int16_t(hsum_i32(q));
        }
        std::memcpy(out + 4 + 256, bsums, sizeof(bsums));
    }
}

// ---- Q4_0 / Q8_0 x Q8_0 --------------------------------------------------------------------------

// Prepared activations (QuantTile::prep), per group of four blocks, 256 bytes (Q4_0) or 192 (Q8_0):
//   [0, 128)   the quants in the kernels' lane layout, elements 0..15 then 16..31 of blocks a | b | c | d
//              (Q8_0 with VNNI: + 128, as unsigned bytes)
//   Q4_0 only: 64 bytes of offsets, -8 * Σx per int32 lane (VNNI: the sums' starting value) or 8 * Σx per
//              int16 pair (without VNNI)
//   then the four scales as f32, each over the four lanes of its block
// followed by the row's last nb % 4 blocks as they were.
template <bool Q4, bool VNNI>
struct Prep {
    static constexpr size_t GROUP = Q4 ? 256 : 192;
    static size_t bytes(int64_t n) { return size_t(n / 128) * GROUP + size_t((n / 32) % 4) * 34; }
    static void run(int64_t n, const void* xv, void* outv) {
        const uint8_t* x = static_cast<const uint8_t*>(xv);
        uint8_t* out = static_cast<uint8_t*>(outv);
        const __m512i eight = _mm512_set1_epi8(8), bias = _mm512_set1_epi8(int8_t(-128));
        for (int64_t g = 0; g < n / 128; ++g, x += 4 * 34, out += GROUP) {
            __m512i xl = load_lanes(x + 2, 34), xh = load_lanes(x + 18, 34);
            if constexpr (Q4) {
                __m512i off;
                if constexpr (VNNI) {
                    off = _mm512_sub_epi32(_mm512_setzero_si512(),
                                           _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, xl),
                                                               eight, xh));
                } else {
                    off = _mm512_add_epi16(_mm512_maddubs_epi16(eight, xl), _mm512_maddubs_epi16(eight, xh));
                }
                _mm512_storeu_si512(out + 128, off);
            } else if constexpr (VNNI) {
                xl = _mm512_xor_si512(xl, bias);
                xh = _mm512_xor_si512(xh, bias);
            }
            _mm512_storeu_si512(out, xl);
            _mm512_storeu_si512(out + 64, xh);
            _mm512_storeu_ps(out + GROUP - 64, scale_lanes(x, 34));
        }
        std::memcpy(out, x, size_t((n / 32) % 4) * 34);
    }
};

template <bool VNNI, bool VBMI = false>
struct Q4_0 {
    static constexpr int ROWS = 4, TOKS = 4;
    static constexpr size_t GROUP = Prep<true, VNNI>::GROUP;
    static constexpr auto prep_bytes = Prep<true, VNNI>::bytes;
    static constexpr auto prep = Prep<true, VNNI>::run;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 32;
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        __m512 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm512_setzero_ps();
        }
        int64_t b = 0;
        for (; b + 4 <= nb; b += 4) {
            const uint8_t* xg = x + size_t(b / 4) * GROUP;
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 18;
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws + 64), _MM_HINT_T0);
                __m512i q;
                __m512 dw;
                if constexpr (VBMI) {
                    gather_q4_0(wb, &q, &dw);
                } else {
                    q = load_lanes(wb + 2, 18);
                    dw = scale_lanes(wb, 18);
                }
                const __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) {
                    const uint8_t* xt = xg + size_t(t) * xs;
                    __m512i s;
                    if constexpr (VNNI) {
                        s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(loadu512(xt + 128), lo, loadu512(xt)), hi,
                                                loadu512(xt + 64));
                    } else {
                        // |pair sums| <= 2 * 2 * 15 * 127, minus 8 * Σx: within int16.
                        const __m512i p = _mm512_sub_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(lo, loadu512(xt)),
                                                                            _mm512_maddubs_epi16(hi, loadu512(xt + 64))),
                                                           loadu512(xt + 128));
                        s = madd_i16(p, _mm512_set1_epi16(1));
                    }
                    const __m512 dx = _mm512_loadu_ps(xt + 192);
                    acc[r][t] = _mm512_fmadd_ps(cvt_i32_ps(s), _mm512_mul_ps(dw, dx), acc[r][t]);
                }
            }
        }
        float tail[R][T] = {};
        const uint8_t* xtail = x + size_t(nb / 4) * GROUP;
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

template <bool VNNI, bool VBMI = false>
struct Q8_0 {
    static constexpr int ROWS = 4, TOKS = 4;
    static constexpr size_t GROUP = Prep<false, VNNI>::GROUP;
    static constexpr auto prep_bytes = Prep<false, VNNI>::bytes;
    static constexpr auto prep = Prep<false, VNNI>::run;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 32;
        const __m512i bias = _mm512_set1_epi8(int8_t(-128));  // 0x80: 128 as unsigned
        __m512 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm512_setzero_ps();
        }
        int64_t b = 0;
        for (; b + 4 <= nb; b += 4) {
            const uint8_t* xg = x + size_t(b / 4) * GROUP;
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 34;
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws + 64), _MM_HINT_T0);
                _mm_prefetch(reinterpret_cast<const char*>(wb + R * ws + 128), _MM_HINT_T0);
                __m512i wl, wh;
                __m512 dw;
                if constexpr (VBMI) {
                    gather_q8_0(wb, &wl, &wh, &dw);
                } else {
                    wl = load_lanes(wb + 2, 34);
                    wh = load_lanes(wb + 18, 34);
                    dw = scale_lanes(wb, 34);
                }
                if constexpr (VNNI) {
                    // Σ(x + 128) w - 128 Σw: the second term once per row, as the sums' starting value.
                    const __m512i corr = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, wl),
                                                             bias, wh);
                    const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), corr);
#pragma GCC unroll 4
                    for (int t = 0; t < T; ++t) {
                        const uint8_t* xt = xg + size_t(t) * xs;
                        const __m512i s =
                            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(start, loadu512(xt), wl), loadu512(xt + 64), wh);
                        acc[r][t] = _mm512_fmadd_ps(cvt_i32_ps(s), _mm512_mul_ps(dw, _mm512_loadu_ps(xt + 128)),
                                                    acc[r][t]);
                    }
                } else {
                    const __m512i al = _mm512_abs_epi8(wl), ah = _mm512_abs_epi8(wh);
                    const auto nl = _mm512_movepi8_mask(wl);
                    const auto nh = _mm512_movepi8_mask(wh);
                    const __m512i ones = _mm512_set1_epi16(1);
#pragma GCC unroll 4
                    for (int t = 0; t < T; ++t) {
                        const uint8_t* xt = xg + size_t(t) * xs;
                        const __m512i xl = loadu512(xt), xh = loadu512(xt + 64);
                        // |w| * (x negated where w < 0); |w| <= 128, so pairs stay within int16.
                        const __m512i sl = _mm512_mask_sub_epi8(xl, nl, _mm512_setzero_si512(), xl);
                        const __m512i sh = _mm512_mask_sub_epi8(xh, nh, _mm512_setzero_si512(), xh);
                        const __m512i s = _mm512_add_epi32(madd_i16(_mm512_maddubs_epi16(al, sl), ones),
                                                           madd_i16(_mm512_maddubs_epi16(ah, sh), ones));
                        acc[r][t] = _mm512_fmadd_ps(cvt_i32_ps(s), _mm512_mul_ps(dw, _mm512_loadu_ps(xt + 128)),
                                                    acc[r][t]);
                    }
                }
            }
        }
        float tail[R][T] = {};
        const uint8_t* xtail = x + size_t(nb / 4) * GROUP;
        for (; b < nb; ++b) {
            for (int r = 0; r < R; ++r) {
                for (int t = 0; t < T; ++t) {
                    tail[r][t] += block_q8_0(w + size_t(r) * ws + size_t(b) * 34,
                                             xtail + size_t(t) * xs + size_t(b % 4) * 34);
                }
            }
        }
        store_tile<R, T>(acc, tail, y, ys);
    }
};

// ---- K-quants x Q8_K -----------------------------------------------------------------------------

constexpr size_t Q8K_BYTES = sizeof(versus_block_q8_K);

// The 8 scales and 8 mins of a Q4_K/Q5_K super-block as bytes: sc[0..7] then m[0..7], unpacked in vector
// registers from the 12 bytes at s (the 4 bytes after them are read and dropped). With w0, w1, w2 its three
// little-endian words: sc[0..3] = w0 & 63, m[0..3] = w1 & 63, sc[4..7] = (w2 & 15) | (w0 >> 6) << 4 and
// m[4..7] = (w2 >> 4 & 15) | (w1 >> 6) << 4, bytewise.
inline __m128i k4_scales(const uint8_t* s) {
    const __m128i v = loadu128(s);
    const __m128i p = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));  // w0 w2 w1 w2
    const __m128i q = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0));  // w0 w0 w1 w1
    const __m128i lo = _mm_and_si128(_mm_srlv_epi32(p, _mm_setr_epi32(0, 0, 0, 4)),
                                     _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    const __m128i hi = _mm_and_si128(_mm_srli_epi32(q, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    return _mm_or_si128(lo, hi);
}

// i16 index vectors: [a x16 | b x16] for the two sub-blocks of a 64-element run (K4), and four groups of 8
// for Q6_K.
inline __m512i idx_halves(int a, int b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(int16_t(a))), _mm256_set1_epi16(int16_t(b)), 1);
}
inline __m512i idx_quarters(int g) {
    const __m128i a = _mm_set1_epi16(int16_t(g)), b = _mm_set1_epi16(int16_t(g + 1));
    const __m128i c = _mm_set1_epi16(int16_t(g + 2)), d = _mm_set1_epi16(int16_t(g + 3));
    __m512i v = _mm512_castsi128_si512(a);
    v = _mm512_inserti32x4(v, b, 1);
    v = _mm512_inserti32x4(v, c, 2);
    return _mm512_inserti32x4(v, d, 3);
}

// Q8_K activations re-laid for K4 (QuantTile::prep): the same 292 bytes per block, with the quants of the
// sub-blocks of 32 in the order 0 2 1 3 4 6 5 7, so that one 64-byte load of Q4_K quants (chunks 2p and
// 2p + 1) meets its low nibbles (sub-blocks 4p, 4p + 2) and its high nibbles (4p + 1, 4p + 3) in two
// consecutive 64-byte runs of activations. Scale and group sums stay where they were.
struct PrepK4 {
    static size_t bytes(int64_t n) { return size_t(n / 256) * Q8K_BYTES; }
    static void run(int64_t n, const void* xv, void* outv) {
        const uint8_t* x = static_cast<const uint8_t*>(xv);
        uint8_t* out = static_cast<uint8_t*>(outv);
        for (int64_t b = 0; b < n / 256; ++b, x += Q8K_BYTES, out += Q8K_BYTES) {
            std::memcpy(out, x, Q8K_BYTES);
            for (int p = 0; p < 2; ++p) {
                const uint8_t* q = x + 4 + 128 * p;
                uint8_t* o = out + 4 + 128 * p;
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 32), loadu256(q + 64));
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 64), loadu256(q + 32));
            }
        }
    }
};

template <bool VNNI, bool FIVE>
struct K4 {
    static constexpr int ROWS = 4, TOKS = 4;
    static constexpr size_t WB = FIVE ? 176 : 144;
    static constexpr auto prep_bytes = PrepK4::bytes;
    static constexpr auto prep = PrepK4::run;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 256;
        const __m512i m4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10);
        __m512 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm512_setzero_ps();
        }
        for (int64_t b = 0; b < nb; ++b) {
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * WB;
                const uint8_t* qs = wb + (FIVE ? 48 : 16);
                prefetch_block<WB>(wb + R * ws);
                const __m128i scm = k4_scales(wb + 4);
                const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(scm));  // scales as i16, lanes 0..7
                const __m128i mn8 = _mm_cvtepu8_epi16(_mm_srli_si128(scm, 8));
                const __m256i mins = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(mn8, mn8)),
                                                             _mm_unpackhi_epi16(mn8, mn8), 1);
                const float d = load_f16(wb), dmin = load_f16(wb + 2);
                __m512i qh2 = _mm512_setzero_si512();
                if constexpr (FIVE) qh2 = _mm512_broadcast_i64x4(loadu256(wb + 16));
                __m512i isum[T];
                for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
                for (int p = 0; p < 2; ++p) {
                    const __m512i q = loadu512(qs + 64 * p);
                    __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
                    if constexpr (FIVE) {
                        // Sub-block s takes bit s of qh: + 16 where set.
                        const __m512i bl = _mm512_inserti64x4(_mm512_set1_epi8(int8_t(1 << (4 * p))),
                                                              _mm256_set1_epi8(int8_t(1 << (4 * p + 2))), 1);
                        const __m512i bh = _mm512_inserti64x4(_mm512_set1_epi8(int8_t(1 << (4 * p + 1))),
                                                              _mm256_set1_epi8(int8_t(1 << (4 * p + 3))), 1);
                        lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh2, bl), lo, sixteen);
                        hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh2, bh), hi, sixteen);
                    }
                    const __m512i sl = _mm512_permutexvar_epi16(idx_halves(4 * p, 4 * p + 2), sc16);
                    const __m512i sh = _mm512_permutexvar_epi16(idx_halves(4 * p + 1, 4 * p + 3), sc16);
                    for (int t = 0; t < T; ++t) {
                        const uint8_t* xq = x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 4 + 128 * p;
                        isum[t] = dot_i16<VNNI>(isum[t], _mm512_maddubs_epi16(lo, loadu512(xq)), sl);
                        isum[t] = dot_i16<VNNI>(isum[t], _mm512_maddubs_epi16(hi, loadu512(xq + 64)), sh);
                    }
                }
                for (int t = 0; t < T; ++t) {
                    const uint8_t* xb = x + size_t(t) * xs + size_t(b) * Q8K_BYTES;
                    const float dx = load_f32(xb);
                    const __m256i msum = _mm256_madd_epi16(mins, loadu256(xb + 260));
                    acc[r][t] = _mm512_fmadd_ps(cvt_i32_ps(isum[t]), _mm512_set1_ps(d * dx), acc[r][t]);
                    acc[r][t] = _mm512_fnmadd_ps(cvt_i32_ps(zext256(msum)), _mm512_set1_ps(dmin * dx), acc[r][t]);
                }
            }
        }
        const float tail[R][T] = {};
        store_tile<R, T>(acc, tail, y, ys);
    }
};

template <bool VNNI>
struct Q6_K {
    static constexpr int ROWS = 4, TOKS = 4;
    template <int R, int T>
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
        const int64_t nb = n / 256;
        const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
        // Per 16-bit lane shifts for [q0 | q1] (high bits 0-1 and 2-3 up to 4-5) and [q2 | q3] (4-5, 6-7).
        const __m512i shl01 = idx_halves(4, 2), shr23 = idx_halves(0, 2);
        __m512 acc[R][T];
        for (auto& row : acc) {
            for (auto& a : row) a = _mm512_setzero_ps();
        }
        for (int64_t b = 0; b < nb; ++b) {
            for (int r = 0; r < R; ++r) {
                const uint8_t* wb = w + size_t(r) * ws + size_t(b) * 210;
                prefetch_block<210>(wb + R * ws);
                const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(wb + 192));
                const __m512i sc512 = zext256(sc16);
                const float d = load_f16(wb + 208);
                __m512i isum[T];
                for (int t = 0; t < T; ++t) {
                    // -32 * Σ_g sc_g * bsum_g, the offset of the unsigned quants.
                    const __m256i off = _mm256_madd_epi16(sc16, loadu256(x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 260));
                    isum[t] = zext256(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5)));
                }
                for (int h = 0; h < 2; ++h) {
                    const __m512i l = loadu512(wb + 64 * h);
                    const __m512i qh = _mm512_broadcast_i64x4(loadu256(wb + 128 + 32 * h));
                    const __m512i q01 = _mm512_or_si512(_mm512_and_si512(l, m4),
                                                        _mm512_and_si512(_mm512_sllv_epi16(qh, shl01), m30));
                    const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                                        _mm512_and_si512(_mm512_srlv_epi16(qh, shr23), m30));
                    const __m512i s01 = _mm512_permutexvar_epi16(idx_quarters(8 * h), sc512);
                    const __m512i s23 = _mm512_permutexvar_epi16(idx_quarters(8 * h + 4), sc512);
                    for (int t = 0; t < T; ++t) {
                        const uint8_t* xq = x + size_t(t) * xs + size_t(b) * Q8K_BYTES + 4 + 128 * h;
                        isum[t] = dot_i16<VNNI>(isum[t], _mm512_maddubs_epi16(q01, loadu512(xq)), s01);
                        isum[t] = dot_i16<VNNI>(isum[t], _mm512_maddubs_epi16(q23, loadu512(xq + 64)), s23);
                    }
                }
                for (int t = 0; t < T; ++t) {
                    const float dx = load_f32(x + size_t(t) * xs + size_t(b) * Q8K_BYTES);
                    acc[r][t] = _mm512_fmadd_ps(cvt_i32_ps(isum[t]), _mm512_set1_ps(d * dx), acc[r][t]);
                }
            }
        }
        const float tail[R][T] = {};
        store_tile<R, T>(acc, tail, y, ys);
    }
};

// ---- prefill panels (arch/quant-panel.hpp) -------------------------------------------------------

// 16 rows per vector, two sub-panels by six tokens: 12 int32 and 12 f32 accumulators, two weight vectors and
// a broadcast within the 32 registers. Without VNNI the 4-byte dot is vpmaddubsw + vpmaddwd, whose int16 pairs
// hold u <= 63 only: Q8_0 (u up to 255) keeps its tiles there.
template <bool VNNI>
struct PanelAvx512 {
    using I = __m512i;
    using F = __m512;
    static constexpr int L = 16, P = 2, T = 6;
    static F fzero() { return _mm512_setzero_ps(); }
    static I iload(const uint8_t* p) { return _mm512_load_si512(p); }
    static F fload(const uint8_t* p) { return _mm512_load_ps(p); }
    static void fstore(float* p, F v) { _mm512_storeu_ps(p, v); }
    static I bcast4(const uint8_t* p) {
        int32_t v;
        std::memcpy(&v, p, 4);
        return _mm512_set1_epi32(v);
    }
    // s[p][t] = Σ over the group's KQ steps of u (sub-panel p) times token t's quants, 4 bytes per lane a step.
    template <int KQ, int T, int FOLD>
    static void group(const uint8_t* w, size_t sub, const uint8_t* x, size_t xs, I (&s)[P][T]) {
        for (auto& row : s) {
            for (auto& a : row) a = _mm512_setzero_si512();
        }
        if constexpr (VNNI) {
#pragma GCC unroll 8
            for (int k = 0; k < KQ; ++k) {
                I u[P];
                for (int p = 0; p < P; ++p) u[p] = iload(w + size_t(p) * sub + 64 * k);
                for (int t = 0; t < T; ++t) {
                    const I q = bcast4(x + size_t(t) * xs + 4 * k);
                    for (int p = 0; p < P; ++p) s[p][t] = _mm512_dpbusd_epi32(s[p][t], u[p], q);
                }
            }
        } else {
            const I ones = _mm512_set1_epi16(1);
#pragma GCC unroll 8
            for (int k = 0; k < KQ; k += FOLD) {
                for (int t = 0; t < T; ++t) {
                    for (int p = 0; p < P; ++p) {
                        I h = _mm512_setzero_si512();
                        for (int f = 0; f < FOLD; ++f) {
                            h = _mm512_add_epi16(h, _mm512_maddubs_epi16(iload(w + size_t(p) * sub + 64 * (k + f)),
                                                                         bcast4(x + size_t(t) * xs + 4 * (k + f))));
                        }
                        s[p][t] = _mm512_add_epi32(s[p][t], madd_i16(h, ones));
                    }
                }
            }
        }
    }
    static F cvt(I v) { return cvt_i32_ps(v); }
    static F set1(float v) { return _mm512_set1_ps(v); }
    static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
    static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
    static F fnma(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
    // out (16 f32, aligned) = the halves h widened, times k.
    static void scale_f16(const uint16_t* h, const float* k, uint8_t* out) {
        _mm512_store_ps(out, _mm512_mul_ps(cvt_f16x16(_mm256_load_si256(reinterpret_cast<const __m256i*>(h))),
                                           _mm512_load_ps(k)));
    }

    // 16 rows of G bytes (row-major at t) into G/4 vectors at out, lane j of vector k = dword k of row j: a
    // transposition of 16 x G/4 dwords in two (G = 16) or three (G = 32) rounds of two-source permutes.
    template <int G>
    static void transpose(const uint8_t* t, uint8_t* out) {
        // Round 1 (G = 32): rows 4m..4m+3, dwords 4h..4h+3 of each, as [row][dword] in 16 lanes.
        alignas(64) static constexpr int32_t R1[2][16] = {{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27},
                                                          {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31}};
        // Round 2: from two such (rows 8n..8n+7), dwords 2e and 2e + 1 of the eight rows.
        alignas(64) static constexpr int32_t R2[2][16] = {{0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29},
                                                          {2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31}};
        // Round 3: rows 0..7 and 8..15 of one dword.
        alignas(64) static constexpr int32_t R3[2][16] = {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                                                          {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}};
        constexpr int H = G / 16;
        __m512i c[H][4];
        for (int m = 0; m < 4; ++m) {
            if constexpr (G == 32) {
                const __m512i a = _mm512_load_si512(t + 128 * m), b = _mm512_load_si512(t + 128 * m + 64);
                for (int h = 0; h < 2; ++h) c[h][m] = _mm512_permutex2var_epi32(a, _mm512_load_si512(R1[h]), b);
            } else {
                c[0][m] = _mm512_load_si512(t + 64 * m);
            }
        }
        for (int h = 0; h < H; ++h) {
            for (int e = 0; e < 2; ++e) {
                const __m512i i2 = _mm512_load_si512(R2[e]);
                const __m512i d0 = _mm512_permutex2var_epi32(c[h][0], i2, c[h][1]);
                const __m512i d1 = _mm512_permutex2var_epi32(c[h][2], i2, c[h][3]);
                for (int f = 0; f < 2; ++f) {
                    _mm512_store_si512(out + 64 * (4 * h + 2 * e + f),
                                       _mm512_permutex2var_epi32(d0, _mm512_load_si512(R3[f]), d1));
                }
            }
        }
    }
};

// From this many tokens the panels' packing pass (about a decode's worth of work per weight) is repaid.
constexpr int PANEL_MIN_TOKS = 32;
using simd::GEMM_MIN_TOKS;
using simd::with_gemm;
using simd::with_panel;

template <bool VNNI, bool VBMI = false>
constexpr QuantKernelSet make_rung(std::string_view isa) {
    using PT = PanelAvx512<VNNI>;
    constexpr int MT = PANEL_MIN_TOKS;
    return {
        /* .isa           = */ isa,
        /* .quantize_q8_0 = */ act_q8_0,
        /* .quantize_q8_k = */ act_q8_k,
        /* .f32           = */ tile_of<simd::FloatTile<Avx512, simd::Fmt::F32>>(),
        /* .f16           = */ with_gemm(tile_of<simd::FloatTile<Avx512, simd::Fmt::F16>>(),
                                         {GEMM_MIN_TOKS, simd::gemm_weights<Avx512, false>}),
        /* .bf16          = */ with_gemm(tile_of<simd::FloatTile<Avx512, simd::Fmt::BF16>>(),
                                         {GEMM_MIN_TOKS, simd::gemm_weights<Avx512, true>}),
        /* .q4_0          = */ with_panel(tile_of<Q4_0<VNNI, VBMI>>(), simd::panel_of<PT, simd::PanelQ4_0, false>(MT)),
        /* .q8_0          = */ with_panel(tile_of<Q8_0<VNNI, VBMI>>(),
                                          VNNI ? simd::panel_of<PT, simd::PanelQ8_0, false>(MT) : QuantPanel{}),
        /* .q4_k          = */ with_panel(tile_of<K4<VNNI, false>>(), simd::panel_of<PT, simd::PanelK4<false>, true>(MT)),
        /* .q5_k          = */ with_panel(tile_of<K4<VNNI, true>>(), simd::panel_of<PT, simd::PanelK4<true>, true>(MT)),
        /* .q6_k          = */ with_panel(tile_of<Q6_K<VNNI>>(), simd::panel_of<PT, simd::PanelQ6_K, true>(MT)),
    };
}

constexpr QuantKernelSet AVX512 = make_rung<false>(VERSUS_AVX512_NAME("avx512"));
constexpr QuantKernelSet AVX512_VNNI = make_rung<true>(VERSUS_AVX512_NAME("avx512-vnni"));
constexpr QuantKernelSet AVX512_VBMI = make_rung<true, true>(VERSUS_AVX512_NAME("avx512-vnni-vbmi"));

}  // namespace

const QuantKernelSet& rung() { return AVX512; }
const QuantKernelSet& rung_vnni() { return AVX512_VNNI; }
const QuantKernelSet& rung_vbmi() { return AVX512_VBMI; }

}  // namespace versus::cpu::VERSUS_QAVX512_NS
