// Contract: attention (attention.hpp) on every rung this machine can run, plus the AVX-512 rung compiled
// against SIMDe where the build provides it, against an fp64 reference written here in straight loops:
// fused and naive, prefill (n_q = n_kv), decode (n_q = 1 at depths 1, 7, 300, 1000), chunked prefill
// (q_pos0 > 0), caches longer and shorter than the queries reach, GQA ratios 1, 3, 4, 8 and multi-query,
// head_dim 64, 80, 128 and 256, padded K/V row strides, 1/2/3 threads (which takes the key split and its
// merge). Also the shape checks, the edge cases n_q = 0 and n_kv = 0, and the scratch accounting.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cpu/attention.hpp"

#if defined(VERSUS_KERNELS_AVX512_SIMDE)
namespace versus::cpu::avx512_simde {
const AttentionKernels& attention_rung();
}  // namespace versus::cpu::avx512_simde
#endif

namespace {

using namespace versus::cpu;

std::vector<const AttentionKernels*> rungs_under_test() {
    std::vector<const AttentionKernels*> out(attention_kernels_available().begin(), attention_kernels_available().end());
#if defined(VERSUS_KERNELS_AVX512_SIMDE)
    out.push_back(&avx512_simde::attention_rung());
#endif
    return out;
}

const AttentionKernels& rung_named(const std::string& isa) {
    for (const AttentionKernels* k : rungs_under_test()) {
        if (k->isa == isa) return *k;
    }
    throw std::runtime_error("no attention rung " + isa);
}

struct Case {
    int n_head, n_head_kv, head_dim, n_q, n_kv, q_pos0;
    float q_mag;     // queries uniform in [-q_mag, q_mag]: larger makes the softmax peakier
    int stride_pad;  // extra f16 elements after each K/V row (filled with NaN: never read)
};

std::string describe(const Case& c) {
    return "heads=" + std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) + " d=" + std::to_string(c.head_dim) +
           " n_q=" + std::to_string(c.n_q) + " n_kv=" + std::to_string(c.n_kv) + " pos0=" + std::to_string(c.q_pos0);
}

struct Inputs {
    AttentionShape shape;
    size_t stride;
    std::vector<float> q;
    std::vector<f16_t> k, v;
};

Inputs make_inputs(const Case& c, uint32_t seed) {
    Inputs in;
    in.shape = {c.n_head, c.n_head_kv, c.head_dim, c.n_q, c.n_kv, c.q_pos0, 1.0f / std::sqrt(float(c.head_dim))};
    in.stride = size_t(c.n_head_kv) * c.head_dim + c.stride_pad;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    in.q.resize(size_t(c.n_q) * c.n_head * c.head_dim);
    for (float& x : in.q) x = c.q_mag * u(rng);
    const f16_t nan = 0x7e00;
    in.k.assign(size_t(c.n_kv) * in.stride, nan);
    in.v.assign(size_t(c.n_kv) * in.stride, nan);
    for (int t = 0; t < c.n_kv; ++t) {
        for (size_t x = 0; x < size_t(c.n_head_kv) * c.head_dim; ++x) {
            in.k[t * in.stride + x] = f32_to_f16(u(rng));
            in.v[t * in.stride + x] = f32_to_f16(u(rng));
        }
    }
    return in;
}

// Straight from the definition, in double: softmax(scale * q·k over the visible keys) · v.
std::vector<double> reference(const Inputs& in) {
    const AttentionShape& s = in.shape;
    const int d = s.head_dim, n_rep = s.n_head / s.n_head_kv;
    std::vector<double> out(size_t(s.n_q) * s.n_head * d, 0.0);
    std::vector<double> w;
    for (int i = 0; i < s.n_q; ++i) {
        const int visible = std::min(s.n_kv, s.q_pos0 + i + 1);
        for (int h = 0; h < s.n_head; ++h) {
            const int g = h / n_rep;
            const float* q = in.q.data() + (size_t(i) * s.n_head + h) * d;
            w.assign(visible, 0.0);
            double mx = -std::numeric_limits<double>::infinity();
            for (int t = 0; t < visible; ++t) {
                const f16_t* k = in.k.data() + t * in.stride + size_t(g) * d;
                double dot = 0;
                for (int x = 0; x < d; ++x) dot += double(q[x]) * double(f16_to_f32(k[x]));
                w[t] = double(s.scale) * dot;
                mx = std::max(mx, w[t]);
            }
            double sum = 0;
            for (int t = 0; t < visible; ++t) sum += w[t] = std::exp(w[t] - mx);
            double* o = out.data() + (size_t(i) * s.n_head + h) * d;
            for (int t = 0; t < visible; ++t) {
                const f16_t* v = in.v.data() + t * in.stride + size_t(g) * d;
                for (int x = 0; x < d; ++x) o[x] += w[t] / sum * double(f16_to_f32(v[x]));
            }
        }
    }
    return out;
}

