// Contract: every rung of the CPU kernel ladder this machine can run (plus, where the build provides it,
// the AVX-512 rungs compiled against SIMDe's portable AVX-512 so their logic is checked on CPUs without
// it) against a naive fp64 reference: GEMM in bf16/f16 to atol + rtol*|ref|, int8 exactly, odd shapes,
// 1 and 2 threads; STREAM; fma_loop's FLOP count; and the scalar bf16/f16 conversions exhaustively.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "system/cpu-features.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/rungs.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
namespace versus::cpu::avx512_simde {
const KernelSet& rung();
const KernelSet& rung_vnni();
const KernelSet& rung_vnni_bf16();
}  // namespace versus::cpu::avx512_simde
#endif

namespace {

using namespace versus::cpu;
using versus::system::cpu_features;
using versus::system::CpuFeatures;

std::vector<const KernelSet*> rungs_under_test() {
    std::vector<const KernelSet*> out(kernels_available().begin(), kernels_available().end());
#if defined(VERSUS_KERNELS_AVX512_SIMDE)
    out.push_back(&avx512_simde::rung());
    out.push_back(&avx512_simde::rung_vnni());
    out.push_back(&avx512_simde::rung_vnni_bf16());
#endif
    return out;
}

const KernelSet& rung_named(const std::string& isa) {
    for (const KernelSet* k : rungs_under_test()) {
        if (k->isa == isa) return *k;
    }
    throw std::runtime_error("no rung " + isa);
}

// ---- fp64 references ---------------------------------------------------------------------------

struct Shape {
    int M, N, K;
};

// Not multiples of any tile (MR 6/8/12, NR 12/16/32, K words of 1/2/4) nor of one another. Rungs run
// problems under a megaflop on the calling thread, so the last rows are there to split over the pool.
const Shape ODD_SHAPES[] = {
    {1, 1, 1},     {1, 3, 17},     {3, 17, 63},    {17, 3, 65},    {63, 65, 130}, {65, 130, 17},
    {130, 63, 3},  {1, 130, 65},   {130, 1, 63},   {64, 64, 64},   {13, 33, 7},   {7, 31, 130},
    {67, 131, 63}, {130, 17, 257}, {3, 1000, 257}, {1000, 3, 257},
};
// Crosses every K block (f32 256, bf16 pairs 512, int8 quads 1024), the L2 column block (256 columns)
// and the thread split; kept small enough for qemu.
#if defined(__aarch64__)
const Shape BIG_SHAPE = {70, 290, 1100};
#else
const Shape BIG_SHAPE = {150, 300, 1100};
#endif

template <class In, class Widen>
std::vector<double> ref_gemm(const Shape& s, const std::vector<In>& A, const std::vector<In>& B, Widen widen) {
    std::vector<double> C(size_t(s.M) * s.N, 0.0);
    for (int i = 0; i < s.M; ++i) {
        for (int k = 0; k < s.K; ++k) {
            const double a = widen(A[size_t(i) * s.K + k]);
            for (int j = 0; j < s.N; ++j) C[size_t(i) * s.N + j] += a * double(widen(B[size_t(k) * s.N + j]));
        }
    }
    return C;
}

template <class In, class Make>
std::vector<In> random_matrix(size_t n, uint32_t seed, Make make) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<In> v(n);
    for (auto& x : v) x = make(u(rng));
    return v;
}

std::vector<int8_t> random_i8(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> u(-127, 127);
    std::vector<int8_t> v(n);
    for (auto& x : v) x = int8_t(u(rng));
    return v;
}

// f32 accumulation of K terms in [-1, 1]: errors grow with K, measured against |ref|.
void expect_close(const std::vector<float>& got, const std::vector<double>& ref, const Shape& s, const char* what) {
    const double atol = 1e-6 * s.K + 1e-6, rtol = 1e-5;
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double err = std::fabs(double(got[i]) - ref[i]);
        if (!(err <= atol + rtol * std::fabs(ref[i]))) {
            if (++bad <= 5) {
                ADD_FAILURE() << what << " M=" << s.M << " N=" << s.N << " K=" << s.K << " at (" << i / s.N << ","
                              << i % s.N << "): got " << got[i] << " want " << ref[i];
            }
        }
    }
    EXPECT_EQ(bad, 0) << what << " M=" << s.M << " N=" << s.N << " K=" << s.K;
}

