// Every layer of the training engine: its backward pass (in fp64) against central finite differences of its
// forward pass, on small shapes, at 2 threads. The loss of a layer is sum(out * R) for a fixed random R, so
// dout = R and every input and parameter gradient is checked element by element:
//   |analytic - numeric| <= 1e-6 + 1e-5 |numeric|, with h = 1e-5 (central differences err by O(h^2)).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "train/layers.hpp"
#include "train/matmul.hpp"
#include "train/rng.hpp"

using namespace versus;
using namespace versus::train;

namespace {

using Vec = std::vector<double>;

Vec random_vec(size_t n, uint64_t seed, double scale = 1.0) {
    Rng rng(seed);
    Vec v(n);
    for (auto& x : v) x = (2 * rng.uniform() - 1) * scale;
    return v;
}

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// Checks analytic[i] against d loss / d x[i] for every element (or `sample` of them, spread evenly).
void expect_gradient(const char* what, Vec& x, const Vec& analytic, const std::function<double()>& loss,
                     size_t sample = 0) {
    ASSERT_EQ(x.size(), analytic.size()) << what;
    const double h = 1e-5;
    const size_t step = sample && x.size() > sample ? x.size() / sample : 1;
    int bad = 0;
    for (size_t i = 0; i < x.size(); i += step) {
        const double keep = x[i];
        x[i] = keep + h;
        const double lp = loss();
        x[i] = keep - h;
        const double lm = loss();
        x[i] = keep;
        const double numeric = (lp - lm) / (2 * h);
        if (std::fabs(analytic[i] - numeric) > 1e-6 + 1e-5 * std::fabs(numeric) && bad++ < 5)
            ADD_FAILURE() << what << "[" << i << "]: backward " << analytic[i] << ", finite differences " << numeric;
    }
}

ThreadPool& pool() {
    static ThreadPool p(2);
    return p;
}

}  // namespace

TEST(TrainLayers, Embedding) {
    const int B = 2, T = 5, d = 6, V = 7, N = B * T;
    std::vector<int32_t> tok = {1, 3, 3, 0, 6, 2, 3, 1, 1, 5};
    Vec wte = random_vec(V * d, 1), wpe = random_vec(T * d, 2), R = random_vec(N * d, 3), out(N * d);
    auto loss = [&] {
        embedding_forward(pool(), out.data(), tok.data(), wte.data(), wpe.data(), N, T, d);
        return dot(out, R);
    };
    Vec dwte(V * d, 0.0), dwpe(T * d, 7.0);  // dwte adds, dwpe is set
    embedding_backward(pool(), dwte.data(), dwpe.data(), R.data(), tok.data(), N, T, d);
    expect_gradient("dwte", wte, dwte, loss);
    expect_gradient("dwpe", wpe, dwpe, loss);
}

class TrainNorm : public ::testing::TestWithParam<Norm> {};

TEST_P(TrainNorm, Backward) {
    const Norm kind = GetParam();
    const int N = 37, d = 24;  // more rows than reduction chunks
    Vec x = random_vec(N * d, 4, 2.0), w = random_vec(d, 5), b = random_vec(d, 6), R = random_vec(N * d, 7);
    for (int i = 0; i < N * d; ++i) x[i] += 0.5 * (i % d);  // rows with a mean to remove
    Vec out(N * d), mean(N), rstd(N);
    const bool layer = kind == Norm::LAYER;
    auto loss = [&] {
        norm_forward(pool(), kind, out.data(), mean.data(), rstd.data(), x.data(), w.data(), layer ? b.data() : nullptr, N,
                     d, 1e-5f);
        return dot(out, R);
    };
    loss();
    Vec dx(N * d, 0.0), dw(d), db(d), scratch(norm_scratch(d));
    norm_backward(pool(), kind, dx.data(), dw.data(), layer ? db.data() : nullptr, R.data(), x.data(), w.data(),
                  mean.data(), rstd.data(), N, d, scratch.data());
    expect_gradient("dx", x, dx, loss);
    expect_gradient("dw", w, dw, loss);
    if (layer) expect_gradient("db", b, db, loss);
}

INSTANTIATE_TEST_SUITE_P(Kinds, TrainNorm, ::testing::Values(Norm::LAYER, Norm::RMS),
                         [](const auto& i) { return i.param == Norm::LAYER ? std::string("LayerNorm") : std::string("RMSNorm"); });