// Outputs are convex combinations of values in [-1, 1]; f32 dot products, a polynomial exp and f32 sums
// over up to a thousand keys stay well inside this.
void expect_close(const std::vector<float>& got, const std::vector<double>& ref, const Case& c, const std::string& what) {
    const double atol = c.q_mag > 5 ? 1e-4 : 2e-5, rtol = 1e-4;
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double err = std::fabs(double(got[i]) - ref[i]);
        if (!(err <= atol + rtol * std::fabs(ref[i])) && ++bad <= 5) {
            const size_t d = size_t(c.head_dim);
            ADD_FAILURE() << what << " " << describe(c) << " at (q " << i / d / c.n_head << ", head "
                          << i / d % c.n_head << ", x " << i % d << "): got " << got[i] << " want " << ref[i];
        }
    }
    EXPECT_EQ(bad, 0) << what << " " << describe(c);
}

// qemu runs the aarch64 build about 100x slower: the largest shapes are x86 only.
const Case CASES[] = {
    // prefill, GQA 1 / 4 / 8 / multi-query
    {8, 8, 64, 37, 37, 0, 3, 0},
    {8, 2, 128, 70, 70, 0, 3, 8},
    {8, 1, 64, 50, 50, 0, 3, 0},
    {4, 1, 80, 45, 45, 0, 3, 16},
    {6, 2, 64, 9, 9, 0, 3, 0},  // 3 query heads per kv head: odd register-block tails
#if !defined(__aarch64__)
    {32, 1, 256, 3, 150, 147, 3, 0},  // multi-query, wide heads, one position per block
    {16, 2, 128, 130, 130, 0, 3, 0},
    {32, 8, 128, 100, 100, 0, 3, 0},
#endif
    // decode at depths 1, 7, 300, 1000
    {8, 1, 128, 1, 1, 0, 3, 0},
    {8, 2, 64, 1, 7, 6, 3, 0},
    {8, 8, 128, 1, 300, 299, 3, 24},
    {32, 8, 128, 1, 300, 299, 3, 0},
    {8, 1, 64, 1, 1000, 999, 3, 0},
    {4, 4, 64, 1, 1000, 999, 3, 0},
    // chunked prefill: queries after a cached prefix
    {8, 2, 64, 5, 300, 295, 3, 0},
    {4, 4, 128, 33, 200, 167, 3, 0},
    {8, 1, 128, 3, 700, 697, 3, 0},
    {1, 1, 64, 32, 400, 368, 3, 0},  // split into key ranges some rows of the block do not reach
    // a cache longer than the queries reach, and one shorter
    {4, 2, 64, 10, 40, 5, 3, 0},
    {4, 2, 64, 10, 25, 20, 3, 0},
    // peaky softmax: scores in the hundreds, so the running max moves a lot
    {4, 1, 64, 40, 40, 0, 40, 0},
    {4, 1, 128, 1, 500, 499, 40, 0},
};

using Param = std::tuple<std::string, int>;  // (isa, threads)

class AttentionTest : public ::testing::TestWithParam<Param> {
protected:
    const AttentionKernels& k() const { return rung_named(std::get<0>(GetParam())); }
    int threads() const { return std::get<1>(GetParam()); }
};

TEST_P(AttentionTest, FusedMatchesReference) {
    ThreadPool pool(threads());
    uint32_t seed = 1;
    for (const Case& c : CASES) {
        ++seed;
        if (c.head_dim % k().width != 0) continue;
        const Inputs in = make_inputs(c, seed);
        std::vector<float> out(in.q.size(), std::numeric_limits<float>::quiet_NaN());
        attention_fused(k(), in.shape, in.q.data(), in.k.data(), in.stride, in.v.data(), in.stride, out.data(), pool);
        expect_close(out, reference(in), c, "fused/" + std::string(k().isa));
        // Same inputs again on warm thread scratch: nothing may depend on what a previous call left there.
        std::vector<float> again(in.q.size(), std::numeric_limits<float>::quiet_NaN());
        attention_fused(k(), in.shape, in.q.data(), in.k.data(), in.stride, in.v.data(), in.stride, again.data(), pool);
        EXPECT_EQ(std::memcmp(out.data(), again.data(), out.size() * sizeof(float)), 0) << describe(c);
    }
}

TEST_P(AttentionTest, NaiveMatchesReference) {
    ThreadPool pool(threads());
    uint32_t seed = 1;
    for (const Case& c : CASES) {
        ++seed;
        if (c.head_dim % k().width != 0) continue;
        const Inputs in = make_inputs(c, seed);
        std::vector<float> out(in.q.size(), std::numeric_limits<float>::quiet_NaN());
        std::vector<float> scratch(attention_naive_scratch_bytes(in.shape) / sizeof(float),
                                   std::numeric_limits<float>::quiet_NaN());
        attention_naive(k(), in.shape, in.q.data(), in.k.data(), in.stride, in.v.data(), in.stride, out.data(),
                        scratch.data(), pool);
        expect_close(out, reference(in), c, "naive/" + std::string(k().isa));
    }
}

