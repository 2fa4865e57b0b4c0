// The LLM on CUDA and layer offload. Always run: the host side of offload (the split of blocks, device
// bytes, what fits a budget, the messages), the split itself with the CPU LayerRunner (bit-for-bit equal to
// one Session), and the command line without a GPU. With a CUDA device: the plugin's kernels against the CPU
// by normalised mean squared error (per-op bounds), end-to-end logits of the tiny preset for every weight
// type in prefill and decode, greedy tokens, partial offload. Without one those are skipped with the reason.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/attention.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/quants.hpp"
#include "base/error.hpp"
#include "llm/model.hpp"
#include "llm/offload.hpp"

#ifndef VERSUS_CUDA_PLUGIN
#define VERSUS_CUDA_PLUGIN ""  // built without the plugin
#endif

using namespace versus;
using namespace versus::llm;

namespace {

// sum (a - b)^2 / sum b^2: the error relative to the reference's energy.
double nmse(std::span<const float> got, std::span<const float> ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        num += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
        den += double(ref[i]) * ref[i];
    }
    return den > 0 ? num / den : num;
}

std::vector<int32_t> prompt(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 97 + 13) % 512);
    return t;
}

const GgmlType ALL_TYPES[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                              GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

bool quantized(GgmlType t) { return ggml_type_info(t).block_elements > 1; }

// The CUDA backend and its first device, or the reason there is none (the test skips with it).
struct Gpu {
    std::vector<backend::BackendSlot> slots;
    backend::Backend* b = nullptr;
    std::string reason;
};
Gpu& gpu() {
    static Gpu g = [] {
        Gpu out;
        // The build's plugin directory first (the test binary does not sit beside it).
        if (const std::string plugin = VERSUS_CUDA_PLUGIN; !plugin.empty())
            ::setenv("VERSUS_PLUGIN_DIR", std::filesystem::path(plugin).parent_path().c_str(), 1);
        out.slots = backend::load_backends();
        for (auto& s : out.slots) {
            if (s.name != "cuda") continue;
            if (!s.backend) out.reason = "cuda: not available (" + s.reason + ")";
            else if (s.backend->device_count() < 1) out.reason = "cuda: no device";
            else if (!s.backend->has_llm()) out.reason = "cuda: the plugin has no LLM ops";
            else out.b = s.backend.get();
        }
        if (!out.b && out.reason.empty()) out.reason = "cuda: not built for this platform";
        return out;
    }();
    return g;
}
#define REQUIRE_GPU()                                     \
    do {                                                  \
        if (!gpu().b) GTEST_SKIP() << gpu().reason;       \
    } while (0)

// Logits of every prompt position (prefill, all_logits) and of each token decoded one at a time.
struct Logits {
    std::vector<float> prefill;                // (T, n_vocab)
    std::vector<std::vector<float>> decode;    // T x (n_vocab)
};
Logits run(const Model& m, const std::vector<int32_t>& tokens, const std::function<std::unique_ptr<LayerRunner>(int64_t)>& front) {
    cpu::ThreadPool pool(2);
    Logits r;
    const auto T = static_cast<int64_t>(tokens.size());
    Session p(m, 64, T, pool, front(T));
    const auto all = p.eval(tokens, true);
    r.prefill.assign(all.begin(), all.end());
    Session d(m, 64, 1, pool, front(1));
    for (int32_t t : tokens) {
        const auto l = d.eval(std::span<const int32_t>(&t, 1));
        r.decode.emplace_back(l.begin(), l.end());
    }
    return r;
}

auto no_front = [](int64_t) { return std::unique_ptr<LayerRunner>(); };

}  // namespace

// ---- host side: always run --------------------------------------------------------------------------

TEST(Offload, PlanSplitsBlocksAndClampsToTheModel) {
    const ModelConfig c = preset_config("tiny");  // 2 blocks
    const LayerBytes lb = layer_bytes(c, GgmlType::Q4_0);
    ASSERT_EQ(lb.layers.size(), 2u);
    EXPECT_EQ(lb.layers[0], lb.layers[1]);
    EXPECT_GT(lb.output, 0u);

    const OffloadPlan one = plan_offload(c, lb, 1, 128, 16);
    EXPECT_EQ(one.n_layers, 1);
    EXPECT_FALSE(one.output);
    EXPECT_EQ(one.weight_bytes, lb.layers[0]);
    EXPECT_EQ(one.kv_bytes, kv_cache_bytes(c, 128) / 2);

    const OffloadPlan all = plan_offload(c, lb, 99, 128, 16);  // more than the model has: all of it
    EXPECT_EQ(all.n_layers, 2);
    EXPECT_TRUE(all.output);
    EXPECT_EQ(all.weight_bytes, lb.layers[0] + lb.layers[1] + lb.output);
    EXPECT_EQ(all.kv_bytes, kv_cache_bytes(c, 128));
    EXPECT_GT(all.working_bytes, one.working_bytes);  // the logits

    const OffloadPlan none = plan_offload(c, lb, 0, 128, 16);
    EXPECT_EQ(none.total(), 0u);
    EXPECT_THROW(plan_offload(c, lb, -1, 128, 16), UsageError);
}