// ---- per-rung tests ----------------------------------------------------------------------------

using Param = std::tuple<std::string, int>;  // (isa, threads)

class KernelTest : public ::testing::TestWithParam<Param> {
protected:
    const KernelSet& k() const { return rung_named(std::get<0>(GetParam())); }
    int threads() const { return std::get<1>(GetParam()); }
};

void check_bf16(const KernelSet& ks, ThreadPool& pool, const Shape& s, uint32_t seed) {
    const auto A = random_matrix<bf16_t>(size_t(s.M) * s.K, seed, f32_to_bf16);
    const auto B = random_matrix<bf16_t>(size_t(s.K) * s.N, seed + 1, f32_to_bf16);
    std::vector<float> C(size_t(s.M) * s.N, std::numeric_limits<float>::quiet_NaN());
    ks.gemm_bf16(s.M, s.N, s.K, A.data(), B.data(), C.data(), pool);
    expect_close(C, ref_gemm(s, A, B, bf16_to_f32), s, "gemm_bf16");
}

void check_f16(const KernelSet& ks, ThreadPool& pool, const Shape& s, uint32_t seed) {
    const auto A = random_matrix<f16_t>(size_t(s.M) * s.K, seed, f32_to_f16);
    const auto B = random_matrix<f16_t>(size_t(s.K) * s.N, seed + 1, f32_to_f16);
    std::vector<float> C(size_t(s.M) * s.N, std::numeric_limits<float>::quiet_NaN());
    ks.gemm_f16(s.M, s.N, s.K, A.data(), B.data(), C.data(), pool);
    expect_close(C, ref_gemm(s, A, B, f16_to_f32), s, "gemm_f16");
}

void check_i8(const KernelSet& ks, ThreadPool& pool, const Shape& s, const std::vector<int8_t>& A,
              const std::vector<int8_t>& B) {
    std::vector<int32_t> C(size_t(s.M) * s.N, 0x5a5a5a5a);
    ks.gemm_i8(s.M, s.N, s.K, A.data(), B.data(), C.data(), pool);
    const auto ref = ref_gemm(s, A, B, [](int8_t x) { return double(x); });
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        ASSERT_LE(std::fabs(ref[i]), double(INT32_MAX));
        if (C[i] != int32_t(ref[i]) && ++bad <= 5) {
            ADD_FAILURE() << "gemm_i8 M=" << s.M << " N=" << s.N << " K=" << s.K << " at (" << i / s.N << "," << i % s.N
                          << "): got " << C[i] << " want " << int64_t(ref[i]);
        }
    }
    EXPECT_EQ(bad, 0) << "gemm_i8 M=" << s.M << " N=" << s.N << " K=" << s.K;
}

TEST_P(KernelTest, GemmBf16OddShapes) {
    ThreadPool pool(threads());
    uint32_t seed = 1;
    for (const Shape& s : ODD_SHAPES) check_bf16(k(), pool, s, seed += 2);
}

TEST_P(KernelTest, GemmF16OddShapes) {
    ThreadPool pool(threads());
    uint32_t seed = 100;
    for (const Shape& s : ODD_SHAPES) check_f16(k(), pool, s, seed += 2);
}

TEST_P(KernelTest, GemmI8OddShapes) {
    ThreadPool pool(threads());
    uint32_t seed = 200;
    for (const Shape& s : ODD_SHAPES) {
        check_i8(k(), pool, s, random_i8(size_t(s.M) * s.K, seed), random_i8(size_t(s.K) * s.N, seed + 1));
        seed += 2;
    }
}

TEST_P(KernelTest, GemmBigShape) {
    ThreadPool pool(threads());
    const Shape& s = BIG_SHAPE;
    check_bf16(k(), pool, s, 300);
    check_f16(k(), pool, s, 302);
    check_i8(k(), pool, s, random_i8(size_t(s.M) * s.K, 304), random_i8(size_t(s.K) * s.N, 305));
}