TEST_P(AttentionTest, EmptyShapes) {
    ThreadPool pool(threads());
    const f16_t kv[64] = {};
    const float q[2 * 2 * 64] = {};
    float out[2 * 2 * 64];
    std::fill(std::begin(out), std::end(out), 7.0f);
    AttentionShape s{2, 1, 64, 0, 1, 0, 0.125f};  // n_q = 0: nothing to do, out untouched
    attention_fused(k(), s, q, kv, 64, kv, 64, out, pool);
    EXPECT_EQ(out[0], 7.0f);
    s.n_q = 2;
    s.n_kv = 0;  // no keys: zeros
    attention_fused(k(), s, q, kv, 64, kv, 64, out, pool);
    for (float x : out) ASSERT_EQ(x, 0.0f);
    std::fill(std::begin(out), std::end(out), 7.0f);
    attention_naive(k(), s, q, kv, 64, kv, 64, out, nullptr, pool);
    for (float x : out) ASSERT_EQ(x, 0.0f);
}

std::vector<Param> all_params() {
    std::vector<Param> out;
    for (const AttentionKernels* k : rungs_under_test()) {
        for (int t : {1, 2, 3}) out.emplace_back(std::string(k->isa), t);
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

INSTANTIATE_TEST_SUITE_P(Rungs, AttentionTest, ::testing::ValuesIn(all_params()), param_name);

// ---- API ---------------------------------------------------------------------------------------------

TEST(AttentionLadder, ScalarFirstAndWidthsRespected) {
    const auto rungs = attention_kernels_available();
    ASSERT_FALSE(rungs.empty());
    EXPECT_EQ(rungs.front()->isa, "scalar");
    EXPECT_EQ(&attention_kernels_ref(), rungs.front());
    EXPECT_EQ(attention_kernels_for(128).isa, rungs.back()->isa);
    for (int d : {1, 8, 24, 40, 64, 72, 80, 96, 128, 256}) {
        const AttentionKernels& k = attention_kernels_for(d);
        EXPECT_EQ(d % k.width, 0) << k.isa << " for head_dim " << d;
    }
    EXPECT_EQ(attention_kernels_for(7).isa, "scalar");
}

TEST(AttentionLadder, BadShapesThrow) {
    ThreadPool pool(1);
    const f16_t kv[256] = {};
    const float q[256] = {};
    float out[256];
    auto fused = [&](AttentionShape s, size_t stride) {
        attention_fused(attention_kernels_ref(), s, q, kv, stride, kv, stride, out, pool);
    };
    EXPECT_THROW(fused({6, 4, 8, 1, 1, 0, 1.0f}, 32), std::invalid_argument);   // heads not a multiple of kv heads
    EXPECT_THROW(fused({4, 0, 8, 1, 1, 0, 1.0f}, 32), std::invalid_argument);   // no kv heads
    EXPECT_THROW(fused({4, 2, 0, 1, 1, 0, 1.0f}, 32), std::invalid_argument);   // head_dim 0
    EXPECT_THROW(fused({4, 2, 8, 1, 1, -1, 1.0f}, 32), std::invalid_argument);  // negative position
    EXPECT_THROW(fused({4, 2, 8, 1, 1, 0, 1.0f}, 15), std::invalid_argument);   // stride below a row
    try {
        fused({6, 4, 8, 1, 1, 0, 1.0f}, 32);
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).rfind("[attention]", 0), 0u) << e.what();
        EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
    }
    const AttentionKernels& wide = *attention_kernels_available().back();
    if (wide.width > 1) {  // a vector rung refuses a head_dim it cannot take
        EXPECT_THROW(attention_fused(wide, AttentionShape{1, 1, wide.width + 1, 1, 1, 0, 1.0f}, q, kv, 64, kv, 64, out,
                                     pool),
                     std::invalid_argument);
    }
}

// The point of the fused form: its working memory does not grow with the sequence, the naive one's
// grows with its square.
TEST(AttentionLadder, ScratchAccounting) {
    AttentionShape s{32, 8, 128, 2048, 2048, 0, 0.088f};
    EXPECT_EQ(attention_naive_scratch_bytes(s), size_t(32) * 2048 * 2048 * 4);
    const size_t fused = attention_fused_scratch_bytes(s, 2);
    EXPECT_GT(fused, 0u);
    EXPECT_LT(fused, size_t(1) << 20);
    s.n_q = s.n_kv = 16384;
    EXPECT_EQ(attention_fused_scratch_bytes(s, 2), fused);
    // Decode splits the keys on many threads: the partial states count too, and stay small.
    AttentionShape dec{32, 8, 128, 1, 16384, 16383, 0.088f};
    EXPECT_GT(attention_fused_scratch_bytes(dec, 16), attention_fused_scratch_bytes(dec, 1));
    EXPECT_LT(attention_fused_scratch_bytes(dec, 16), size_t(16) << 20);
    EXPECT_EQ(attention_naive_scratch_bytes(dec), size_t(32) * 16384 * 4);
}

}  // namespace