TEST(TrainLayers, Linear) {
    const int N = 45, in = 19, out = 23;
    Vec x = random_vec(N * in, 8), W = random_vec(out * in, 9), b = random_vec(out, 10), R = random_vec(N * out, 11);
    Vec y(N * out);
    auto loss = [&] {
        linear_forward(pool(), y.data(), x.data(), W.data(), b.data(), N, in, out);
        return dot(y, R);
    };
    Vec dx(N * in, 0.0), dW(out * in, 3.0), db(out), scratch(linear_scratch(out));
    linear_backward(pool(), dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, in, out, 0.0, 0.0,
                    scratch.data());
    expect_gradient("dx", x, dx, loss);
    expect_gradient("dW", W, dW, loss);
    expect_gradient("db", b, db, loss);
    // dx_beta = 1 adds to what is there; dW_beta = 1 accumulates.
    Vec dx2(N * in, 1.0), dW2 = dW;
    linear_backward<double>(pool(), dx2.data(), dW2.data(), nullptr, R.data(), x.data(), W.data(), N, in, out, 1.0, 1.0,
                    scratch.data());
    EXPECT_NEAR(dx2[5], dx[5] + 1.0, 1e-12);
    EXPECT_NEAR(dW2[7], 2 * dW[7], 1e-12);
}

TEST(TrainLayers, Gelu) {
    const int n = 301;
    Vec x = random_vec(n, 12, 4.0), R = random_vec(n, 13), out(n);
    auto loss = [&] {
        gelu_forward(pool(), out.data(), x.data(), n);
        return dot(out, R);
    };
    Vec dx(n);
    gelu_backward(pool(), dx.data(), x.data(), R.data(), n);
    expect_gradient("dx", x, dx, loss);
}

TEST(TrainLayers, SwiGlu) {
    const int N = 7, f = 11;
    Vec h = random_vec(N * 2 * f, 14, 3.0), R = random_vec(N * f, 15), out(N * f);
    auto loss = [&] {
        swiglu_forward(pool(), out.data(), h.data(), N, f);
        return dot(out, R);
    };
    Vec dh(N * 2 * f);
    swiglu_backward(pool(), dh.data(), h.data(), R.data(), N, f);
    expect_gradient("dh", h, dh, loss);
}

TEST(TrainLayers, Rope) {
    const int B = 2, T = 6, H = 2, hd = 8, n = B * T * 3 * H * hd;
    Vec qkv = random_vec(n, 16), R = random_vec(n, 17), work(n);
    auto loss = [&] {
        work = qkv;
        rope_forward(pool(), work.data(), B, T, H, hd, 10000.0f);
        return dot(work, R);
    };
    Vec g = R;
    rope_backward(pool(), g.data(), B, T, H, hd, 10000.0f);
    expect_gradient("dqkv", qkv, g, loss);
}

// Fused (several query and key tiles, ragged edges) and naive attention, each against finite differences, and
// against each other on the same input.
class TrainAttention : public ::testing::TestWithParam<AttentionImpl> {};

TEST_P(TrainAttention, Backward) {
    const AttentionImpl impl = GetParam();
    const int B = 2, T = 19, H = 2, hd = 4, d = H * hd;
    const AttentionTiles tiles{4, 8};
    Vec qkv = random_vec(B * T * 3 * d, 18), R = random_vec(B * T * d, 19), out(B * T * d);
    Vec stats(attention_stats(impl, B, T, H)), scratch(attention_scratch(impl, T, hd, pool().size(), tiles));
    auto loss = [&] {
        attention_forward(pool(), impl, out.data(), stats.data(), qkv.data(), B, T, H, hd, scratch.data(), tiles);
        return dot(out, R);
    };
    loss();
    Vec dqkv(qkv.size(), 5.0);  // set, not added
    attention_backward(pool(), impl, dqkv.data(), R.data(), out.data(), stats.data(), qkv.data(), B, T, H, hd,
                       scratch.data(), tiles);
    expect_gradient("dqkv", qkv, dqkv, loss);
}

INSTANTIATE_TEST_SUITE_P(Impls, TrainAttention, ::testing::Values(AttentionImpl::FUSED, AttentionImpl::NAIVE),
                         [](const auto& i) { return std::string(attention_name(i.param)); });

TEST(TrainLayers, FusedAttentionMatchesNaiveAcrossDefaultTiles) {
    // Longer than one default key tile (256) and not a multiple of the query tile (64).
    const int B = 1, T = 300, H = 2, hd = 8, d = H * hd;
    Vec qkv = random_vec(B * T * 3 * d, 20, 2.0), R = random_vec(B * T * d, 21);
    Vec out[2], dq[2];
    int i = 0;
    for (AttentionImpl impl : {AttentionImpl::FUSED, AttentionImpl::NAIVE}) {
        Vec stats(attention_stats(impl, B, T, H)), scratch(attention_scratch(impl, T, hd, pool().size()));
        out[i].resize(B * T * d);
        dq[i].resize(qkv.size());
        attention_forward(pool(), impl, out[i].data(), stats.data(), qkv.data(), B, T, H, hd, scratch.data());
        attention_backward(pool(), impl, dq[i].data(), R.data(), out[i].data(), stats.data(), qkv.data(), B, T, H, hd,
                           scratch.data());
        ++i;
    }
    for (size_t j = 0; j < out[0].size(); ++j) ASSERT_NEAR(out[0][j], out[1][j], 1e-12) << j;
    for (size_t j = 0; j < dq[0].size(); ++j) ASSERT_NEAR(dq[0][j], dq[1][j], 1e-11) << j;
}

