// Several GPUs, host side: the layer split of a model (llama.cpp's assignment of blocks to devices, and the
// split run through CPU pieces bit-for-bit equal to one Session), and the predictor's multi-GPU models — the
// α–β all-reduce against cases worked by hand, data-parallel scaling, the layer split's fit and speed.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <functional>
#include <span>
#include <vector>

#include "backend/cpu/thread-pool.hpp"
#include "base/error.hpp"
#include "llm/model.hpp"
#include "llm/offload.hpp"
#include "predict/backtest.hpp"
#include "predict/collective.hpp"
#include "predict/training.hpp"
#include "predict/split.hpp"
#include "llm/config.hpp"

using namespace versus;

namespace {

std::vector<int32_t> prompt(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back((i * 97 + 13) % 512);
    return t;
}

// Logits of a whole prompt (all positions) and of each token decoded one at a time after it.
struct Logits {
    std::vector<float> prefill, decode;
};
Logits run(const llm::Model& m, const std::vector<int32_t>& tokens,
           const std::function<std::unique_ptr<llm::LayerRunner>(int64_t batch)>& front) {
    cpu::ThreadPool pool(2);
    Logits r;
    const auto T = static_cast<int64_t>(tokens.size());
    llm::Session p(m, 64, T, pool, front(T));
    const auto all = p.eval(tokens, true);
    r.prefill.assign(all.begin(), all.end());
    llm::Session d(m, 64, 1, pool, front(1));
    for (int32_t t : tokens) {
        const auto l = d.eval(std::span<const int32_t>(&t, 1));
        r.decode.insert(r.decode.end(), l.begin(), l.end());
    }
    return r;
}

}  // namespace

TEST(LayerSplit, BlocksGoWhereLlamaCppPutsThem) {
    EXPECT_EQ(llm::split_layers(80, {1, 1}), (std::vector<int64_t>{40, 40}));
    EXPECT_EQ(llm::split_layers(81, {1, 1}), (std::vector<int64_t>{41, 40}));
    // l / 32 below 1/3 for l <= 10, below 2/3 for l <= 21.
    EXPECT_EQ(llm::split_layers(32, {1, 1, 1}), (std::vector<int64_t>{11, 11, 10}));
    EXPECT_EQ(llm::split_layers(80, {24, 8}), (std::vector<int64_t>{60, 20}));  // shares by memory
    EXPECT_EQ(llm::split_layers(2, {1, 1, 1, 1}), (std::vector<int64_t>{1, 0, 1, 0}));
    EXPECT_THROW(llm::split_layers(8, {}), UsageError);
    EXPECT_THROW(llm::split_layers(8, {0, 0}), UsageError);
    EXPECT_THROW(llm::split_layers(8, {1, -1}), UsageError);
}

// The split's host side with the CPU on every piece: the residual handed from piece to piece gives exactly the
// logits of one Session, in prefill and in decode.
TEST(LayerSplit, CpuPiecesEqualOneSession) {
    const auto tokens = prompt(6);
    for (llm::GgmlType t : {llm::GgmlType::Q4_0, llm::GgmlType::F32}) {
        const llm::Model m = llm::Model::synthetic(llm::preset_config("tiny"), t, 5);
        const int64_t L = m.config().n_layer;
        ASSERT_GE(L, 2);
        cpu::ThreadPool pool(2);
        const Logits ref = run(m, tokens, [](int64_t) { return std::unique_ptr<llm::LayerRunner>(); });
        for (const std::vector<double>& shares : {std::vector<double>{1, 1}, std::vector<double>{1, 3}}) {
            const auto counts = llm::split_layers(L, shares);
            const Logits got = run(m, tokens, [&](int64_t batch) {
                std::vector<std::unique_ptr<llm::LayerRunner>> parts;
                int64_t first = 0;
                for (int64_t n : counts) {
                    if (n > 0) parts.push_back(llm::make_cpu_layer_range(m, first, n, 64, batch, pool));
                    first += n;
                }
                return llm::chain_layers(std::move(parts), m.config().n_embd);
            });
            EXPECT_EQ(got.prefill, ref.prefill) << llm::ggml_type_name(t);
            EXPECT_EQ(got.decode, ref.decode) << llm::ggml_type_name(t);
        }
    }
}

