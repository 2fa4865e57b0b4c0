// The LLM engine end to end on the tiny preset: the forward pass against a plain fp64 reference
// written here with simple loops (prefill and decode, every weight type), determinism across
// thread counts, GGUF write -> load, re-quantization, memory fit and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "backend/cpu/quants.hpp"
#include "base/error.hpp"
#include "llm/model-io.hpp"
#include "llm/model.hpp"

using namespace versus;
using namespace versus::llm;

namespace {

// Weight matrix as doubles: (ne1 rows, ne0 columns).
std::vector<double> dense(const Weight& w) {
    std::vector<double> out(static_cast<size_t>(w.ne0 * w.ne1));
    const auto qt = static_cast<cpu::QType>(static_cast<uint32_t>(w.type));
    const size_t row = cpu::qtype_row_bytes(qt, w.ne0);
    std::vector<float> tmp(static_cast<size_t>(w.ne0));
    for (int64_t r = 0; r < w.ne1; ++r) {
        cpu::dequantize_row(qt, w.data + r * row, tmp.data(), w.ne0);
        for (int64_t i = 0; i < w.ne0; ++i) out[static_cast<size_t>(r * w.ne0 + i)] = tmp[static_cast<size_t>(i)];
    }
    return out;
}

// y = W x for W (n_out, n_in).
std::vector<double> mv(const std::vector<double>& W, const std::vector<double>& x, int64_t n_out) {
    const int64_t n_in = static_cast<int64_t>(x.size());
    std::vector<double> y(static_cast<size_t>(n_out), 0.0);
    for (int64_t o = 0; o < n_out; ++o)
        for (int64_t i = 0; i < n_in; ++i) y[o] += W[o * n_in + i] * x[i];
    return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& g, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double s = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * g[i];
    return y;
}

// The textbook forward pass over a whole sequence in fp64; returns logits for every position.
std::vector<std::vector<double>> reference(const Model& m, const std::vector<int32_t>& tokens) {
    const ModelConfig& c = m.config();
    const int64_t T = static_cast<int64_t>(tokens.size()), E = c.n_embd, hd = c.head_dim;
    const auto embd = dense(m.tok_embd);
    std::vector<std::vector<double>> x(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) x[t].assign(embd.begin() + tokens[t] * E, embd.begin() + (tokens[t] + 1) * E);
    auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < hd / 2; ++i) {
                const double theta = static_cast<double>(pos) * std::pow(static_cast<double>(c.rope_base), -2.0 * i / hd);
                const int64_t a = c.rope_style == RopeStyle::NORM ? h * hd + 2 * i : h * hd + i;
                const int64_t b = c.rope_style == RopeStyle::NORM ? a + 1 : a + hd / 2;
                const double x0 = v[a], x1 = v[b];
                v[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
                v[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
            }
    };
    for (const auto& L : m.layers) {
        const auto wq = dense(L.wq), wk = dense(L.wk), wv = dense(L.wv), wo = dense(L.wo);
        const auto wg = dense(L.w_gate), wu = dense(L.w_up), wd = dense(L.w_down);
        const auto an = dense(L.attn_norm), fn = dense(L.ffn_norm);
        std::vector<std::vector<double>> q(T), k(T), v(T);
        for (int64_t t = 0; t < T; ++t) {
            const auto h = rmsnorm(x[t], an, c.rms_eps);
            q[t] = mv(wq, h, c.n_embd_q());
            k[t] = mv(wk, h, c.n_embd_kv());
            v[t] = mv(wv, h, c.n_embd_kv());
            if (c.qkv_bias) {
                const auto bq = dense(L.bq), bk = dense(L.bk), bv = dense(L.bv);
                for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += bq[i];
                for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += bk[i], v[t][i] += bv[i];
            }
            rope(q[t], c.n_head, t);
            rope(k[t], c.n_head_kv, t);
        }
        const int64_t rep = c.n_head / c.n_head_kv;
        for (int64_t t = 0; t < T; ++t) {
            std::vector<double> att(static_cast<size_t>(c.n_embd_q()), 0.0);
            for (int64_t h = 0; h < c.n_head; ++h) {
                const int64_t kvh = h / rep;
                std::vector<double> s(static_cast<size_t>(t + 1));
                double mx = -1e300;
                for (int64_t j = 0; j <= t; ++j) {
                    double d = 0;
                    for (int64_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][kvh * hd + i];
                    s[j] = d / std::sqrt(static_cast<double>(hd));
                    mx = std::max(mx, s[j]);
                }
                double sum = 0;
                for (auto& e : s) sum += (e = std::exp(e - mx));
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t i = 0; i < hd; ++i) att[h * hd + i] += s[j] / sum * v[j][kvh * hd + i];
            }
            const auto o = mv(wo, att, E);
            for (int64_t i = 0; i < E; ++i) x[t][i] += o[i];
            const auto h2 = rmsnorm(x[t], fn, c.rms_eps);
            auto g = mv(wg, h2, c.n_ff);
            const auto u = mv(wu, h2, c.n_ff);
            for (int64_t i = 0; i < c.n_ff; ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
            const auto d = mv(wd, g, E);
            for (int64_t i = 0; i < E; ++i) x[t][i] += d[i];
        }
    }
    const auto on = dense(m.out_norm), out = dense(m.output);
    std::vector<std::vector<double>> logits;
    for (int64_t t = 0; t < T; ++t) logits.push_back(mv(out, rmsnorm(x[t], on, c.rms_eps), c.n_vocab));
    return logits;
}

double rel_l2(std::span<const float> got, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return std::sqrt(num / den);
}

std::vector<int32_t> prompt(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 97 + 13) % 512);
    return t;
}

