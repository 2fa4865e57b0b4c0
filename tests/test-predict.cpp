// The predictor: bytes per weight of llama.cpp's file types against the sizes llama-bench prints, a
// roofline case worked by hand, memory fit at its edges (exactly fits, one layer over), the calibration
// fit recovering known coefficients, back-test parsing with bad rows, and the local calibration.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.hpp"
#include "core/record.hpp"
#include "predict/backtest.hpp"
#include "predict/fit.hpp"
#include "predict/local.hpp"

using namespace versus;
using namespace versus::predict;

namespace {

constexpr double GiB = 1024.0 * 1024.0 * 1024.0;

// A made-up accelerator with round numbers, so expected values can be worked out by hand.
Platform test_gpu(double vram_GB = 24, double bw = 100, double fp32 = 10) {
    Platform p;
    p.id = "test-gpu";
    p.name = "test GPU";
    p.vendor = "testvendor";
    p.family = "test-family";
    p.device_kind = DeviceKind::GPU;
    p.memory_kind = MemoryKind::DISCRETE;
    p.memory_options_GB = {vram_GB};
    p.memory_GB = vram_GB;
    p.gpu_mem_max_GB = vram_GB;
    p.mem_bw_GBps = bw;
    p.fp32_TFLOPS = fp32;
    p.host_link_GBps = 32;
    return p;
}

// 2 layers, width 256, FFN 512, vocab 256, 4 heads of 64, all f16: small enough to count by hand.
llm::ModelConfig hand_model() {
    llm::ModelConfig c;
    c.n_vocab = 256;
    c.n_embd = 256;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_head_kv = 4;
    c.head_dim = 64;
    c.n_ff = 512;
    c.n_ctx_train = 1024;
    return c;
}

LlmQuery query(const std::string& preset, const std::string& type) {
    LlmQuery q;
    q.model_name = preset;
    q.model = llm::preset_config(preset);
    q.ftype = llm::parse_file_type(type);
    return q;
}

}  // namespace

// Llama-2-7B file sizes as llama-bench prints them (GiB): the _M mixes and the Q6_K output are counted.
TEST(Predict, FileTypeBytesMatchLlamaCppSizes) {
    const auto c = llm::preset_config("llama-7b");
    const std::pair<const char*, double> sizes[] = {
        {"f16", 12.55}, {"q8_0", 6.67}, {"q4_0", 3.56}, {"q4_k_m", 3.80}, {"q5_k_m", 4.45}, {"q6_k", 5.15},
    };
    for (const auto& [type, gib] : sizes) {
        const double got = static_cast<double>(llm::weight_summary(c, llm::parse_file_type(type)).total_bytes) / GiB;
        EXPECT_NEAR(got, gib, 0.015) << type;
    }
    // Bits per weight of the plain formats, scales included.
    const int64_t ne[2] = {4096, 4096};
    const double n = 4096.0 * 4096.0;
    EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(*llm::ggml_tensor_bytes(llm::GgmlType::Q4_0, ne)) / n, 4.5);
    EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(*llm::ggml_tensor_bytes(llm::GgmlType::Q8_0, ne)) / n, 8.5);
    EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(*llm::ggml_tensor_bytes(llm::GgmlType::Q4_K, ne)) / n, 4.5);
    EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(*llm::ggml_tensor_bytes(llm::GgmlType::Q6_K, ne)) / n, 6.5625);
    EXPECT_THROW(llm::parse_file_type("q3_k_xl"), UsageError);
}

