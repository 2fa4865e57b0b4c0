// The cost model: each formula on figures worked out by hand, the price table's rows, and cost figures
// that carry (and name) the inputs they used.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "base/error.hpp"
#include "predict/cost.hpp"

using versus::UsageError;
using namespace versus::predict;

TEST(CostFormulas, WorkedByHand) {
    // 1752 over 2 years of 8760 h is 0.1 an hour.
    EXPECT_DOUBLE_EQ(amortised_cost_per_hour(1752, 2), 0.1);
    // Busy half the time: 0.1 / 0.5 = 0.2 of capital, plus 500 W for an hour at 0.2 a kWh = 0.1.
    EXPECT_DOUBLE_EQ(cost_per_busy_hour(0.1, 0.5, 500, 0.2), 0.3);
    EXPECT_DOUBLE_EQ(cost_per_busy_hour(2.5, 1.0, 0, 0.3), 2.5);  // cloud: energy in the price
    // 100 tokens/s is 360,000 tokens an hour: 0.36 an hour is 1.0 per million.
    EXPECT_DOUBLE_EQ(cost_per_million_tokens(0.36, 100), 1.0);
    // Half an hour of work at 3.6 an hour.
    EXPECT_DOUBLE_EQ(cost_per_epoch(3.6, 1800), 1.8);
    // 50 tokens/s for 2000: 25 tokens/s per 1000.
    EXPECT_DOUBLE_EQ(rate_per_1000(50, 2000), 25);
}

TEST(CostOptions, CurrencyAndBasisParse) {
    const Currency usd = parse_currency("usd");
    EXPECT_EQ(usd.code, "USD");
    EXPECT_EQ(usd.per_USD, 1.0);
    const Currency eur = parse_currency("eur=0.92");
    EXPECT_EQ(eur.code, "EUR");
    EXPECT_DOUBLE_EQ(eur.per_USD, 0.92);
    EXPECT_THROW(parse_currency("EUR"), UsageError);  // no rate: prices are in dollars
    EXPECT_THROW(parse_currency("EURO=1"), UsageError);
    EXPECT_THROW(parse_currency("EUR=-1"), UsageError);
    EXPECT_THROW(parse_currency("EUR=x"), UsageError);
    EXPECT_EQ(parse_cost_basis("cloud"), CostBasis::CLOUD);
    EXPECT_THROW(parse_cost_basis("lease"), UsageError);
}

TEST(CostPrices, EveryRowPricesAConfigurationOnce) {
    ASSERT_FALSE(prices().empty());
    std::set<std::tuple<std::string, double, PriceKind>> seen;
    for (const auto& pr : prices()) {
        SCOPED_TRACE("prices.csv:" + std::to_string(pr.line) + " " + pr.id);
        EXPECT_TRUE(seen.insert({pr.id, pr.memory_GB, pr.kind}).second) << "a second price for one configuration";
        EXPECT_GT(pr.price_USD, 0);
        EXPECT_EQ(pr.source.rfind("http", 0), 0u);
        if (!pr.checked.empty()) {
            EXPECT_EQ(pr.checked.size(), 10u);
        }
        // A launch price is for a unit (tens to tens of thousands of dollars), a cloud price per GPU-hour.
        if (pr.kind == PriceKind::MSRP) {
            EXPECT_GE(pr.price_USD, 100);
        } else {
            EXPECT_LT(pr.price_USD, 50);
        }
    }
}