TEST(TrainLayers, CrossEntropy) {
    const int N = 9, V = 13;
    Vec z = random_vec(N * V, 22, 3.0), losses(N), work(N * V);
    std::vector<int32_t> tgt = {0, 12, 5, -1, 7, 7, 3, -1, 1};
    const double scale = 0.37;
    auto loss = [&] {
        work = z;
        return scale * cross_entropy(pool(), work.data(), losses.data(), tgt.data(), N, V, 1.0);
    };
    Vec grad = z;
    const double total = cross_entropy(pool(), grad.data(), losses.data(), tgt.data(), N, V, scale);
    // The loss of one row by hand.
    double mx = z[V], s = 0;
    for (int j = 0; j < V; ++j) mx = std::max(mx, z[V + j]);
    for (int j = 0; j < V; ++j) s += std::exp(z[V + j] - mx);
    EXPECT_NEAR(losses[1], std::log(s) + mx - z[V + 12], 1e-12);
    EXPECT_EQ(losses[3], 0.0);
    EXPECT_GT(total, 0.0);
    expect_gradient("dlogits", z, grad, loss);
}

TEST(TrainLayers, AdamWAndClipping) {
    const int n = 5;
    Vec p = {1.0, -2.0, 0.5, 0.0, 3.0}, g = {0.1, -0.2, 0.0, 1e-3, 4.0}, m(n, 0.0), v(n, 0.0);
    AdamWConfig c;
    c.lr = 0.01;
    c.weight_decay = 0.1;
    c.clip = 1.0;
    const double norm = grad_norm(pool(), g.data(), n);
    EXPECT_NEAR(norm, std::sqrt(0.01 + 0.04 + 1e-6 + 16.0), 1e-12);
    const double s = clip_scale(c, norm);
    EXPECT_NEAR(s, 1.0 / norm, 1e-15);
    Vec ref = p;
    adamw_update(pool(), p.data(), g.data(), m.data(), v.data(), n, c, 1, s, true);
    for (int i = 0; i < n; ++i) {
        // Step 1: m^ = g', v^ = g'^2, so the update is lr (g' / (|g'| + eps) + wd p).
        const double gi = g[i] * s;
        const double want = ref[i] - c.lr * (gi / (std::fabs(gi) + c.eps) + c.weight_decay * ref[i]);
        EXPECT_NEAR(p[i], want, 1e-12) << i;
    }
}

// Every way gemm() spreads a product over the cores (one slice per pool thread, BLAS's own threads, and the
// engine's choice) against a plain fp64 product, for every transposition, with padded rows and beta != 0: a
// shape large enough that none of them falls back to one call on one thread.
TEST(TrainLayers, GemmPathsMatchReference) {
    const int M = 96, N = 80, K = 72, pad = 3;
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (GemmPath path : {GemmPath::SPLIT, GemmPath::BLAS_THREADS, GemmPath::AUTO}) {
                const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                const Vec a = random_vec(static_cast<size_t>(ta ? K : M) * lda, 11),
                          b = random_vec(static_cast<size_t>(tb ? N : K) * ldb, 12),
                          c0 = random_vec(static_cast<size_t>(M) * ldc, 13);
                std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(c0.begin(), c0.end());
                const float alpha = 0.75f, beta = 0.5f;
                gemm<float>(pool(), ta, tb, M, N, K, alpha, af.data(), lda, bf.data(), ldb, beta, cf.data(), ldc, path);
                int bad = 0;
                for (int i = 0; i < M; ++i)
                    for (int j = 0; j < N; ++j) {
                        double want = 0, mag = 0;
                        for (int k = 0; k < K; ++k) {
                            const double x = af[ta ? static_cast<size_t>(k) * lda + i : static_cast<size_t>(i) * lda + k];
                            const double y = bf[tb ? static_cast<size_t>(j) * ldb + k : static_cast<size_t>(k) * ldb + j];
                            want += x * y;
                            mag += std::fabs(x * y);
                        }
                        const size_t o = static_cast<size_t>(i) * ldc + j;
                        want = alpha * want + beta * static_cast<double>(static_cast<float>(c0[o]));
                        if (std::fabs(cf[o] - want) > 1e-6 * (mag + 1) && bad++ < 3)
                            ADD_FAILURE() << "ta " << ta << " tb " << tb << " path " << static_cast<int>(path) << " C[" << i
                                          << "," << j << "] = " << cf[o] << ", want " << want;
                    }
                // Padding past N in every row is left alone.
                for (int i = 0; i < M; ++i)
                    for (int j = N; j < ldc; ++j) {
                        const size_t o = static_cast<size_t>(i) * ldc + j;
                        ASSERT_EQ(cf[o], static_cast<float>(c0[o]));
                    }
            }
}