TEST(Predict, RooflineWorkedByHand) {
    LlmQuery q;
    q.model = hand_model();
    q.ftype = llm::parse_file_type("f16");
    q.n_prompt = 1;
    q.n_gen = 2;  // mean depth 1
    // Weights: embedding 131072, per layer 4*256*256*2 + 3*256*512*2 + 2*256*4 = 1312768, output norm 1024,
    // output 131072: 2888704. A decode step reads all but the embedding (one 512-byte row of it) and K+V
    // at depth 1: 2 * 2 layers * 1 * 256 * 2 bytes = 2048. Total 2760192 bytes = 27.60192 us at 100 GB/s.
    // FLOPs: 2 * 2 * (4*65536 + 3*131072) + 2 * 4*4*64*1 + 2*256*256 = 2754560: 0.275 us at 10 TFLOPS.
    const DeviceRates r = device_rates(test_gpu(), Phase::DECODE, q.ftype);
    const Roofline roof = roofline_seconds(r, q, Phase::DECODE);
    EXPECT_EQ(roof.bound, Bound::MEMORY);
    EXPECT_NEAR(roof.seconds * 1e6, 27.60192, 1e-6);
    // Compute bound when the bandwidth is 1000x higher: 2754560 FLOPs at 10 TFLOPS.
    const Roofline fast = roofline_seconds(device_rates(test_gpu(24, 1e5), Phase::DECODE, q.ftype), q, Phase::DECODE);
    EXPECT_EQ(fast.bound, Bound::COMPUTE);
    EXPECT_NEAR(fast.seconds * 1e6, 0.275456, 1e-9);

    // Calibrated: a = 2 and 1 us per layer doubles the roofline and adds 2 us.
    Calibration cal;
    Efficiency e;
    e.a = 2;
    e.c_layer_s = 1e-6;
    e.ratio_lo = 0.9;
    e.ratio_hi = 1.1;
    cal.set("test-family", Phase::DECODE, "f16", e);
    const auto p = predict_llm(test_gpu(), q, cal);
    ASSERT_TRUE(p.decode);
    EXPECT_NEAR(p.decode->tokens_per_s.value, 1.0 / (2 * 27.60192e-6 + 2e-6), 1e-6);
    EXPECT_NEAR(p.decode->tokens_per_s.low / p.decode->tokens_per_s.value, 0.9, 1e-12);
    EXPECT_EQ(p.decode->calibration.scope, "test-family");
}

TEST(Predict, FitAtTheEdges) {
    LlmQuery q = query("llama-7b", "q4_0");
    q.n_prompt = 512;
    q.n_gen = 128;
    // VRAM such that the budget (VRAM less 0.5 GiB) is exactly what the GPU holds: fits, every layer on it.
    Platform p = test_gpu();
    const double on_gpu = plan_memory(p, q, {}).device_bytes;
    EXPECT_NEAR(on_gpu, plan_memory(p, q, {}).need_bytes() - 32000.0 * 4096 * 18 / 32, 1.0);  // less the Q4_0 embedding
    const double exact_GB = (on_gpu + 0.5 * GiB) / GiB;
    p.gpu_mem_max_GB = p.memory_GB = exact_GB;
    auto m = plan_memory(p, q, {});
    EXPECT_TRUE(m.fits_device) << m.summary;
    EXPECT_EQ(m.layers_on_device, 32);
    // One byte less: the last block that went on stays in host RAM.
    p.gpu_mem_max_GB = p.memory_GB = exact_GB - 1.0 / GiB;
    m = plan_memory(p, q, {});
    EXPECT_FALSE(m.fits_device);
    EXPECT_TRUE(m.fits);
    EXPECT_EQ(m.layers_on_device, 31) << m.summary;
    const auto pred = predict_llm(p, q, Calibration::none());
    ASSERT_TRUE(pred.decode);
    // 70B on a 24 GB card with 16 GiB of host RAM: does not fit at all.
    PredictOptions small_host;
    small_host.host_ram_GB = 16;
    const auto big = plan_memory(test_gpu(24), query("llama-70b", "q4_0"), small_host);
    EXPECT_FALSE(big.fits);
    EXPECT_NE(big.summary.find("does not fit"), std::string::npos) << big.summary;
    EXPECT_FALSE(predict_llm(test_gpu(24), query("llama-70b", "q4_0"), Calibration::none(), small_host).decode);
}

