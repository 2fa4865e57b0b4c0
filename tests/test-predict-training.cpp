// The training predictor: FLOPs per item of the models it knows, the peak each precision reads, the calibration
// fit recovering a utilisation and a scaling efficiency put into made-up rows, the back-test's one entry per row
// (errors included), the table's CSV round trip, the local calibration from training records, and the built-in
// table on the public back-test (the held-out rows must stay within a stated error).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "base/error.hpp"
#include "core/record.hpp"
#include "predict/local.hpp"
#include "predict/training.hpp"
#include "train/gpt-config.hpp"

using namespace versus;
using namespace versus::predict;

TEST(PredictTraining, FlopsPerItem) {
    const auto rn = training_model("train-resnet50", "resnet50");
    EXPECT_NEAR(rn.flops_per_item, 24.5e9, 0.2e9);
    EXPECT_EQ(rn.epoch_items, 1281167);
    EXPECT_EQ(training_model("train-resnet50", "cifar-10").name, "resnet50-cifar");
    const auto g = training_model("train-gpt", "gpt2-124m", 1024);
    EXPECT_DOUBLE_EQ(g.flops_per_item, train::gpt_train_flops_per_token(train::gpt_preset("gpt2-124m"), 1024));
    // BERT-large at 384: 6 x 302M block weights + 12 x 24 x 1024 x 384 (bidirectional attention).
    const auto b = training_model("train-gpt", "bert-large");
    EXPECT_EQ(b.seq, 384);
    EXPECT_DOUBLE_EQ(b.flops_per_item, 6 * 24 * 12582912.0 + 12.0 * 24 * 1024 * 384);
    EXPECT_THROW(training_model("train-gpt", "gpt-7"), UsageError);
    EXPECT_THROW(training_model("train-vit", "x"), UsageError);
    EXPECT_THROW(parse_train_precision("fp8"), UsageError);
}

TEST(PredictTraining, PeakPerPrecision) {
    std::string from;
    const auto a100 = resolve_platform("a100-sxm-80");
    EXPECT_DOUBLE_EQ(training_peak(a100, TrainPrecision::MIXED, &from), 312e12);
    EXPECT_DOUBLE_EQ(training_peak(a100, TrainPrecision::TF32, &from), 156e12);
    EXPECT_DOUBLE_EQ(training_peak(a100, TrainPrecision::FP32, &from), 19.5e12);
    const auto v100 = resolve_platform("v100-sxm-32");  // no TF32: its f32 rate
    EXPECT_DOUBLE_EQ(training_peak(v100, TrainPrecision::TF32, &from), *v100.fp32_TFLOPS * 1e12);
    const auto m1 = resolve_platform("m1-max-32c");  // no matrix units: the FP16 vector rate
    EXPECT_DOUBLE_EQ(training_peak(m1, TrainPrecision::MIXED, &from), *m1.fp16_TFLOPS * 1e12);
}

namespace {

// Rows on two NVIDIA families at exactly 0.4 and 0.2 of the mixed peak, and 8-GPU rows at 90% scaling.
std::string made_up_rows() {
    const auto m = training_model("train-resnet50", "resnet50");
    auto rate = [&](const char* id, double u, int gpus, double eff) {
        std::string from;
        return gpus * eff * u * training_peak(resolve_platform(id), TrainPrecision::MIXED, &from) / m.flops_per_item;
    };
    std::ostringstream s;
    s << std::setprecision(17) << "platform,workload,model,precision,batch,measured,gpus,set\n";
    for (const char* id : {"a100-sxm-80", "a100-pcie-80"}) s << id << ",train-resnet50,resnet50,amp,256," << rate(id, 0.4, 1, 1) << ",1,fit\n";
    for (const char* id : {"h100-sxm", "h100-pcie"}) s << id << ",train-resnet50,resnet50,amp,256," << rate(id, 0.2, 1, 1) << ",1,fit\n";
    s << "a100-sxm-80,train-resnet50,resnet50,amp,256," << rate("a100-sxm-80", 0.4, 8, 0.9) << ",8,fit\n";
    s << "nosuch,train-resnet50,resnet50,amp,256,100,1,fit\n";
    s << "a100-sxm-80,train-resnet50,resnet50,amp,256,fast,1,fit\n";
    s << "a100-sxm-80,train-gpt,gpt-9,amp,8,100,1,holdout\n";
    return s.str();
}

}  // namespace