// The int8 contract: exact for inputs in [-127, 127] whenever K <= 133144 = floor((2^31 - 1) / 127^2).
// Rows and columns of all +-127 reach |C| = 127^2 * K = 2147479576, the largest such result.
TEST_P(KernelTest, GemmI8AtKLimit) {
    ThreadPool pool(threads());
    const Shape s{3, 19, 133144};
    auto A = random_i8(size_t(s.M) * s.K, 400);
    auto B = random_i8(size_t(s.K) * s.N, 401);
    for (int k = 0; k < s.K; ++k) {
        A[k] = 127;  // row 0
        A[size_t(s.K) + k] = -127;  // row 1
        B[size_t(k) * s.N + 0] = 127;  // column 0
        B[size_t(k) * s.N + 1] = -127;  // column 1
        B[size_t(k) * s.N + 18] = 127;  // column 18: in the edge tile of every rung
    }
    check_i8(k(), pool, s, A, B);
}

TEST_P(KernelTest, GemmZeroK) {
    ThreadPool pool(threads());
    std::vector<float> C(12, 1.0f);
    std::vector<int32_t> Ci(12, 7);
    k().gemm_bf16(3, 4, 0, nullptr, nullptr, C.data(), pool);
    for (float v : C) EXPECT_EQ(v, 0.0f);
    std::fill(C.begin(), C.end(), 1.0f);
    k().gemm_f16(3, 4, 0, nullptr, nullptr, C.data(), pool);
    for (float v : C) EXPECT_EQ(v, 0.0f);
    k().gemm_i8(3, 4, 0, nullptr, nullptr, Ci.data(), pool);
    for (int32_t v : Ci) EXPECT_EQ(v, 0);
}

void check_stream(const KernelSet& ks, ThreadPool& pool, size_t n, size_t offset) {
    // `offset` misaligns the destination so the aligned streaming-store path needs its scalar head.
    std::vector<double> a(n + offset), b(n), c(n);
    for (size_t i = 0; i < n; ++i) b[i] = 0.5 + double(i % 1000), c[i] = 1.25 - double(i % 77);
    const double s = 3.0;
    for (StreamOp op : {StreamOp::COPY, StreamOp::SCALE, StreamOp::ADD, StreamOp::TRIAD}) {
        std::fill(a.begin(), a.end(), -1.0);
        ks.stream(op, a.data() + offset, b.data(), c.data(), s, n, pool);
        size_t bad = 0;
        for (size_t i = 0; i < n; ++i) {
            double want = 0;
            switch (op) {
                case StreamOp::COPY: want = b[i]; break;
                case StreamOp::SCALE: want = s * b[i]; break;
                case StreamOp::ADD: want = b[i] + c[i]; break;
                case StreamOp::TRIAD: want = b[i] + s * c[i]; break;
            }
            // Exact but for a fused multiply-add, which is allowed.
            if (!(std::fabs(a[offset + i] - want) <= 1e-15 * std::fabs(want)) && ++bad <= 3) {
                ADD_FAILURE() << "stream op " << int(op) << " n=" << n << " i=" << i << ": got " << a[offset + i]
                              << " want " << want;
            }
        }
        EXPECT_EQ(bad, 0u);
        for (size_t i = 0; i < offset; ++i) EXPECT_EQ(a[i], -1.0) << "wrote before the array";
    }
}

TEST_P(KernelTest, StreamSmall) {
    ThreadPool pool(threads());
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{17}, size_t{33}, size_t{1000}, size_t{100003}}) {
        check_stream(k(), pool, n, 0);
        check_stream(k(), pool, n, 1);
    }
}

// Large enough (3 x 48 MiB) that every rung takes its non-temporal path where it has one.
TEST_P(KernelTest, StreamLarge) {
    ThreadPool pool(threads());
    check_stream(k(), pool, (size_t{48} << 20) / sizeof(double) + 5, 1);
}

// FLOPs per iteration of each rung's loop: chains x lanes x 2.
double fma_flops_per_iter(std::string_view isa) {
    if (isa == "scalar") return 8 * 2;
    if (isa.starts_with("avx512")) return 12 * 16 * 2;
    if (isa.starts_with("avx2")) return 12 * 8 * 2;
    if (isa.starts_with("neon")) return 16 * 4 * 2;
    return 0;
}