TEST(Predict, AppleWorkingSetLimit) {
    Platform p = test_gpu();
    p.memory_kind = MemoryKind::UNIFIED;
    p.gpu_mem_max_GB.reset();
    std::string rule;
    p.memory_GB = 16;
    EXPECT_NEAR(device_budget_bytes(p, {}, &rule) / GiB, 16.0 * 2 / 3, 1e-9);
    p.memory_GB = 192;
    EXPECT_NEAR(device_budget_bytes(p, {}, &rule) / GiB, 144.0, 1e-9);
    PredictOptions raised;
    raised.apple_wired_limit_GB = 180;
    EXPECT_NEAR(device_budget_bytes(p, raised, &rule) / GiB, 180.0, 1e-9);
    EXPECT_NE(rule.find("iogpu.wired_limit_mb"), std::string::npos);
}

TEST(Predict, CalibrationFitRecoversKnownCoefficients) {
    // Rows made with a = 1.6 and 20 us per layer on platforms of different bandwidth and two model sizes.
    std::vector<BacktestRow> rows;
    for (double bw : {100.0, 200.0, 400.0, 800.0})
        for (const char* m : {"llama-7b", "llama-13b"}) {
            BacktestRow r;
            r.spec = test_gpu(192, bw);
            r.query = query(m, "q4_0");
            r.query.n_gen = 128;
            r.query.n_prompt = 0;
            r.phase = Phase::DECODE;
            LlmQuery qq = r.query;
            qq.n_prompt = 1;
            const double x = roofline_seconds(device_rates(*r.spec, Phase::DECODE, qq.ftype), qq, Phase::DECODE).seconds;
            r.measured_tps = 1.0 / (1.6 * x + 20e-6 * static_cast<double>(qq.model.n_layer));
            rows.push_back(r);
        }
    const Calibration cal = fit_calibration(rows);
    const Efficiency e = cal.lookup(test_gpu(), Phase::DECODE, "q4");
    EXPECT_NEAR(e.a, 1.6, 1e-6);
    EXPECT_NEAR(e.c_layer_s, 20e-6, 1e-10);
    EXPECT_EQ(e.n_rows, 8);
    // CSV round trip keeps the entries (to the printed precision).
    const Calibration back = Calibration::from_csv(cal.to_csv(), "cal.csv");
    EXPECT_NEAR(back.lookup(test_gpu(), Phase::DECODE, "q4").a, 1.6, 1e-4);
    EXPECT_THROW(Calibration::from_csv("scope,phase\nx,decode\n", "bad.csv"), UsageError);
}

TEST(Predict, BacktestRowsAndErrors) {
    Phase ph;
    int64_t n, d;
    EXPECT_TRUE(parse_test("pp512", &ph, &n, &d));
    EXPECT_EQ(ph, Phase::PREFILL);
    EXPECT_EQ(n, 512);
    EXPECT_TRUE(parse_test("tg128@d4096", &ph, &n, &d));
    EXPECT_EQ(ph, Phase::DECODE);
    EXPECT_EQ(d, 4096);
    for (const char* bad : {"", "pp", "tg-1", "xx128", "pp512@d", "tg128@dx", "pp0"}) EXPECT_FALSE(parse_test(bad, &ph, &n, &d)) << bad;

    const std::string csv =
        "platform,model,type,test,measured_tokens_per_s,source\n"
        "rtx-4090,llama-7b,q4_0,tg128,150,x\n"
        "nosuch-gpu,llama-7b,q4_0,tg128,150,x\n"
        "rtx-4090,llama-7b,q4_0,tg128,fast,x\n"
        "rtx-4090,llama-70b,q4_0,tg128,OOM,x\n"
        "rtx-4090,llama-7b,q4_0,xx,1,x\n"
        "rtx-4090,\"llama-7b\",q9_9,tg128,1,x\n";
    auto rows = parse_backtest(csv, "t.csv");
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_TRUE(rows[0].error.empty()) << rows[0].error;
    EXPECT_EQ(rows[1].line, 3);
    EXPECT_NE(rows[1].error.find("unknown platform"), std::string::npos) << rows[1].error;
    EXPECT_FALSE(rows[2].error.empty());
    EXPECT_TRUE(rows[3].error.empty());
    EXPECT_TRUE(rows[3].measured_oom);
    EXPECT_FALSE(rows[4].error.empty());
    EXPECT_FALSE(rows[5].error.empty());
    evaluate_backtest(rows, Calibration::builtin());
    EXPECT_TRUE(rows[0].predicted_fit);
    EXPECT_GT(rows[0].predicted.value, 0);
    EXPECT_FALSE(rows[3].predicted_fit);  // 70B Q4_0 (~39 GB) is not all on a 24 GB GPU: llama-bench -ngl 99 fails
    const auto j = backtest_json(rows);
    EXPECT_EQ(j["rows"].size(), 6u);
    EXPECT_TRUE(j["rows"][1].contains("error"));
    EXPECT_THROW(parse_backtest("a,b\n1,2\n", "t.csv"), UsageError);
}