TEST(PredictTraining, FitRecoversUtilisationAndScaling) {
    auto rows = parse_training_backtest(made_up_rows(), "t.csv");
    ASSERT_EQ(rows.size(), 8u);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(rows[i].error.empty()) << rows[i].error;
    for (int i = 5; i < 8; ++i) EXPECT_FALSE(rows[i].error.empty()) << i;
    const auto cal = fit_training_calibration(rows);
    const auto a100 = resolve_platform("a100-sxm-80"), h100 = resolve_platform("h100-sxm");
    const auto ea = cal.lookup(a100, "train-resnet50", TrainPrecision::MIXED);
    const auto eh = cal.lookup(h100, "train-resnet50", TrainPrecision::MIXED);
    ASSERT_TRUE(ea && eh);
    EXPECT_NEAR(ea->utilisation, 0.4, 1e-9);  // family entries
    EXPECT_NEAR(eh->utilisation, 0.2, 1e-9);
    EXPECT_NEAR(cal.scaling(a100, 8), 0.9, 1e-9);
    EXPECT_NEAR(cal.scaling(a100, 2), std::pow(0.9, 1.0 / 3), 1e-9);  // one doubling of three
    // Another precision borrows the entry, with a wider range.
    const auto et = cal.lookup(a100, "train-resnet50", TrainPrecision::TF32);
    ASSERT_TRUE(et);
    EXPECT_LT(et->ratio_lo, ea->ratio_lo);
    // Round trip through the CSV the build embeds.
    const auto back = TrainingCalibration::from_csv(cal.to_csv(), "cal.csv");
    EXPECT_NEAR(back.lookup(h100, "train-resnet50", TrainPrecision::MIXED)->utilisation, 0.2, 1e-4);
    EXPECT_NEAR(back.scaling(a100, 8), 0.9, 1e-4);
    // Predicting the fit rows back gives them exactly; every input row has an entry.
    evaluate_training_backtest(rows, cal);
    EXPECT_NEAR(rows[0].predicted.per_s.value / rows[0].measured, 1.0, 1e-6);
    EXPECT_NEAR(rows[4].predicted.per_s.value / rows[4].measured, 1.0, 1e-3);
    const auto j = training_backtest_json(rows);
    ASSERT_EQ(j["rows"].size(), 8u);
    EXPECT_TRUE(j["rows"][5].contains("error"));
    EXPECT_TRUE(j["rows"][0].contains("ape_pct"));
    EXPECT_THROW(parse_training_backtest("platform,model\nx,y\n", "t.csv"), UsageError);
    EXPECT_TRUE(is_training_backtest(made_up_rows()));
    EXPECT_FALSE(is_training_backtest("platform,model,type,test,measured_tokens_per_s\n"));
}

TEST(PredictTraining, UncalibratedPlatformsSaySo) {
    TrainingQuery q;
    q.model = training_model("train-gpt", "gpt2-124m", 1024);
    const auto t = predict_training(resolve_platform("rtx-4090"), q, TrainingCalibration{});
    EXPECT_NEAR(t.per_s.value, t.bare_per_s / 3, 1e-6 * t.bare_per_s);
    EXPECT_NE(t.rests_on.back().find("assumed"), std::string::npos);
}

TEST(PredictTraining, LocalCalibrationFromTrainingRecords) {
    core::Record r;
    r.set("host", std::string("box"));
    r.set("backend", std::string("cpu"));
    r.set("workload", std::string("train-gpt"));
    r.set("status", std::string("ok"));
    r.set("threads", int64_t{2});
    r.set("model", std::string("gpt2-124m"));
    r.set("batch", int64_t{4});
    r.set("seq", int64_t{256});
    r.set("precision", std::string("f32"));
    r.set("peak_gflops", 200.0);
    const double flops = training_model("train-gpt", "gpt2-124m", 256).flops_per_item;
    r.set("tokens_per_s", 0.5 * 200e9 / flops);  // half the peak
    const auto local = calibrate_local({r}, "box", 16);
    EXPECT_EQ(local.n_training_rows, 1);
    EXPECT_EQ(local.n_rows, 0);
    const auto e = local.training.lookup(local.platform, "train-gpt", TrainPrecision::FP32);
    ASSERT_TRUE(e);
    EXPECT_NEAR(e->utilisation, 0.5, 1e-9);
}

TEST(PredictTraining, BuiltinTableOnThePublicBacktest) {
    std::ifstream f(std::string(VERSUS_TEST_DATA) + "/../../data/backtest/training.csv");
    ASSERT_TRUE(f) << "data/backtest/training.csv";
    std::stringstream s;
    s << f.rdbuf();
    auto rows = parse_training_backtest(s.str(), "training.csv");
    for (const auto& r : rows) EXPECT_TRUE(r.error.empty()) << r.line << ": " << r.error;
    evaluate_training_backtest(rows, TrainingCalibration::builtin());
    std::vector<double> fit, held;
    for (const auto& r : rows)
        (r.set == "fit" ? fit : held).push_back(std::fabs(r.predicted.per_s.value / r.measured - 1));
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    ASSERT_FALSE(fit.empty());
    ASSERT_FALSE(held.empty());
    // The stated accuracy (docs/predictor.md, "Training"): median APE under 15% fitted, 25% held out.
    EXPECT_LT(median(fit), 0.15);
    EXPECT_LT(median(held), 0.25);
}
