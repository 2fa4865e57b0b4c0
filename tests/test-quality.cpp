// Quantization quality statistics on distributions whose answers are worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "llm/quality.hpp"

using namespace versus::llm;

namespace {
std::vector<float> logs(std::vector<double> p) {
    std::vector<float> out;
    for (double x : p) out.push_back(static_cast<float>(std::log(x)));
    return out;
}
}  // namespace

TEST(Quality, LogSoftmax) {
    const std::vector<float> logits = {0.0f, static_cast<float>(std::log(2.0)), static_cast<float>(std::log(3.0))};
    std::vector<float> out(3);
    log_softmax(logits, out);
    EXPECT_NEAR(std::exp(out[0]), 1.0 / 6, 1e-6);
    EXPECT_NEAR(std::exp(out[1]), 2.0 / 6, 1e-6);
    EXPECT_NEAR(std::exp(out[2]), 3.0 / 6, 1e-6);
}

TEST(Quality, ChunksReplaceTheFirstTokenWithBos) {
    const std::vector<int32_t> ids = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    const auto c = quality_chunks(ids, 4, 0, 1);
    ASSERT_EQ(c.size(), 2u);  // the last 2 tokens make no whole chunk
    EXPECT_EQ(c[0], (std::vector<int32_t>{1, 6, 7, 8}));
    EXPECT_EQ(c[1], (std::vector<int32_t>{1, 10, 11, 12}));
    EXPECT_EQ(quality_chunks(ids, 4, 1, -1).size(), 1u);
    EXPECT_EQ(quality_chunks(ids, 4, 1, -1)[0][0], 5);
    EXPECT_EQ(quality_first_scored(512), 256);
}

TEST(Quality, PerplexityKldAgreementAndDeltaP) {
    QualityAccumulator acc;
    // Token 1: the model puts 0.25 on the next token (1), the base 0.5; the tops differ.
    acc.add(logs({0.5, 0.25, 0.25}), 1, logs({0.25, 0.5, 0.25}));
    // Token 2: identical distributions, next token 0.
    acc.add(logs({0.5, 0.25, 0.25}), 0, logs({0.5, 0.25, 0.25}));
    const QualityStats s = acc.finish();
    EXPECT_EQ(s.tokens, 2);
    const double nll = (std::log(4.0) + std::log(2.0)) / 2;
    EXPECT_NEAR(s.nll_mean, nll, 1e-6);
    EXPECT_NEAR(s.ppl, std::exp(nll), 1e-5);
    // var = mean(nll^2) - nll^2 = (ln 4 - ln 2)^2 / 4 = (ln 2)^2 / 4; error = ppl * sqrt(var / 1)
    EXPECT_NEAR(s.ppl_err, std::exp(nll) * std::log(2.0) / 2, 1e-5);
    const double kld1 = 0.25 * std::log(0.25 / 0.5) + 0.5 * std::log(0.5 / 0.25);  // = 0.25 ln 2
    EXPECT_NEAR(s.kld_mean, kld1 / 2, 1e-6);
    EXPECT_NEAR(s.kld_max, kld1, 1e-6);
    EXPECT_NEAR(s.top1_agree_pct, 50.0, 1e-9);
    EXPECT_NEAR(s.top1_agree_err_pct, 50.0, 1e-9);  // sqrt(0.5 * 0.5 / 1)
    EXPECT_NEAR(s.delta_p_mean_pct, (-25.0 + 0.0) / 2, 1e-4);
    EXPECT_NEAR(s.delta_p_rms_pct, std::sqrt(625.0 / 2), 1e-4);
    EXPECT_NEAR(s.delta_p_top_mean_pct, (-25.0 + 0.0) / 2, 1e-4);  // the base's top is token 1, then 0
    EXPECT_NEAR(s.ppl_base, std::exp((std::log(2.0) + std::log(2.0)) / 2), 1e-5);
}

TEST(Quality, NoBaseMeansNoKld) {
    QualityAccumulator acc;
    acc.add(logs({0.5, 0.5}), 0);
    const QualityStats s = acc.finish();
    EXPECT_NEAR(s.ppl, 2.0, 1e-5);
    EXPECT_EQ(s.tokens_kld, 0);
    EXPECT_EQ(s.ppl_err, 0.0);  // one token: no error
}
