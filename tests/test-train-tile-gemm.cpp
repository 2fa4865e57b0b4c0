// The fused attention's tile kernel (train/tile-gemm.hpp) against a plain fp64 product, for every mask, ragged
// rows and columns (row blocks of 1-3, single vectors, scalar tails), A read transposed, and both vector widths
// (64 and 32 bytes: each runs on any CPU, so an AVX-512 machine checks the AVX2-width kernel too). Then the fused
// attention at head_dim 64 — the kernel's full blocks, which the finite-difference test (hd 4) never reaches —
// against the naive path, at shapes with edges: one token, seq not a multiple of either tile, query tiles shorter
// than key tiles and longer, in fp64 (to rounding) and f32 (to f32 accuracy).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "train/layers.hpp"
#include "train/rng.hpp"
#include "train/tile-gemm.hpp"

using namespace versus;
using namespace versus::train;

namespace {

template <typename T>
std::vector<T> random_values(size_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(2 * rng.uniform() - 1);
    return v;
}

// Whether row i keeps column j and contraction index p under the mask, at the row's own extent.
bool kept(TileMask mask, int diag, int i, int j, int p) {
    switch (mask) {
        case TileMask::COLUMNS:
            return j <= i + diag;
        case TileMask::P_END:
            return p <= i + diag;
        case TileMask::P_BEGIN:
            return p >= i - diag;
        case TileMask::NONE:
            break;
    }
    return true;
}

// A block of rows takes the range of its widest row, so A is zero outside each row's own range, as the attention's
// masked probabilities are; then every kept element of C is the whole product, whatever the blocking.
template <typename T>
void check_tile_gemm(int m, int n, int k, bool transposed_a, TileMask mask, int diag, bool accumulate, int vb) {
    const int64_t ldb = n + 3, ldc = n + 5;
    const int64_t ai = transposed_a ? 1 : k, ap = transposed_a ? m : 1;
    std::vector<T> a = random_values<T>(static_cast<size_t>(m) * k, 1);
    const std::vector<T> b = random_values<T>(k * ldb, 2), c0 = random_values<T>(m * ldc, 3);
    for (int i = 0; i < m; ++i)
        for (int p = 0; p < k; ++p)
            if (mask != TileMask::COLUMNS && !kept(mask, diag, i, 0, p)) a[i * ai + p * ap] = T(0);
    std::vector<T> c = c0;
    tile_gemm<T>({m, n, k, a.data(), ai, ap, b.data(), ldb, c.data(), ldc, accumulate, mask, diag}, vb);
    const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
    for (int i = 0; i < m; ++i) {
        for (int j = 0; j < n; ++j) {
            if (!kept(mask, diag, i, j, 0) && mask == TileMask::COLUMNS) continue;  // masked: computed or not
            const size_t at = static_cast<size_t>(i) * ldc + j;
            double want = accumulate ? c0[at] : 0;
            for (int p = 0; p < k; ++p) want += static_cast<double>(a[i * ai + p * ap]) * b[p * ldb + j];
            ASSERT_NEAR(c[at], want, tol * (1 + std::fabs(want)))
                << "m " << m << " n " << n << " k " << k << " mask " << static_cast<int>(mask) << " diag " << diag
                << " vb " << vb << " at (" << i << ", " << j << ")";
        }
        for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]);  // never past column n
    }
}

}  // namespace

TEST(TrainTileGemm, MatchesReferenceForEveryMaskAndEdge) {
    const int shapes[][3] = {{1, 1, 1}, {4, 64, 64}, {7, 67, 13}, {13, 20, 64}, {64, 64, 64}, {3, 16, 0}, {9, 130, 5}};
    for (int vb : {32, 64})
        for (const auto& s : shapes)
            for (bool transposed : {false, true})
                for (TileMask mask : {TileMask::NONE, TileMask::COLUMNS, TileMask::P_END, TileMask::P_BEGIN})
                    for (int diag : {-5, 0, 3})
                        for (bool accumulate : {false, true}) {
                            check_tile_gemm<float>(s[0], s[1], s[2], transposed, mask, diag, accumulate, vb);
                            check_tile_gemm<double>(s[0], s[1], s[2], transposed, mask, diag, accumulate, vb);
                        }
}

namespace {

ThreadPool& pool() {
    static ThreadPool p(2);
    return p;
}

struct AttentionRun {
    std::vector<double> out, dqkv;
};

// Forward and backward in T on inputs given in fp64; results widened to fp64.
template <typename T>
AttentionRun run_attention(AttentionImpl impl, const std::vector<double>& qkv64, const std::vector<double>& R64, int B,
                           int seq, int H, int hd, AttentionTiles tiles) {
    const std::vector<T> qkv(qkv64.begin(), qkv64.end()), R(R64.begin(), R64.end());
    std::vector<T> out(R.size()), dqkv(qkv.size(), T(7)), stats(attention_stats(impl, B, seq, H));
    std::vector<T> scratch(attention_scratch(impl, seq, hd, pool().size(), tiles));
    attention_forward(pool(), impl, out.data(), stats.data(), qkv.data(), B, seq, H, hd, scratch.data(), tiles);
    attention_backward(pool(), impl, dqkv.data(), R.data(), out.data(), stats.data(), qkv.data(), B, seq, H, hd,
                       scratch.data(), tiles);
    return {{out.begin(), out.end()}, {dqkv.begin(), dqkv.end()}};
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol, const char* what) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << what << "[" << i << "]";
}

}  // namespace

TEST(TrainAttentionTiles, FusedMatchesNaiveAtHeadDim64) {
    struct Case {
        int seq, hd;
        AttentionTiles tiles;
    };
    const Case cases[] = {
        {1, 64, {}},         // one token: one query, one key
        {67, 64, {16, 32}},  // query tiles shorter than key tiles, ragged last tiles
        {67, 64, {32, 16}},  // and longer
        {130, 64, {}},       // one default tile and a ragged second
        {45, 20, {8, 8}},    // head_dim not a multiple of a vector (scalar tail)
    };
    const int B = 2, H = 2;
    for (const Case& c : cases) {
        const int d = H * c.hd;
        const std::vector<double> qkv = random_values<double>(static_cast<size_t>(B) * c.seq * 3 * d, 30);
        const std::vector<double> R = random_values<double>(static_cast<size_t>(B) * c.seq * d, 31);
        const AttentionRun ref = run_attention<double>(AttentionImpl::NAIVE, qkv, R, B, c.seq, H, c.hd, c.tiles);
        for (int vb : {32, 64}) {
            SCOPED_TRACE("seq " + std::to_string(c.seq) + " hd " + std::to_string(c.hd) + " tiles " +
                         std::to_string(c.tiles.q) + "x" + std::to_string(c.tiles.k) + " vector bytes " +
                         std::to_string(vb));
            AttentionTiles tiles = c.tiles;
            tiles.vector_bytes = vb;
            const AttentionRun f64 = run_attention<double>(AttentionImpl::FUSED, qkv, R, B, c.seq, H, c.hd, tiles);
            expect_near(f64.out, ref.out, 1e-12, "out f64");
            expect_near(f64.dqkv, ref.dqkv, 1e-11, "dqkv f64");
            const AttentionRun f32 = run_attention<float>(AttentionImpl::FUSED, qkv, R, B, c.seq, H, c.hd, tiles);
            expect_near(f32.out, ref.out, 2e-6, "out f32");
            expect_near(f32.dqkv, ref.dqkv, 2e-5, "dqkv f32");
        }
    }
}
