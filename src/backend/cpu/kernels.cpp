// Contract: the ISA-independent half of the kernel ladder. Owns the bf16/f16 scalar conversions and the
// small helpers every rung shares: the thread grid of a GEMM, per-thread scratch, the pool trampoline and
// the non-temporal-store threshold of STREAM. Which rungs exist and which this CPU may run: rungs.cpp.
//
// Ladder (x86): scalar → avx2 (AVX2+FMA+F16C) → avx512 (F/BW/VL/DQ; bf16 and f16 widened to f32,
// int8 through vpmaddwd) → avx512-vnni (vpdpbusd for int8) → avx512-vnni-bf16 (adds vdpbf16ps for bf16).
// Ladder (Arm): scalar → neon (base AdvSIMD) → neon-dotprod (sdot for int8) → neon-dotprod-bf16
// (adds bfdot for bf16).
//
// This file is compiled for the baseline ISA: the arch files are built with -mavx2/-mavx512* and
// call back into it (never the other way) so that no code compiled for a wider ISA can be picked
// by the linker for an inline function shared with baseline code.
#include "kernels.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>


namespace versus::cpu {

// ---- conversions -------------------------------------------------------------------------------

bf16_t f32_to_bf16(float x) {
    const uint32_t u = std::bit_cast<uint32_t>(x);
    // NaN: keep sign and the top of the payload, force the quiet bit so truncation can't make an Inf.
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bf16_t>((u >> 16) | 0x0040u);
    // Round to nearest, ties to even: add just under half an ulp, plus one if the kept lsb is odd.
    // A carry out of the mantissa bumps the exponent, which is the correct rounding (up to Inf).
    return static_cast<bf16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float bf16_to_f32(bf16_t x) { return std::bit_cast<float>(static_cast<uint32_t>(x) << 16); }

f16_t f32_to_f16(float x) {
    const uint32_t u = std::bit_cast<uint32_t>(x);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t a = u & 0x7fffffffu;  // |x|
    if (a > 0x7f800000u) return static_cast<f16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // quiet NaN
    if (a >= 0x47800000u) return static_cast<f16_t>(sign | 0x7c00u);  // >= 65536 (or Inf): Inf
    if (a >= 0x38800000u) {
        // Normal in f16 (>= 2^-14): rebias the exponent (127 -> 15) and round 23 -> 10 mantissa bits.
        // 65520 and up carry into exponent 31, i.e. Inf, as round-to-nearest-even requires.
        const uint32_t r = a - 0x38000000u;
        return static_cast<f16_t>(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
    }
    // Subnormal in f16: the result counts units of 2^-24. At or below 2^-25 (half a unit) it is 0.
    if (a <= 0x33000000u) return static_cast<f16_t>(sign);
    const uint32_t exp = a >> 23;  // 102..112 here
    const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24: |x| / 2^-24 = mant >> shift
    uint32_t r = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (r & 1u))) ++r;  // may reach 0x400, the smallest normal
    return static_cast<f16_t>(sign | r);
}

float f16_to_f32(f16_t x) {
    const uint32_t sign = static_cast<uint32_t>(x & 0x8000u) << 16;
    const uint32_t exp = (x >> 10) & 0x1fu;
    const uint32_t mant = x & 0x3ffu;
    if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // Inf, NaN + payload
    if (exp == 0) {
        const float v = static_cast<float>(mant) * 0x1p-24f;  // zero or subnormal, exact
        return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

// ---- helpers shared by the rungs ---------------------------------------------------------------

namespace detail {

void pool_run(ThreadPool& pool, void (*fn)(void* ctx, int thread, int n_threads), void* ctx) {
    pool.run([fn, ctx](int thread, int n_threads) { fn(ctx, thread, n_threads); });
}

// Splits C(M,N) into a tm x tn grid of blocks, one per thread, with tm*tn <= n_threads. The grid
// minimises the largest block (in whole mr x nr tiles), then the packing work: every thread packs
// the rows of A and the columns of B its block needs, so A is packed tn times and B tm times.
void gemm_split(int M, int N, int mr, int nr, int thread, int n_threads, int out[4]) {
    const int64_t tiles_m = (M + mr - 1) / mr, tiles_n = (N + nr - 1) / nr;
    int best_tm = 1, best_tn = 1;
    int64_t best_area = INT64_MAX, best_pack = INT64_MAX;
    for (int tm = 1; tm <= n_threads; ++tm) {
        for (int tn = 1; tm * tn <= n_threads; ++tn) {
            if (tm > tiles_m || tn > tiles_n) continue;
            const int64_t area = ((tiles_m + tm - 1) / tm) * ((tiles_n + tn - 1) / tn);
            const int64_t pack = int64_t(tn) * M + int64_t(tm) * N;
            if (area < best_area || (area == best_area && pack < best_pack)) {
                best_area = area, best_pack = pack, best_tm = tm, best_tn = tn;
            }
        }
    }
    out[0] = out[1] = out[2] = out[3] = 0;
    if (thread >= best_tm * best_tn) return;
    const int ti = thread / best_tn, tj = thread % best_tn;
    // Hand out whole tiles, the remainder to the first blocks, so every block but the last is tile-aligned.
    auto range = [](int64_t tiles, int parts, int part, int tile, int limit, int* lo, int* hi) {
        const int64_t base = tiles / parts, extra = tiles % parts;
        const int64_t t0 = part * base + std::min<int64_t>(part, extra);
        const int64_t t1 = t0 + base + (part < extra ? 1 : 0);
        *lo = static_cast<int>(std::min<int64_t>(t0 * tile, limit));
        *hi = static_cast<int>(std::min<int64_t>(t1 * tile, limit));
    };
    range(tiles_m, best_tm, ti, mr, M, &out[0], &out[1]);
    range(tiles_n, best_tn, tj, nr, N, &out[2], &out[3]);
}

namespace {
struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};
struct Scratch {
    std::unique_ptr<void, FreeDeleter> ptr;
    size_t size = 0;
};
}  // namespace

// 64-byte aligned, kept per thread and per slot so that back-to-back GEMMs neither allocate nor
// page-fault; contents are not preserved across calls.
void* thread_scratch(int slot, size_t bytes) {
    thread_local Scratch slots[4];
    Scratch& s = slots[slot];
    if (s.size < bytes) {
        const size_t size = (bytes + 4095) & ~size_t{4095};
        s.ptr.reset(std::aligned_alloc(64, size));
        if (!s.ptr) throw std::bad_alloc();
        s.size = size;
    }
    return s.ptr.get();
}

namespace {
size_t parse_size(const std::string& text) {
    size_t v = 0, i = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') v = v * 10 + size_t(text[i++] - '0');
    if (i < text.size() && (text[i] == 'K' || text[i] == 'k')) v <<= 10;
    if (i < text.size() && (text[i] == 'M' || text[i] == 'm')) v <<= 20;
    return v;
}

size_t last_level_cache_bytes() {
    // sysfs first: under hypervisors CPUID (which sysconf reads on x86) often reports the host's L3.
    size_t best_level = 0, best_size = 0;
    for (int i = 0; i < 16; ++i) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
        std::ifstream level_file(dir + "level"), size_file(dir + "size"), type_file(dir + "type");
        std::string level, size, type;
        if (!(level_file >> level) || !(size_file >> size) || !(type_file >> type)) continue;
        if (type == "Instruction") continue;
        const size_t lv = parse_size(level), sz = parse_size(size);
        if (lv > best_level || (lv == best_level && sz > best_size)) best_level = lv, best_size = sz;
    }
    if (best_size) return best_size;
#if defined(_SC_LEVEL3_CACHE_SIZE)
    if (const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE); l3 > 0) return size_t(l3);
    if (const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) return size_t(l2);
#endif
    return size_t{32} << 20;
}
}  // namespace

// STREAM stores bypass the caches once the pass's working set (all arrays it touches) is larger
// than the last-level cache: from then on every pass evicts the previous one anyway, so a regular
// store only adds a read-for-ownership of a line about to be overwritten (4 transfers for TRIAD's
// 3). Below that the arrays can stay cached between passes and non-temporal stores would force
// them out to DRAM, which costs far more than it saves.
bool stream_use_nt(size_t bytes_touched) {
    static const size_t llc = last_level_cache_bytes();
    return bytes_touched > llc;
}

}  // namespace detail

}  // namespace versus::cpu
