// cost: what a token, an image or a training epoch costs on a platform, from its price and power. Prices
// are data (data/specs/prices.csv: launch prices per memory configuration, cloud prices per GPU-hour, each
// with its provider, date and source); the formulas are pure functions, one per derived figure
// (docs/metrics.md, "Cost"). Every figure carries the inputs it used, so that a table can name them; the
// currency, the energy price, the utilisation and the amortisation period are parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "predict/roofline.hpp"
#include "predict/specs.hpp"
#include "predict/throughput.hpp"

namespace versus::predict {

// ---- Prices ---------------------------------------------------------------------------------------------

enum class PriceKind { MSRP, CLOUD };
std::string_view price_kind_name(PriceKind k);  // "msrp", "cloud"

// One row of data/specs/prices.csv. MSRP: the launch price of one unit (a card, a Mac configuration) in
// US dollars; CLOUD: US dollars per GPU-hour on demand at one provider.
struct Price {
    std::string id;        // platform id
    double memory_GB = 0;  // the memory configuration priced (one of the platform's options)
    PriceKind kind = PriceKind::MSRP;
    std::string product;   // what is bought or rented: "Mac mini (M4 Pro, 2024)", "gpu_1x_h100_sxm5"
    std::string provider;  // who sets the price: NVIDIA, Apple, Lambda, AWS...
    double price_USD = 0;
    std::string price_date;  // YYYY-MM-DD or YYYY-MM: the launch, or when the provider's page said so
    std::string source;
    std::string checked;  // YYYY-MM-DD the price was read in a copy named in notes; empty: not re-checked
    std::string notes;
    int line = 0;
};

// Every price, parsed once; a malformed row or one naming an unknown platform or memory size is a
// std::logic_error naming prices.csv:line.
const std::vector<Price>& prices();
std::vector<Price> parse_prices(std::string_view csv, std::string_view file);
// The price of this platform at its selected memory size (memory_GB), the lowest if several; none when
// the table has no such row.
std::optional<Price> find_price(const Platform& p, PriceKind kind);

// ---- Formulas (one each; docs/metrics.md "Cost") ------------------------------------------------------

constexpr double HOURS_PER_YEAR = 8760;  // 365 days

// Purchase price spread evenly over `years` of wall-clock hours: price / (years x 8760).
double amortised_cost_per_hour(double price, double years);
// What one hour of work costs: the hardware's cost per paid hour divided by the share of those hours it
// works (utilisation, 0-1], plus the energy of that hour at load: capital / u + W / 1000 x price per kWh.
double cost_per_busy_hour(double capital_per_hour, double utilisation, double power_W, double energy_price_per_kWh);
// Cost of a million tokens at `tokens_per_s` while busy: cost per busy hour / (tokens/s x 3600) x 1e6.
double cost_per_million_tokens(double cost_per_busy_hour, double tokens_per_s);
// Cost of one training epoch of `epoch_s` busy seconds: cost per busy hour x epoch_s / 3600.
double cost_per_epoch(double cost_per_busy_hour, double epoch_s);
// Throughput bought per 1,000 currency units of purchase price: rate x 1000 / price.
double rate_per_1000(double rate, double price);

// ---- Cost of a prediction -----------------------------------------------------------------------------

struct Currency {
    std::string code = "USD";
    double per_USD = 1.0;  // units of this currency one US dollar buys
};
// "USD", "usd", or "EUR=0.92" (code and units per US dollar); UsageError naming `place` otherwise.
Currency parse_currency(std::string_view text, const std::string& place = "--currency");

enum class CostBasis { AUTO, PURCHASE, CLOUD };
std::string_view cost_basis_name(CostBasis b);  // "auto", "purchase", "cloud"
CostBasis parse_cost_basis(std::string_view text, const std::string& place = "--cost-basis");

struct CostOptions {
    CostBasis basis = CostBasis::AUTO;  // AUTO: the purchase price when the table has one, else the cloud price
    Currency currency;
    // Energy price in `currency` per kWh. The default is an assumption, not a measured tariff; every figure
    // names it, and --energy-price sets it.
    double energy_price_per_kWh = 0.15;
    double utilisation = 1.0;  // share of the paid (cloud) or owned (purchase) hours that do this work
    double years = 3.0;        // amortisation period of a purchase
};

// The inputs one cost figure used, so that it can be named next to the figure.
struct CostInputs {
    CostBasis basis = CostBasis::PURCHASE;  // PURCHASE or CLOUD, never AUTO
    Currency currency;
    Price price;                  // the row used (its price_USD is in US dollars)
    double price_in_currency = 0;  // purchase price, or per GPU-hour
    double years = 0;             // purchase only
    double utilisation = 1;
    Estimate power_W;             // load power (purchase only; 0: unknown, energy left out)
    double energy_price_per_kWh = 0;
    double capital_per_hour = 0;  // amortised purchase or cloud rate, per paid hour
    // "purchase 1599 USD (GeForce RTX 4090 Founders Edition, NVIDIA, 2022-10-12) over 3 years at 100% use,
    // 450 W at 0.15 USD/kWh (assumed)"
    std::string describe() const;
};

struct CostFigure {
    std::string what;  // "cost per million generated tokens"
    std::string unit;  // "USD", "tokens/s per 1000 USD"
    Estimate value;    // the prediction's range carried through
    CostInputs inputs;
};

struct CostReport {
    std::vector<CostFigure> figures;
    std::vector<std::string> notes;  // why a figure is absent: no price, no power
};

// The basis and inputs for `p` (at its selected memory size); none, with the reason in `why_not`, when
// the table has no price of the kind the options ask for.
std::optional<CostInputs> cost_inputs(const Platform& p, const CostOptions& opt, const std::optional<Estimate>& watts,
                                      std::string* why_not);

// Generated tokens at `tokens_per_s` (a prediction's decode rate, or a measured one with low = high), at
// load power `watts` when known (else the spec's): cost per million generated tokens and, on a purchase,
// generated tokens/s per 1,000 currency units.
CostReport generated_tokens_cost(const Platform& p, const Estimate& tokens_per_s, const std::optional<Estimate>& watts,
                                 const CostOptions& opt);
// LLM inference: generated_tokens_cost of the prediction's decode rate. Nothing when the model does not fit.
CostReport llm_cost(const Platform& p, const LlmPrediction& pred, const CostOptions& opt);
// Training and other throughput: cost per epoch (when the prediction has one), cost per million of the
// unit (tokens or images), and on a purchase the rate per 1,000 currency units.
CostReport throughput_cost(const Platform& p, const ThroughputPrediction& pred, const CostOptions& opt);

// "0.412 USD (0.35-0.51)": three significant digits.
std::string format_cost(const Estimate& e, std::string_view unit);
// One line per figure, "cost: <what> <value> [<inputs>]", and per note, "cost: <note>".
std::vector<std::string> cost_lines(const CostReport& r);
// [{what, unit, value, low, high, basis, price_source, inputs}, ..., {note}, ...]
nlohmann::ordered_json cost_json(const CostReport& r);

}  // namespace versus::predict