namespace {

core::Record local_decode_row(const std::string& model, double tokens_per_s) {
    core::Record r;
    r.set("host", std::string("box"));
    r.set("backend", std::string("cpu"));
    r.set("workload", std::string("llm"));
    r.set("status", std::string("ok"));
    r.set("threads", int64_t{2});
    r.set("model", model);
    r.set("type", std::string("q8_0"));
    r.set("phase", std::string("decode"));
    r.set("depth", int64_t{0});
    r.set("n_gen", int64_t{16});
    r.set("bandwidth_gbps", 40.0);
    r.set("tokens_per_s", tokens_per_s);
    return r;
}

}  // namespace

TEST(Predict, LocalCalibrationFromRecords) {
    std::vector<core::Record> recs = {local_decode_row("small", 100), local_decode_row("tiny", 100)};
    const auto local = calibrate_local(recs, "box", 16);
    EXPECT_EQ(local.threads, 2);
    EXPECT_EQ(local.n_rows, 2);
    EXPECT_NEAR(local.platform.mem_bw_GBps, 40.0, 1e-9);
    const Efficiency e = local.calibration.lookup(local.platform, Phase::DECODE, "q8");
    EXPECT_EQ(e.scope, "local");
    EXPECT_GT(e.a, 0);
    EXPECT_THROW(calibrate_local(recs, "other-host", 16), UsageError);
}

TEST(Predict, LocalCalibrationSeparatesFixedCostAndPredictsAnotherPreset) {
    // A machine whose decode takes a * roofline + c per layer: rows of two presets recover a and c, and the
    // fit then predicts a third preset it never saw.
    const double a = 1.4, c = 60e-6;
    const auto platform = calibrate_local({local_decode_row("small", 1)}, "box", 16).platform;
    auto seconds = [&](const std::string& model) {
        LlmQuery q;
        q.model_name = model;
        q.model = llm::preset_config(model);
        q.ftype = llm::parse_file_type("q8_0");
        q.ftype.pure = true;
        q.n_prompt = 0;
        q.n_gen = 16;
        const double roof = roofline_seconds(device_rates(platform, Phase::DECODE, q.ftype), q, Phase::DECODE).seconds;
        return std::pair{q, a * roof + c * static_cast<double>(q.model.n_layer)};
    };
    const auto local = calibrate_local(
        {local_decode_row("small", 1 / seconds("small").second),
         local_decode_row("tinyllama-1.1b", 1 / seconds("tinyllama-1.1b").second)},
        "box", 16);
    const Efficiency e = local.calibration.lookup(local.platform, Phase::DECODE, "q8");
    EXPECT_NEAR(e.a, a, 1e-6);
    EXPECT_NEAR(e.c_layer_s, c, 1e-9);
    const auto [q7, s7] = seconds("llama-7b");
    const LlmPrediction p = predict_llm(local.platform, q7, local.calibration);
    ASSERT_TRUE(p.decode);
    EXPECT_NEAR(p.decode->tokens_per_s.value, 1 / s7, 1e-6 / s7);
}