TEST_P(KernelTest, FmaLoopCountsFlops) {
    EXPECT_EQ(k().fma_loop(0), 0.0);
    EXPECT_EQ(k().fma_loop(1), fma_flops_per_iter(k().isa));
    EXPECT_EQ(k().fma_loop(1000), 1000 * fma_flops_per_iter(k().isa));
    EXPECT_EQ(k().fma_loop(123457), 123457 * fma_flops_per_iter(k().isa));
}

// Several threads, some of which get an empty block: odd thread counts and skinny problems.
TEST_P(KernelTest, GemmThreeThreads) {
    ThreadPool pool(3);
    const Shape shapes[] = {{1, 3000, 200}, {3000, 1, 200}, {5, 5, 5}, {40, 70, 200}, {17, 65, 1000}};
    uint32_t seed = 500;
    for (const Shape& s : shapes) {
        check_bf16(k(), pool, s, seed += 2);
        check_i8(k(), pool, s, random_i8(size_t(s.M) * s.K, seed), random_i8(size_t(s.K) * s.N, seed + 1));
    }
}

std::vector<Param> all_params() {
    std::vector<Param> out;
    for (const KernelSet* k : rungs_under_test()) {
        for (int t : {1, 2}) out.emplace_back(std::string(k->isa), t);
    }
    return out;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
    std::string name = std::get<0>(info.param) + "_t" + std::to_string(std::get<1>(info.param));
    for (char& c : name) {
        if (c == '-') c = '_';
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(Rungs, KernelTest, ::testing::ValuesIn(all_params()), param_name);

// ---- registry ----------------------------------------------------------------------------------

TEST(KernelLadder, ScalarFirstBestLast) {
    const auto rungs = kernels_available();
    ASSERT_FALSE(rungs.empty());
    EXPECT_EQ(rungs.front()->isa, "scalar");
    EXPECT_EQ(&kernels_ref(), rungs.front());
    EXPECT_EQ(&kernels_best(), rungs.back());
    for (size_t i = 0; i < rungs.size(); ++i) {
        const KernelSet* k = rungs[i];
        EXPECT_TRUE(k->gemm_bf16 && k->gemm_f16 && k->gemm_i8 && k->stream && k->fma_loop) << k->isa;
        for (size_t j = 0; j < i; ++j) EXPECT_NE(rungs[j]->isa, k->isa);
    }
}

TEST(KernelLadder, MatchesIsaBits) {
    const uint32_t bits = isa_bits();
    auto has = [](std::string_view isa) {
        for (const KernelSet* k : kernels_available()) {
            if (k->isa == isa) return true;
        }
        return false;
    };
#if defined(__x86_64__)
    EXPECT_EQ(has("avx2"), (bits & ISA_AVX2) != 0);
    EXPECT_EQ(has("avx512"), (bits & ISA_AVX512) != 0);
    // VNNI without BF16 (Cascade Lake, Ice Lake) still gets vpdpbusd for int8.
    EXPECT_EQ(has("avx512-vnni"), (bits & ISA_AVX512) && (bits & ISA_AVX512_VNNI));
    EXPECT_EQ(has("avx512-vnni-bf16"), (bits & ISA_AVX512) && (bits & ISA_AVX512_VNNI) && (bits & ISA_AVX512_BF16));
#elif defined(__aarch64__)
    EXPECT_TRUE(has("neon"));
    EXPECT_EQ(has("neon-dotprod"), (bits & ISA_NEON_DOTPROD) != 0);
    EXPECT_EQ(has("neon-dotprod-bf16"), (bits & ISA_NEON_DOTPROD) && (bits & ISA_NEON_BF16));
#endif
    (void)bits;
}

TEST(IsaBits, MatchCpuFeaturesUnderTheCap) {
    const CpuFeatures& f = cpu_features();
    const uint32_t cap = isa_cap_bits(isa_cap()), bits = isa_bits();
    EXPECT_EQ(bits & ~cap, 0u);
#if defined(__x86_64__)
    const bool avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c;
    EXPECT_EQ((bits & ISA_AVX2) != 0, f.avx2 && f.fma && f.f16c && (cap & ISA_AVX2));
    EXPECT_EQ((bits & ISA_AVX512) != 0, avx512 && (cap & ISA_AVX512));
    EXPECT_EQ((bits & ISA_AVX512_VNNI) != 0, avx512 && f.avx512_vnni && (cap & ISA_AVX512_VNNI));
    EXPECT_EQ((bits & ISA_AVX512_BF16) != 0, avx512 && f.avx512_bf16 && (cap & ISA_AVX512_BF16));
#elif defined(__aarch64__)
    EXPECT_EQ((bits & ISA_NEON) != 0, (cap & ISA_NEON) != 0);
    EXPECT_EQ((bits & ISA_NEON_DOTPROD) != 0, f.asimd_dotprod && (cap & ISA_NEON_DOTPROD));
#endif
    (void)f;
}

TEST(IsaBits, CapNames) {
    EXPECT_EQ(isa_cap_bits("native"), ~0u);
    EXPECT_EQ(isa_cap_bits(""), ~0u);
    EXPECT_EQ(isa_cap_bits("scalar"), 0u);
    EXPECT_EQ(isa_cap_bits("avx2"), uint32_t(ISA_AVX2));
    EXPECT_EQ(isa_cap_bits("avx512") & (ISA_AVX512_VNNI | ISA_AVX512_VBMI | ISA_AVX512_BF16), 0u);
    EXPECT_NE(isa_cap_bits("avx512-vnni") & ISA_AVX512_VNNI, 0u);
    EXPECT_EQ(isa_cap_bits("neon-dotprod"), uint32_t(ISA_NEON | ISA_NEON_DOTPROD));
    EXPECT_THROW(isa_cap_bits("avx3"), std::invalid_argument);
}

// ---- conversions -------------------------------------------------------------------------------

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

TEST(Conversions, Bf16AllPatternsRoundTrip) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = bf16_to_f32(bf16_t(h));
        EXPECT_EQ(bits(f), h << 16);
        const bool nan = (h & 0x7fff) > 0x7f80;
        EXPECT_EQ(f32_to_bf16(f), nan ? (h | 0x40) : h) << std::hex << h;  // NaN comes back quiet
    }
}