TEST(Offload, LayerBytesAgreeBetweenPresetAndModel) {
    const ModelConfig c = preset_config("tiny");
    for (GgmlType t : {GgmlType::Q4_K, GgmlType::F16}) {
        const Model m = Model::synthetic(c, t, 1);
        const LayerBytes a = layer_bytes(m), b = layer_bytes(c, t);
        EXPECT_EQ(a.layers, b.layers) << ggml_type_name(t);
        EXPECT_EQ(a.output, b.output) << ggml_type_name(t);
        uint64_t sum = a.output + weight_summary(c, t).embd_bytes;
        for (uint64_t x : a.layers) sum += x;
        EXPECT_EQ(sum, weight_summary(c, t).total_bytes) << ggml_type_name(t);
    }
}

TEST(Offload, LayersThatFitABudget) {
    const ModelConfig c = preset_config("llama-7b");  // 32 blocks
    const LayerBytes lb = layer_bytes(c, GgmlType::Q4_0);
    const int64_t ctx = 4096, batch = 512;
    for (int64_t n : {1, 10, 31}) {
        const uint64_t need = plan_offload(c, lb, n, ctx, batch).total();
        EXPECT_EQ(layers_that_fit(c, lb, ctx, batch, need), n);
        EXPECT_EQ(layers_that_fit(c, lb, ctx, batch, need - 1), n - 1);
    }
    EXPECT_EQ(layers_that_fit(c, lb, ctx, batch, 0), 0);
    EXPECT_EQ(layers_that_fit(c, lb, ctx, batch, UINT64_MAX), 32);
    // The output goes with the last block: 32 blocks cost more than 31 by a block and the output.
    const auto p31 = plan_offload(c, lb, 31, ctx, batch), p32 = plan_offload(c, lb, 32, ctx, batch);
    EXPECT_EQ(p32.weight_bytes - p31.weight_bytes, lb.layers[31] + lb.output);
}

TEST(Offload, RefusalCarriesTheNumbersAndWhatFits) {
    const ModelConfig c = preset_config("llama-7b");
    const LayerBytes lb = layer_bytes(c, GgmlType::Q4_0);
    const auto plan = plan_offload(c, lb, 32, 4096, 512);
    const uint64_t budget = plan_offload(c, lb, 20, 4096, 512).total() + 1000;
    try {
        check_offload_fit("llama-7b Q4_0", c, lb, plan, 4096, 512, "NVIDIA T4", budget);
        FAIL() << "no error";
    } catch (const UsageError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("llama-7b Q4_0: 32 of 32 blocks + output on NVIDIA T4 need"), std::string::npos) << msg;
        EXPECT_NE(msg.find("GB available; 20 blocks fit"), std::string::npos) << msg;
        EXPECT_NE(msg.find("HINT: use --gpu-layers 20"), std::string::npos) << msg;
    }
    EXPECT_NO_THROW(check_offload_fit("x", c, lb, plan, 4096, 512, "big", plan.total()));
    EXPECT_EQ(no_gpu_message(3, "libversus-cuda.so not found"),
              "--gpu-layers 3 needs the CUDA backend, which is not available (libversus-cuda.so not found)");
}

// The split itself, with the CPU on both sides: blocks 0..N-1 through a LayerRunner, the rest in the Session.
TEST(Offload, CpuFrontBlocksEqualOneSession) {
    const auto tokens = prompt(7);
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::F32}) {
        const Model m = Model::synthetic(preset_config("tiny"), t, 5);
        cpu::ThreadPool pool(2);
        const Logits ref = run(m, tokens, no_front);
        for (int64_t n : {1, 2}) {
            const Logits got = run(m, tokens, [&](int64_t batch) { return make_cpu_layers(m, n, 64, batch, pool); });
            EXPECT_EQ(got.prefill, ref.prefill) << ggml_type_name(t) << " front " << n;
            EXPECT_EQ(got.decode, ref.decode) << ggml_type_name(t) << " front " << n;
        }
    }
    const Model m = Model::synthetic(preset_config("tiny"), GgmlType::Q8_0, 1);
    cpu::ThreadPool pool(1);
    EXPECT_THROW(make_cpu_layers(m, 3, 8, 1, pool), UsageError);
    EXPECT_THROW(make_cpu_layers(m, 0, 8, 1, pool), UsageError);
}