TEST(LayerSplit, PiecesMustFollowEachOther) {
    const llm::Model m = llm::Model::synthetic(llm::preset_config("tiny"), llm::GgmlType::Q8_0, 1);
    cpu::ThreadPool pool(1);
    const int64_t L = m.config().n_layer;
    std::vector<std::unique_ptr<llm::LayerRunner>> gap;
    gap.push_back(llm::make_cpu_layer_range(m, 1, L - 1, 8, 1, pool));  // does not start at block 0
    EXPECT_THROW(llm::chain_layers(std::move(gap), m.config().n_embd), UsageError);
    EXPECT_THROW(llm::make_cpu_layer_range(m, L - 1, 2, 8, 1, pool), UsageError);  // past the last block
    EXPECT_THROW(llm::chain_layers({}, m.config().n_embd), UsageError);
}

// ---- the α–β all-reduce, by hand ------------------------------------------------------------------------

// 8 GPUs in one node, S = 1 GiB, α = 1 us, 450 GB/s per GPU each way:
//   ring = 2 (8-1) 1e-6 + 2 (8-1)/8 x 1073741824 / 450e9 = 14e-6 + 1.75 x 2.386093e-3 = 4.189663e-3 s;
//   tree: a chain inside the node, the same 14 steps and the same bandwidth term.
TEST(AlphaBeta, OneNodeByHand) {
    const double S = 1073741824.0;
    const double ring = predict::allreduce_seconds(predict::AllReduceAlgo::RING, 8, 1, S, 1e-6, 5e-6, 450e9, 0);
    EXPECT_NEAR(ring, 4.189663e-3, 1e-9);
    const double tree = predict::allreduce_seconds(predict::AllReduceAlgo::TREE, 8, 1, S, 1e-6, 5e-6, 450e9, 0);
    EXPECT_NEAR(tree, ring, 1e-12);
    // 8 bytes: latency alone.
    EXPECT_NEAR(predict::allreduce_seconds(predict::AllReduceAlgo::RING, 8, 1, 8, 1e-6, 0, 450e9, 0), 14e-6 + 1.75 * 8 / 450e9,
                1e-15);
    EXPECT_EQ(predict::allreduce_seconds(predict::AllReduceAlgo::RING, 1, 1, S, 1e-6, 0, 450e9, 0), 0);
}

// 2 nodes of 8 GPUs (450 GB/s NVLink, 200 GB/s network per node), S = 8 GiB, α 1 us inside, 5 us between:
//   ring: 2 (16-1) x 5e-6 = 150e-6; inside 1.75 x 8589934592 / 450e9 = 0.033405302; between
//         2 (2-1)/2 x 8589934592 / 200e9 = 0.042949673; the larger wins: 0.043099673 s.
//   tree: 2 (7 x 1e-6 + 1 x 5e-6) = 24e-6; between 2 x S / 200e9 = 0.085899346: 0.085923346 s.
TEST(AlphaBeta, TwoNodesByHand) {
    const double S = 8589934592.0;
    EXPECT_NEAR(predict::allreduce_seconds(predict::AllReduceAlgo::RING, 8, 2, S, 1e-6, 5e-6, 450e9, 200e9),
                0.043099673, 1e-8);
    EXPECT_NEAR(predict::allreduce_seconds(predict::AllReduceAlgo::TREE, 8, 2, S, 1e-6, 5e-6, 450e9, 200e9),
                0.085923346, 1e-8);
    // Many nodes of one GPU, small message: the tree's log2 steps beat the ring's n - 1.
    const double ring = predict::allreduce_seconds(predict::AllReduceAlgo::RING, 1, 64, 1024, 1e-6, 5e-6, 450e9, 50e9);
    const double tree = predict::allreduce_seconds(predict::AllReduceAlgo::TREE, 1, 64, 1024, 1e-6, 5e-6, 450e9, 50e9);
    EXPECT_NEAR(ring, 2 * 63 * 5e-6 + 2.0 * 63 / 64 * 1024 / 50e9, 1e-12);
    EXPECT_NEAR(tree, 2 * 6 * 5e-6 + 2.0 * 1024 / 50e9, 1e-12);
    EXPECT_LT(tree, ring);
}