TEST(Conversions, F16AllPatternsRoundTrip) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = f16_to_f32(f16_t(h));
        const bool nan = (h & 0x7fff) > 0x7c00;
        EXPECT_EQ(std::isnan(f), nan) << std::hex << h;
        EXPECT_EQ(f32_to_f16(f), nan ? (h | 0x200) : h) << std::hex << h;
        if (!nan) {
            // The value itself, computed independently: (-1)^s * 2^(e-15) * (1 + m/1024), or subnormal.
            const int e = (h >> 10) & 31, m = h & 1023;
            double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? INFINITY : std::ldexp(1024 + m, e - 25);
            if (h & 0x8000) v = -v;
            EXPECT_EQ(double(f), v) << std::hex << h;
        }
    }
}

TEST(Conversions, Bf16RoundsToNearestEven) {
    for (uint32_t h = 0; h < 0x7f80; ++h) {  // every finite positive, and by symmetry negative
        for (uint32_t sign : {0u, 0x8000u}) {
            const uint32_t base = (h | sign) << 16;
            const uint32_t even_up = (h & 1) ? 1 : 0;
            EXPECT_EQ(f32_to_bf16(from_bits(base | 0x8000)), (h | sign) + even_up) << std::hex << h;  // tie
            EXPECT_EQ(f32_to_bf16(from_bits(base | 0x7fff)), h | sign);  // below
            EXPECT_EQ(f32_to_bf16(from_bits(base | 0x8001)), (h | sign) + 1);  // above
        }
    }
    EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to Inf
    EXPECT_EQ(f32_to_bf16(-INFINITY), 0xff80);
}