namespace {
// Runs the versus binary; its exit code and what it wrote (stdout and stderr together).
struct Cli {
    int code;
    std::string out;
};
Cli versus_cli(const std::string& args) {
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen((std::string(VERSUS_BINARY) + " " + args + " 2>&1").c_str(), "r"),
                                            &pclose);
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p.get())) > 0;) out.append(buf, n);
    const int status = pclose(p.release());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
}  // namespace

TEST(Offload, GenerateWithGpuLayersNeedsCuda) {
    const Cli r = versus_cli("generate --model tiny --type q8_0 --tokens 1,2,3 -n 2 --gpu-layers 1 -o json");
    if (gpu().b) {
        EXPECT_EQ(r.code, 0) << r.out;
        EXPECT_NE(r.out.find("\"gpu_layers\": 1"), std::string::npos) << r.out;
        return;
    }
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("--gpu-layers 1 needs the CUDA backend, which is not available"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("HINT"), std::string::npos) << r.out;
    // Without GPU layers the same command runs on the CPU.
    const Cli cpu = versus_cli("generate --model tiny --type q8_0 --tokens 1,2,3 -n 2 -o json");
    EXPECT_EQ(cpu.code, 0) << cpu.out;
    EXPECT_NE(cpu.out.find("\"gpu_layers\": 0"), std::string::npos) << cpu.out;
}