TEST(CostPrices, ParseErrorsNameTheLine) {
    const std::string header = "id,memory_GB,kind,product,provider,price_USD,price_date,source,checked,notes\n";
    auto error = [&](const std::string& row) {
        try {
            parse_prices(header + row, "p.csv");
        } catch (const std::logic_error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string good = "x,8,msrp,X,Acme,999,2024-05,https://example.com,2026-01-02,\n";
    EXPECT_EQ(parse_prices(header + good, "p.csv").size(), 1u);
    EXPECT_NE(error("x,8,lease,X,Acme,999,2024-05,https://example.com,2026-01-02,\n").find("p.csv:2: column kind"),
              std::string::npos);
    EXPECT_NE(error("x,8,msrp,X,Acme,-3,2024-05,https://example.com,2026-01-02,\n").find("price_USD"), std::string::npos);
    EXPECT_NE(error("x,8,msrp,X,Acme,999,May 2024,https://example.com,2026-01-02,\n").find("price_date"),
              std::string::npos);
    EXPECT_NE(error("x,8,msrp,X,Acme,999,2024-05,example.com,2026-01-02,\n").find("source"), std::string::npos);
    EXPECT_NE(error("x,8\n").find("p.csv:2"), std::string::npos);
}

namespace {

LlmPrediction decode_at(const std::string& id, Estimate tps, std::optional<Estimate> watts) {
    LlmPrediction p;
    p.platform_id = id;
    PhaseEstimate d;
    d.tokens_per_s = tps;
    p.decode = d;
    p.prefill = d;
    p.watts = watts;
    return p;
}

}  // namespace

TEST(CostLlm, PurchaseAmortisedWithEnergyWorkedByHand) {
    const Platform p = resolve_platform("rtx-4090");
    const auto msrp = find_price(p, PriceKind::MSRP);
    ASSERT_TRUE(msrp.has_value());
    ASSERT_EQ(msrp->price_USD, 1599);  // NVIDIA's launch price
    CostOptions opt;
    opt.energy_price_per_kWh = 0.2;
    opt.years = 3;
    opt.utilisation = 0.5;
    const auto r = llm_cost(p, decode_at("rtx-4090", {100, 80, 125}, Estimate{300, 200, 450}), opt);
    ASSERT_EQ(r.figures.size(), 2u);
    // 1599 / 26280 h = 0.0608447 an hour, / 0.5 = 0.1216895, + 0.3 kW x 0.2 = 0.06 -> 0.1816895 an hour;
    // 360,000 tokens an hour -> 0.504693 per million.
    const CostFigure& c = r.figures[0];
    EXPECT_EQ(c.what, "cost per million generated tokens");
    EXPECT_EQ(c.unit, "USD");
    EXPECT_NEAR(c.value.value, 0.504693, 1e-5);
    // Low: 125 t/s at 200 W -> (0.1216895 + 0.04) / 0.45 = 0.359310; high: 80 t/s at 450 W -> 0.7697.
    EXPECT_NEAR(c.value.low, 0.359310, 1e-5);
    EXPECT_NEAR(c.value.high, (0.1216895 + 0.09) / 0.288, 1e-5);
    EXPECT_EQ(c.inputs.basis, CostBasis::PURCHASE);
    EXPECT_EQ(c.inputs.price.price_USD, 1599);
    // The figure names its inputs.
    const std::string named = c.inputs.describe();
    for (const char* part : {"purchase 1599 USD", "over 3 years", "50% use", "300 W at 0.2 USD/kWh"})
        EXPECT_NE(named.find(part), std::string::npos) << named;
    // 100 t/s for 1599 USD: 62.54 t/s per 1000 USD.
    EXPECT_NEAR(r.figures[1].value.value, 100 * 1000.0 / 1599, 1e-9);
}

TEST(CostLlm, CloudPriceIncludesEnergyAndScalesWithCurrency) {
    const Platform p = resolve_platform("h100-sxm");
    const auto cloud = find_price(p, PriceKind::CLOUD);
    ASSERT_TRUE(cloud.has_value());
    CostOptions opt;
    opt.energy_price_per_kWh = 10;  // ignored: the provider pays for the energy
    const auto usd = llm_cost(p, decode_at("h100-sxm", {50, 50, 50}, Estimate{700, 500, 700}), opt);
    ASSERT_EQ(usd.figures.size(), 1u);  // no "per 1000 USD of purchase" without a purchase price
    EXPECT_EQ(usd.figures[0].inputs.basis, CostBasis::CLOUD);
    // price per hour / 180,000 tokens an hour x 1e6.
    EXPECT_NEAR(usd.figures[0].value.value, cloud->price_USD / 0.18, 1e-9);
    opt.currency = parse_currency("EUR=0.5");
    const auto eur = llm_cost(p, decode_at("h100-sxm", {50, 50, 50}, Estimate{700, 500, 700}), opt);
    EXPECT_NEAR(eur.figures[0].value.value, usd.figures[0].value.value * 0.5, 1e-9);
    EXPECT_EQ(eur.figures[0].unit, "EUR");
    EXPECT_NE(eur.figures[0].inputs.describe().find("energy included"), std::string::npos);
}

TEST(CostLlm, MissingPriceOrFitIsANoteNotAFigure) {
    CostOptions opt;
    const auto cpu = llm_cost(resolve_platform("epyc-zen2"), decode_at("epyc-zen2", {5, 4, 6}, std::nullopt), opt);
    EXPECT_TRUE(cpu.figures.empty());
    ASSERT_EQ(cpu.notes.size(), 1u);
    EXPECT_NE(cpu.notes[0].find("no launch or cloud price for epyc-zen2"), std::string::npos) << cpu.notes[0];
    opt.basis = CostBasis::PURCHASE;
    const auto h100 = llm_cost(resolve_platform("h100-sxm"), decode_at("h100-sxm", {5, 4, 6}, std::nullopt), opt);
    ASSERT_EQ(h100.notes.size(), 1u);
    EXPECT_NE(h100.notes[0].find("no purchase price"), std::string::npos);
    LlmPrediction none;
    EXPECT_NE(llm_cost(resolve_platform("rtx-4090"), none, opt).notes.at(0).find("does not fit"), std::string::npos);
    opt.utilisation = 0;
    EXPECT_THROW(llm_cost(resolve_platform("rtx-4090"), decode_at("rtx-4090", {1, 1, 1}, std::nullopt), opt), UsageError);
}

TEST(CostTraining, EpochCostWorkedByHand) {
    const Platform p = resolve_platform("rtx-4090");
    ThroughputPrediction t;
    t.platform_id = p.id;
    t.figure = "images/s";
    t.value = {1000, 800, 1250};
    t.epoch_s = Estimate{3600, 2880, 4500};
    t.joules_per_op = Estimate{0.4, 0.2, 0.5625};  // 400 W at 1000 images/s; 250 W at 1250; 450 W at 800
    CostOptions opt;
    opt.energy_price_per_kWh = 0.25;
    const auto r = throughput_cost(p, t, opt);
    ASSERT_GE(r.figures.size(), 2u);
    // One busy hour: 1599 / 26280 + 0.4 kW x 0.25 = 0.0608447 + 0.1 = 0.1608447; the epoch takes one hour.
    EXPECT_EQ(r.figures[0].what, "cost per epoch");
    EXPECT_NEAR(r.figures[0].value.value, 0.1608447, 1e-6);
    // Low: 2880 s at 250 W; high: 4500 s at 450 W.
    EXPECT_NEAR(r.figures[0].value.low, (0.0608447 + 0.0625) * 0.8, 1e-6);
    EXPECT_NEAR(r.figures[0].value.high, (0.0608447 + 0.1125) * 1.25, 1e-6);
    EXPECT_EQ(r.figures[1].what, "cost per million images");
    EXPECT_NEAR(r.figures[1].value.value, 0.1608447 / 3.6, 1e-6);
}