TEST(Conversions, F16RoundsToNearestEven) {
    // Midpoints between neighbouring finite f16 values (normal and subnormal) are exact in f32.
    for (uint32_t h = 0; h < 0x7bff; ++h) {
        for (uint32_t sign : {0u, 0x8000u}) {
            const double lo = f16_to_f32(f16_t(h)), hi = f16_to_f32(f16_t(h + 1));
            const float mid = float((lo + hi) / 2);
            ASSERT_EQ(double(mid), (lo + hi) / 2);
            const float s = sign ? -1.0f : 1.0f;
            const uint32_t even = (h & 1) ? h + 1 : h;
            EXPECT_EQ(f32_to_f16(s * mid), even | sign) << std::hex << h;
            EXPECT_EQ(f32_to_f16(s * std::nextafter(mid, 0.0f)), h | sign) << std::hex << h;
            EXPECT_EQ(f32_to_f16(s * std::nextafter(mid, INFINITY)), (h + 1) | sign) << std::hex << h;
        }
    }
}

TEST(Conversions, F16Specials) {
    EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
    EXPECT_EQ(f32_to_f16(65519.99f), 0x7bff);
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // tie between 65504 and 65536 (odd): goes to Inf
    EXPECT_EQ(f32_to_f16(1e9f), 0x7c00);
    EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
    EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);
    EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);  // tie with 0: even
    EXPECT_EQ(f32_to_f16(0x1.8p-24f), 0x0002);  // tie between 1 and 2 units: even
    EXPECT_EQ(f32_to_f16(0x1.000002p-25f), 0x0001);  // just above the tie
    EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
    EXPECT_EQ(f32_to_f16(0x1.ff8p-15f), 0x03ff);  // largest subnormal
    EXPECT_EQ(f32_to_f16(0x1.ffcp-15f), 0x0400);  // tie: rounds up (even) into the smallest normal
    EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);
    EXPECT_EQ(f32_to_f16(from_bits(0x7f800001)), 0x7e00);  // payload below f16's: still a NaN
    EXPECT_EQ(f32_to_f16(from_bits(0xffc00000)), 0xfe00);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t hw_f32_to_f16(float x) { return uint16_t(_cvtss_sh(x, 0)); }
#endif

// Against the hardware conversion where there is one (F16C on x86, FCVT on Arm), over random bit patterns.
TEST(Conversions, F16MatchesHardware) {
    std::mt19937 rng(7);
    int checked = 0;
    for (int i = 0; i < 2000000; ++i) {
        const float f = from_bits(rng());
#if defined(__x86_64__)
        if (!cpu_features().f16c) GTEST_SKIP() << "no F16C";
        EXPECT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << std::hex << bits(f);
        ++checked;
#elif defined(__aarch64__)
        const __fp16 h = __fp16(f);
        uint16_t hb;
        std::memcpy(&hb, &h, 2);
        EXPECT_EQ(f32_to_f16(f), hb) << std::hex << bits(f);
        ++checked;
#endif
    }
    if (!checked) GTEST_SKIP() << "no hardware f16 conversion to compare with";
}

}  // namespace

// Loops end when their items are done, with workers that may arrive late (more threads than cores here):
// every item runs exactly once, per-thread jobs still reach every thread, and loops of every size and grain
// interleave with them.
TEST(ThreadPool, LoopsAndJobsInterleaveWithLateWorkers) {
    for (int threads : {2, 3, 8}) {
        ThreadPool pool(threads);
        std::vector<std::atomic<int>> hits(997);
        for (int round = 0; round < 300; ++round) {
            const int64_t n = 1 + (round * 37) % 997, grain = 1 + round % 7;
            for (int64_t i = 0; i < n; ++i) hits[size_t(i)].store(0);
            pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
                ASSERT_TRUE((e - b) % grain == 0 || e == n) << b << ".." << e;
                for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
            });
            for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "item " << i << " round " << round;
            if (round % 5 == 0) {
                std::vector<std::atomic<int>> seen(static_cast<size_t>(threads));
                pool.run([&](int t, int nt) {
                    ASSERT_EQ(nt, threads);
                    seen[size_t(t)].fetch_add(1);
                });
                for (auto& s : seen) ASSERT_EQ(s.load(), 1);
            }
        }
    }
}
