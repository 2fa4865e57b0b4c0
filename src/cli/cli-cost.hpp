// cli-cost: the options that set a cost figure's inputs (predict/cost.hpp), for every command that prints one:
// --cost-basis, --currency, --energy-price, --utilisation, --years.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "predict/cost.hpp"

namespace versus::cli {

struct CostFlags {
    std::string currency = "USD", cost_basis = "auto";
    double energy_price = 0.15, utilisation = 1.0, years = 3.0;
};

void add_cost_options(CLI::App* app, CostFlags& f);
// UsageError naming the option for a currency or basis it does not know.
predict::CostOptions cost_options(const CostFlags& f);

}  // namespace versus::cli