std::filesystem::path tmp(const std::string& name) {
    auto d = std::filesystem::temp_directory_path() / ("versus-llm-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d / name;
}

}  // namespace

class ForwardVsReference : public ::testing::TestWithParam<GgmlType> {};

TEST_P(ForwardVsReference, PrefillAndDecode) {
    const GgmlType type = GetParam();
    const Model m = Model::synthetic(preset_config("tiny"), type, 7);
    const auto tokens = prompt(9);
    const auto ref = reference(m, tokens);
    // Activation quantization (Q8_0 / Q8_K) and the f16 KV cache bound the agreement.
    const bool quantized = ggml_type_info(type).block_elements > 1;
    const double tol = quantized ? 0.05 : 0.01;
    for (int threads : {1, 2}) {
        cpu::ThreadPool pool(threads);
        // Prefill of the whole prompt, all logits.
        Session s(m, 64, 16, pool);
        auto all = s.eval(tokens, true);
        for (size_t t = 0; t < tokens.size(); ++t) {
            const std::span<const float> row(all.data() + t * 512, 512);
            EXPECT_LT(rel_l2(row, ref[t]), tol) << ggml_type_name(type) << " prefill position " << t;
        }
        // Decode: the same tokens one at a time.
        Session d(m, 64, 1, pool);
        for (size_t t = 0; t < tokens.size(); ++t) {
            auto logits = d.eval(std::span<const int32_t>(&tokens[t], 1));
            EXPECT_LT(rel_l2(logits, ref[t]), tol) << ggml_type_name(type) << " decode position " << t;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(EveryWeightType, ForwardVsReference,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(Llm, Qwen2ShapeWithBiasesAndNeoxRope) {
    ModelConfig c = preset_config("tiny");
    c.arch = "qwen2";
    c.qkv_bias = true;
    c.rope_style = RopeStyle::NEOX;
    const Model m = Model::synthetic(c, GgmlType::Q8_0, 3);
    const auto tokens = prompt(6);
    const auto ref = reference(m, tokens);
    cpu::ThreadPool pool(2);
    Session s(m, 32, 8, pool);
    auto all = s.eval(tokens, true);
    for (size_t t = 0; t < tokens.size(); ++t)
        EXPECT_LT(rel_l2(std::span<const float>(all.data() + t * 512, 512), ref[t]), 0.05) << t;
}

TEST(Llm, GreedyTokensDoNotDependOnThreadCount) {
    const Model m = Model::synthetic(preset_config("tiny"), GgmlType::Q4_0, 11);
    std::vector<int32_t> first;
    for (int threads : {1, 2, 3}) {
        cpu::ThreadPool pool(threads);
        Session s(m, 128, 8, pool);
        auto p = prompt(5);
        int32_t tok = argmax(s.eval(p));
        std::vector<int32_t> out{tok};
        for (int i = 0; i < 24; ++i) out.push_back(tok = argmax(s.eval(std::span<const int32_t>(&tok, 1))));
        if (first.empty())
            first = out;
        else
            EXPECT_EQ(out, first) << threads << " threads";
    }
}

TEST(Llm, GgufWriteThenLoadGivesTheSameLogits) {
    const auto path = tmp("tiny-q4_k.gguf");
    const ModelConfig c = preset_config("tiny");
    write_synthetic_gguf(c, GgmlType::Q4_K, 5, path);
    const Model a = Model::synthetic(c, GgmlType::Q4_K, 5);
    const Model b = Model::load(path);
    EXPECT_EQ(b.config().n_layer, c.n_layer);
    EXPECT_EQ(b.vocab().size(), 512u);
    EXPECT_EQ(b.type_label(), "Q4_K");
    cpu::ThreadPool pool(2);
    Session sa(a, 16, 4, pool), sb(b, 16, 4, pool);
    const auto p = prompt(4);
    const auto la = sa.eval(p);
    const std::vector<float> copy(la.begin(), la.end());
    const auto lb = sb.eval(p);
    for (size_t i = 0; i < copy.size(); ++i) ASSERT_EQ(copy[i], lb[i]) << i;
}

TEST(Llm, QuantizeF32FileToEveryType) {
    const auto f32 = tmp("tiny-f32.gguf");
    write_synthetic_gguf(preset_config("tiny"), GgmlType::F32, 9, f32);
    const Model base = Model::load(f32);
    cpu::ThreadPool pool(2);
    Session s0(base, 16, 4, pool);
    const auto p = prompt(4);
    const auto l0 = s0.eval(p);
    const std::vector<float> ref(l0.begin(), l0.end());
    for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::F16}) {
        const auto out = tmp(std::string("tiny-") + ggml_type_name(t) + ".gguf");
        quantize_gguf(f32, out, t, pool);
        const Model q = Model::load(out);
        EXPECT_EQ(q.type_label(), ggml_type_name(t));
        Session s(q, 16, 4, pool);
        const auto l = s.eval(p);
        std::vector<double> r(ref.begin(), ref.end());
        EXPECT_LT(rel_l2(l, r), 0.2) << ggml_type_name(t);
    }
}

TEST(Llm, RefusesWhatDoesNotFitWithTheNumbers) {
    const auto c = preset_config("llama-70b");
    try {
        check_fit("llama-70b Q4_0", weight_summary(c, GgmlType::Q4_0), kv_cache_bytes(c, 4096),
                  working_bytes(c, 512, 4096), 21'300'000'000ull);
        FAIL() << "no error";
    } catch (const UsageError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("llama-70b Q4_0 needs 4"), std::string::npos) << msg;
        EXPECT_NE(msg.find("21.3 GB available"), std::string::npos) << msg;
        EXPECT_NE(msg.find("HINT"), std::string::npos) << msg;
    }
}

TEST(Llm, BadInputIsUsageError) {
    const Model m = Model::synthetic(preset_config("tiny"), GgmlType::Q8_0, 1);
    cpu::ThreadPool pool(1);
    Session s(m, 8, 4, pool);
    const std::vector<int32_t> bad = {1, 512};
    EXPECT_THROW(s.eval(bad), UsageError);
    EXPECT_THROW(s.eval(prompt(9)), UsageError);  // beyond the context
    EXPECT_THROW(preset_config("llama-5b"), UsageError);
    // A Q4_K preset whose rows are not whole 256-value blocks.
    ModelConfig odd = preset_config("tiny");
    odd.n_embd = 320;
    odd.head_dim = 80;
    EXPECT_THROW(Model::synthetic(odd, GgmlType::Q4_K, 1), UsageError);
}

TEST(Llm, WrongShapesAndUnknownArchitectureAreRefused) {
    // A file whose attn_q has the wrong shape for its metadata.
    GgufWriter w;
    ModelConfig c = preset_config("tiny");
    set_model_metadata(w, c, GgmlType::F32);
    set_synthetic_vocab(w, c);
    for (const auto& spec : model_tensors(c)) {
        int64_t ne1 = spec.ne1;
        if (spec.name == "blk.1.attn_q.weight") ne1 = 128;
        const int64_t ne[2] = {spec.ne0, ne1};
        std::vector<uint8_t> data(ggml_tensor_bytes(GgmlType::F32, ne).value());
        w.add_tensor(spec.name, ne1 == 1 ? std::vector<int64_t>{spec.ne0} : std::vector<int64_t>{spec.ne0, ne1},
                     GgmlType::F32, data);
    }
    const auto bad_shape = tmp("bad-shape.gguf");
    w.write(bad_shape);
    try {
        Model::load(bad_shape);
        FAIL() << "loaded";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("blk.1.attn_q.weight"), std::string::npos) << e.what();
    }
    w.set_string("general.architecture", "mamba");
    const auto bad_arch = tmp("bad-arch.gguf");
    w.write(bad_arch);
    try {
        Model::load(bad_arch);
        FAIL() << "loaded";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("mamba"), std::string::npos) << e.what();
    }
}