TEST(AlphaBeta, PlatformsGiveTheirLinksAndARange) {
    const predict::Platform h100 = predict::resolve_platform("h100-sxm");
    const auto one = predict::predict_allreduce(h100, 8, 1073741824.0, nullptr);
    EXPECT_EQ(one.topo.nodes, 1);
    EXPECT_EQ(one.topo.gpus_per_node, 8);
    EXPECT_NE(one.topo.intra.name.find("NVLink"), std::string::npos);
    EXPECT_DOUBLE_EQ(one.topo.intra.bandwidth_Bps, *h100.nvlink_GBps * 1e9);
    EXPECT_LE(one.ring_s.low, one.ring_s.value);
    EXPECT_LE(one.ring_s.value, one.ring_s.high);
    // Bus bandwidth of the best case is the link's at efficiency 1, less the latency.
    EXPECT_LT(one.busbw_Bps.high, *h100.nvlink_GBps * 1e9);
    EXPECT_GT(one.busbw_Bps.high, 0.95 * *h100.nvlink_GBps * 1e9);
    // 16 GPUs on DGX H100 nodes: two nodes over the system's eight 400 Gb/s ports.
    const predict::System& dgx = predict::resolve_system("dgx-h100");
    const auto two = predict::predict_allreduce(h100, 16, 1073741824.0, &dgx);
    EXPECT_EQ(two.topo.nodes, 2);
    ASSERT_TRUE(two.topo.inter.has_value());
    EXPECT_DOUBLE_EQ(two.topo.inter->bandwidth_Bps, 400e9);
    // A GeForce card without NVLink talks over PCIe.
    const auto pcie = predict::predict_allreduce(predict::resolve_platform("rtx-4090"), 2, 1 << 20, nullptr);
    EXPECT_NE(pcie.topo.intra.name.find("PCIe"), std::string::npos);
    EXPECT_THROW(predict::predict_allreduce(predict::resolve_platform("rtx-4090"), 0, 1, nullptr), UsageError);
}

TEST(DataParallel, ScalingStaysBelowOneAndGrowsTheThroughput) {
    const predict::Platform h100 = predict::resolve_platform("h100-sxm");
    const std::string c = "gpt2-124m";
    const auto one = predict::predict_data_parallel(h100, c, 1024, 4, 1, nullptr);
    EXPECT_DOUBLE_EQ(one.allreduce_s.value, 0);
    EXPECT_NEAR(one.scaling_efficiency.value, 1.0, 1e-12);
    const auto eight = predict::predict_data_parallel(h100, c, 1024, 4, 8, nullptr);
    EXPECT_NEAR(eight.gradient_bytes, predict::training_model("train-gpt", c, 1024).params * 4, 1);
    EXPECT_GT(eight.gradient_bytes, 4 * 100e6);  // GPT-2 small: 124M parameters
    EXPECT_GT(eight.allreduce_s.value, 0);
    EXPECT_LE(eight.scaling_efficiency.high, 1.0);
    EXPECT_LT(eight.scaling_efficiency.low, eight.scaling_efficiency.high);
    EXPECT_GT(eight.tokens_per_s.value, one.tokens_per_s.value * 4);
    EXPECT_LT(eight.tokens_per_s.value, one.tokens_per_s.value * 8);
}

TEST(SplitPrediction, OneGpuIsTheSingleDevicePredictionAndHopsCost) {
    predict::LlmQuery q;
    q.model_name = "llama-7b";
    q.model = llm::preset_config("llama-7b");
    q.ftype = llm::parse_file_type("q4_0");
    const predict::Platform p = predict::resolve_platform("rtx-3090");
    const auto& cal = predict::Calibration::builtin();
    const auto single = predict::predict_llm(p, q, cal);
    const auto one = predict::predict_llm_split(p, q, 1, cal);
    ASSERT_TRUE(one.fits && one.decode && single.decode);
    EXPECT_NEAR(one.decode->tokens_per_s.value, single.decode->tokens_per_s.value, 1e-9);
    const auto two = predict::predict_llm_split(p, q, 2, cal);
    ASSERT_TRUE(two.fits && two.decode);
    EXPECT_LT(two.decode->tokens_per_s.value, one.decode->tokens_per_s.value);
    EXPECT_GT(two.decode->tokens_per_s.value, 0.9 * one.decode->tokens_per_s.value);
    EXPECT_EQ(two.devices[0].n_layers + two.devices[1].n_layers, q.model.n_layer);
    EXPECT_TRUE(two.devices[1].output);
}