TEST(Offload, BenchRowsSayWhyTheyDidNotRunOnAGpu) {
    // A CPU row asked for GPU layers: skipped with the reason; gpu_layers is recorded (clamped to the model's 2).
    const Cli r = versus_cli("bench llm --model tiny --type q8_0 -p 8 -n 0 --gpu-layers 5 -r 1 -o jsonl -q");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("\"gpu_layers\":2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"status\":\"skipped\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("needs the CUDA backend"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("add -b cuda"), std::string::npos) << r.out;
    // gpu_layers 0 is the CPU engine as before.
    const Cli z = versus_cli("bench llm --model tiny --type q8_0 -p 8 -n 0 --gpu-layers 0 -r 1 -o jsonl -q");
    EXPECT_EQ(z.code, 0) << z.out;
    EXPECT_NE(z.out.find("\"status\":\"ok\""), std::string::npos) << z.out;
    if (!gpu().b) {
        const Cli c = versus_cli("bench llm -b cuda --model tiny -p 8 -n 0 --gpu-layers 2 -r 1 -o jsonl -q");
        EXPECT_EQ(c.code, 0) << c.out;
        EXPECT_NE(c.out.find("\"status\":\"skipped\""), std::string::npos) << c.out;
        EXPECT_NE(c.out.find("cuda: not available"), std::string::npos) << c.out;
    }
}

// ---- with a GPU ---------------------------------------------------------------------------------------

class CudaMatmul : public ::testing::TestWithParam<GgmlType> {};

// The decode product (matvec on the blocks, f32 math) and the prefill product (f16 dequantization + tensor-core
// GEMM) of one weight against the CPU's dequantized rows in fp64.
TEST_P(CudaMatmul, DecodeAndPrefillAgainstTheCpu) {
    REQUIRE_GPU();
    const GgmlType type = GetParam();
    const int64_t n_in = 512, n_out = 96;
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> wf(static_cast<size_t>(n_in * n_out));
    for (auto& v : wf) v = nd(rng);
    const auto qt = static_cast<cpu::QType>(static_cast<uint32_t>(type));
    const size_t row = cpu::qtype_row_bytes(qt, n_in);
    std::vector<uint8_t> wq(row * static_cast<size_t>(n_out));
    for (int64_t r = 0; r < n_out; ++r) cpu::quantize_row(qt, &wf[r * n_in], &wq[r * row], n_in);
    std::vector<float> deq(static_cast<size_t>(n_in));
    std::vector<double> wd(wf.size());
    for (int64_t r = 0; r < n_out; ++r) {
        cpu::dequantize_row(qt, &wq[r * row], deq.data(), n_in);
        for (int64_t i = 0; i < n_in; ++i) wd[r * n_in + i] = deq[i];
    }
    versus_llm_weight w{};
    w.type = static_cast<int32_t>(type);
    w.ne0 = n_in;
    w.ne1 = n_out;
    w.data = wq.data();
    for (int n : {1, 5}) {
        std::vector<float> x(static_cast<size_t>(n * n_in)), y(static_cast<size_t>(n * n_out)), ref(y.size());
        for (auto& v : x) v = nd(rng);
        for (int t = 0; t < n; ++t)
            for (int64_t o = 0; o < n_out; ++o) {
                double s = 0;
                for (int64_t i = 0; i < n_in; ++i) s += wd[o * n_in + i] * x[t * n_in + i];
                ref[t * n_out + o] = static_cast<float>(s);
            }
        gpu().b->llm_matmul(0, w, n, x.data(), y.data());
        // f32 math for one token; f16 activations (and f16 weights) in the GEMM.
        EXPECT_LT(nmse(y, ref), n == 1 ? 1e-9 : 2e-6) << ggml_type_name(type) << " n=" << n;
    }
}

INSTANTIATE_TEST_SUITE_P(EveryWeightType, CudaMatmul, ::testing::ValuesIn(ALL_TYPES),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

// The ABI attention op, naive and fused, prefill and decode (the fused decode splits its keys), against the CPU.
TEST(CudaAttention, NaiveAndFusedAgainstTheCpu) {
    REQUIRE_GPU();
    backend::Backend& b = *gpu().b;
    struct Case {
        int heads, kv_heads, head_dim, n_q, n_kv;
    };
    for (const Case cs : {Case{8, 2, 64, 37, 37}, Case{4, 4, 128, 1, 2000}, Case{28, 4, 128, 1, 700},
                          Case{32, 8, 128, 96, 96}, Case{16, 1, 256, 5, 300}, Case{6, 3, 40, 9, 20}}) {
        versus_attention_shape s{};
        s.n_head = cs.heads;
        s.n_head_kv = cs.kv_heads;
        s.head_dim = cs.head_dim;
        s.n_q = cs.n_q;
        s.n_kv = cs.n_kv;
        s.q_pos0 = cs.n_kv - cs.n_q;
        s.scale = 1.0f / std::sqrt(static_cast<float>(cs.head_dim));
        s.k_row_stride = s.v_row_stride = static_cast<uint64_t>(cs.kv_heads) * cs.head_dim;
        std::mt19937 rng(cs.n_kv);
        std::uniform_real_distribution<float> u(-2.0f, 2.0f);
        std::vector<float> q(static_cast<size_t>(cs.n_q) * cs.heads * cs.head_dim);
        for (auto& v : q) v = u(rng);
        std::vector<uint16_t> k(static_cast<size_t>(cs.n_kv) * s.k_row_stride), v(k.size());
        for (auto& x : k) x = cpu::f32_to_f16(u(rng));
        for (auto& x : v) x = cpu::f32_to_f16(u(rng));
        std::vector<float> ref(q.size()), got(q.size());
        cpu::ThreadPool pool(2);
        cpu::attention_fused(cpu::attention_kernels_ref(),
                             {s.n_head, s.n_head_kv, s.head_dim, s.n_q, s.n_kv, s.q_pos0, s.scale}, q.data(), k.data(),
                             s.k_row_stride, v.data(), s.v_row_stride, ref.data(), pool);
        auto dq = b.alloc(0, q.size() * 4), dk = b.alloc(0, k.size() * 2), dv = b.alloc(0, v.size() * 2),
             dout = b.alloc(0, q.size() * 4), scratch = b.alloc(0, 4ull * cs.heads * cs.n_q * cs.n_kv);
        b.copy_h2d(0, dq.get(), q.data(), q.size() * 4);
        b.copy_h2d(0, dk.get(), k.data(), k.size() * 2);
        b.copy_h2d(0, dv.get(), v.data(), v.size() * 2);
        for (int impl : {0, 1}) {
            b.attention(0, impl, s, dq.get(), dk.get(), dv.get(), dout.get(), scratch.get());
            b.copy_d2h(0, got.data(), dout.get(), got.size() * 4);
            b.synchronize(0);
            EXPECT_LT(nmse(got, ref), 1e-9) << "impl " << impl << " heads " << cs.heads << "/" << cs.kv_heads
                                             << " hd " << cs.head_dim << " n_q " << cs.n_q << " n_kv " << cs.n_kv;
        }
    }
}

class CudaForward : public ::testing::TestWithParam<GgmlType> {};

// Every block and the output on the GPU against the CPU engine: logits of a prefill and of decode steps.
TEST_P(CudaForward, LogitsMatchTheCpu) {
    REQUIRE_GPU();
    const GgmlType type = GetParam();
    const Model m = Model::synthetic(preset_config("tiny"), type, 7);
    const auto tokens = prompt(9);
    const Logits ref = run(m, tokens, no_front);
    const Logits got = run(m, tokens, [&](int64_t batch) { return make_device_layers(*gpu().b, 0, m, 2, 64, batch); });
    // The CPU quantizes activations to 8 bits for quantized weights; the GPU keeps them in f32 (decode) or f16
    // (prefill): the bound is the CPU's own error against fp64 (tests/test-llm.cpp), squared.
    const double bound = quantized(type) ? 3e-3 : 1e-4;
    const size_t V = 512;
    for (size_t t = 0; t < tokens.size(); ++t) {
        EXPECT_LT(nmse(std::span<const float>(&got.prefill[t * V], V), std::span<const float>(&ref.prefill[t * V], V)),
                  bound)
            << ggml_type_name(type) << " prefill position " << t;
        EXPECT_LT(nmse(got.decode[t], ref.decode[t]), bound) << ggml_type_name(type) << " decode position " << t;
    }
}

INSTANTIATE_TEST_SUITE_P(EveryWeightType, CudaForward, ::testing::ValuesIn(ALL_TYPES),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

// Greedy decoding on the GPU picks the CPU's tokens wherever the CPU's choice is not a near tie (then both
// continue with the CPU's token, so one tie does not end the comparison).
TEST(CudaForward, GreedyTokensEqualTheCpu) {
    REQUIRE_GPU();
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::F16}) {
        const Model m = Model::synthetic(preset_config("tiny"), type, 11);
        cpu::ThreadPool pool(2);
        Session c(m, 128, 8, pool), g(m, 128, 8, pool, make_device_layers(*gpu().b, 0, m, 2, 128, 8));
        auto p = prompt(5);
        auto lc = c.eval(p);
        auto lg = g.eval(p);
        int compared = 0;
        for (int step = 0; step < 32; ++step) {
            std::vector<float> sorted(lc.begin(), lc.end());
            std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
            const int32_t tc = argmax(lc), tg = argmax(lg);
            if (sorted[0] - sorted[1] > 1e-2f * std::max(1.0f, std::fabs(sorted[0]))) {
                EXPECT_EQ(tg, tc) << ggml_type_name(type) << " step " << step;
                ++compared;
            }
            lc = c.eval(std::span<const int32_t>(&tc, 1));
            lg = g.eval(std::span<const int32_t>(&tc, 1));
        }
        EXPECT_GT(compared, 16) << ggml_type_name(type) << ": too many near ties to compare";
    }
}

// Block 0 on the GPU, block 1 and the output on the CPU; and the qwen2 shape (biases, NEOX RoPE).
TEST(CudaForward, PartialOffloadAndQwen2MatchTheCpu) {
    REQUIRE_GPU();
    const auto tokens = prompt(9);
    for (GgmlType type : {GgmlType::Q4_K, GgmlType::F16}) {
        const Model m = Model::synthetic(preset_config("tiny"), type, 3);
        const Logits ref = run(m, tokens, no_front);
        const Logits got = run(m, tokens, [&](int64_t batch) { return make_device_layers(*gpu().b, 0, m, 1, 64, batch); });
        for (size_t t = 0; t < tokens.size(); ++t) {
            EXPECT_LT(nmse(std::span<const float>(&got.prefill[t * 512], 512),
                           std::span<const float>(&ref.prefill[t * 512], 512)),
                      3e-3)
                << ggml_type_name(type) << " prefill " << t;
            EXPECT_LT(nmse(got.decode[t], ref.decode[t]), 3e-3) << ggml_type_name(type) << " decode " << t;
        }
    }
    ModelConfig c = preset_config("tiny");
    c.arch = "qwen2";
    c.qkv_bias = true;
    c.rope_style = RopeStyle::NEOX;
    const Model q = Model::synthetic(c, GgmlType::Q8_0, 3);
    const Logits ref = run(q, tokens, no_front);
    const Logits got = run(q, tokens, [&](int64_t batch) { return make_device_layers(*gpu().b, 0, q, 2, 64, batch); });
    for (size_t t = 0; t < tokens.size(); ++t) EXPECT_LT(nmse(got.decode[t], ref.decode[t]), 3e-3) << "qwen2 " << t;
}
