#include "llm/quality.hpp"

#include <algorithm>
#include <cmath>

namespace versus::llm {
namespace {

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Standard error of the mean: sqrt(var / (n - 1)) with var the population variance, as llama.cpp prints it.
double mean_error(const std::vector<double>& v) {
    if (v.size() < 2) return 0;
    const double m = mean(v);
    double s2 = 0;
    for (double x : v) s2 += x * x;
    const double var = s2 / static_cast<double>(v.size()) - m * m;
    return var > 0 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0;
}

// The value at rank round(q * (n - 1)) of the sorted values.
double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(std::lround(q * static_cast<double>(v.size() - 1)))];
}

int32_t argmax(std::span<const float> v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

std::vector<std::vector<int32_t>> quality_chunks(std::span<const int32_t> tokens, int64_t n_ctx, int64_t max_chunks,
                                                 int32_t bos) {
    std::vector<std::vector<int32_t>> out;
    const auto n = static_cast<int64_t>(tokens.size()) / n_ctx;
    for (int64_t c = 0; c < n && (max_chunks <= 0 || c < max_chunks); ++c) {
        std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
        if (bos >= 0) chunk[0] = bos;
        out.push_back(std::move(chunk));
    }
    return out;
}

void log_softmax(std::span<const float> logits, std::span<float> out) {
    const float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float x : logits) sum += std::exp(static_cast<double>(x - mx));
    const double log_z = static_cast<double>(mx) + std::log(sum);
    for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(static_cast<double>(logits[i]) - log_z);
}

void QualityAccumulator::add(std::span<const float> logp, int32_t next, std::span<const float> logp_base) {
    nll_.push_back(-static_cast<double>(logp[static_cast<size_t>(next)]));
    if (logp_base.empty()) return;
    // KL(base || model) = sum_i p_base(i) (log p_base(i) - log p_model(i))
    double kld = 0;
    for (size_t i = 0; i < logp.size(); ++i) {
        const double lb = logp_base[i];
        kld += std::exp(lb) * (lb - static_cast<double>(logp[i]));
    }
    kld_.push_back(kld);
    nll_base_.push_back(-static_cast<double>(logp_base[static_cast<size_t>(next)]));
    const int32_t top = argmax(logp_base);
    same_top_ += argmax(logp) == top;
    const auto p = [](float lp) { return std::exp(static_cast<double>(lp)); };
    dp_.push_back(p(logp[static_cast<size_t>(next)]) - p(logp_base[static_cast<size_t>(next)]));
    dp_top_.push_back(p(logp[static_cast<size_t>(top)]) - p(logp_base[static_cast<size_t>(top)]));
}

QualityStats QualityAccumulator::finish() const {
    QualityStats s;
    s.tokens = static_cast<int64_t>(nll_.size());
    if (nll_.empty()) return s;
    s.nll_mean = mean(nll_);
    s.ppl = std::exp(s.nll_mean);
    s.ppl_err = s.ppl * mean_error(nll_);
    s.tokens_kld = static_cast<int64_t>(kld_.size());
    if (kld_.empty()) return s;
    s.ppl_base = std::exp(mean(nll_base_));
    s.ppl_ratio = s.ppl / s.ppl_base;
    s.kld_mean = mean(kld_);
    s.kld_mean_err = mean_error(kld_);
    s.kld_median = quantile(kld_, 0.5);
    s.kld_p99 = quantile(kld_, 0.99);
    s.kld_max = *std::max_element(kld_.begin(), kld_.end());
    const double n = static_cast<double>(kld_.size());
    const double agree = static_cast<double>(same_top_) / n;
    s.top1_agree_pct = 100.0 * agree;
    s.top1_agree_err_pct = n > 1 ? 100.0 * std::sqrt(agree * (1 - agree) / (n - 1)) : 0;
    s.delta_p_mean_pct = 100.0 * mean(dp_);
    double sq = 0;
    for (double d : dp_) sq += d * d;
    s.delta_p_rms_pct = 100.0 * std::sqrt(sq / n);
    s.delta_p_top_mean_pct = 100.0 * mean(dp_top_);
    return s;
}

}  // namespace versus::llm