TEST(SplitPrediction, SeventyBillionNeedsTwoCards) {
    predict::LlmQuery q;
    q.model_name = "llama-70b";
    q.model = llm::preset_config("llama-70b");
    q.ftype = llm::parse_file_type("q4_0");
    q.n_ctx = 2048;
    const predict::Platform p = predict::resolve_platform("rtx-3090");
    const auto& cal = predict::Calibration::builtin();
    EXPECT_FALSE(predict::predict_llm_split(p, q, 1, cal).fits);
    const auto two = predict::predict_llm_split(p, q, 2, cal);
    EXPECT_TRUE(two.fits) << two.summary;
    ASSERT_TRUE(two.decode);
    EXPECT_LE(two.decode->tokens_per_s.low, two.decode->tokens_per_s.value);
    EXPECT_LE(two.decode->tokens_per_s.value, two.decode->tokens_per_s.high);
    EXPECT_THROW(predict::predict_llm_split(predict::resolve_platform("m2-ultra-76c"), q, 2, cal), UsageError);
}

// The multi-GPU back-test: every row of the public split results reads and is predicted (none refused as not
// fitting, since each was measured), and the split model stays within the error docs/predictor.md states for it.
TEST(SplitPrediction, BacktestFileHoldsTogether) {
    std::ifstream f(std::string(VERSUS_TEST_DATA) + "/../../data/backtest/llama-cpp-multi-gpu.csv");
    ASSERT_TRUE(f) << "data/backtest/llama-cpp-multi-gpu.csv";
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto rows = predict::parse_backtest(text, "llama-cpp-multi-gpu.csv");
    ASSERT_GE(rows.size(), 40u);
    predict::evaluate_backtest(rows, predict::Calibration::builtin());
    int split = 0;
    for (const auto& r : rows) {
        SCOPED_TRACE("line " + std::to_string(r.line) + " " + r.platform + " x" + std::to_string(r.gpus) + " " + r.test);
        EXPECT_EQ(r.error, "");
        EXPECT_FALSE(r.source.empty());
        EXPECT_TRUE(r.predicted_fit);
        split += r.gpus > 1;
    }
    EXPECT_GE(split, 30);
    for (const auto& s : predict::summarise_backtest(rows)) {
        if (s.group == "nvidia split decode") {
            EXPECT_LT(s.median_ape, 10.0);
        }
    }
}

// The host side of `bench llm --gpus N --split layer`: per-device plans and the fit check, before any GPU.
TEST(LayerSplit, PlansAndFitPerDevice) {
    const llm::ModelConfig c = llm::preset_config("llama-70b");
    const llm::LayerBytes lb = llm::layer_bytes(c, llm::GgmlType::Q4_0);
    const auto counts = llm::split_layers(c.n_layer, {1, 1});
    const auto plans = llm::plan_split(c, lb, counts, 2048, 512);
    ASSERT_EQ(plans.size(), 2u);
    EXPECT_EQ(plans[0].first_layer, 0);
    EXPECT_EQ(plans[1].first_layer, counts[0]);
    EXPECT_FALSE(plans[0].output);
    EXPECT_TRUE(plans[1].output);
    // The two pieces hold every block's weights once, the output on the last.
    const llm::OffloadPlan all = llm::plan_offload(c, lb, c.n_layer, 2048, 512);
    EXPECT_EQ(plans[0].weight_bytes + plans[1].weight_bytes, all.weight_bytes);
    EXPECT_EQ(plans[0].kv_bytes + plans[1].kv_bytes, all.kv_bytes);
    const uint64_t gib24 = uint64_t{24} << 30;
    EXPECT_NO_THROW(llm::check_split_fit("llama-70b Q4_0", plans, {"gpu0", "gpu1"}, {gib24, gib24}));
    try {
        llm::check_split_fit("llama-70b Q4_0", plans, {"gpu0", "gpu1"}, {gib24, uint64_t{8} << 30});
        FAIL() << "a device too small was accepted";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("device 1 (gpu1)"), std::string::npos) << e.what();
    }
    EXPECT_THROW(llm::plan_split(c, lb, {10, 10}, 2048, 512), UsageError);
}
