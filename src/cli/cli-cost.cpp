#include "cli/cli-cost.hpp"

namespace versus::cli {

void add_cost_options(CLI::App* app, CostFlags& f) {
    app->add_option("--cost-basis", f.cost_basis,
                    "cost from a purchase (launch price), the cloud (per GPU-hour) or auto")
        ->capture_default_str();
    app->add_option("--currency", f.currency, "cost currency: USD, or CODE=units per US dollar (EUR=0.92)")
        ->capture_default_str();
    app->add_option("--energy-price", f.energy_price, "energy price per kWh in that currency (purchases)")
        ->check(CLI::Range(0.0, 100.0))
        ->capture_default_str();
    app->add_option("--utilisation", f.utilisation, "share of the paid or owned hours that do this work")
        ->check(CLI::Range(0.001, 1.0))
        ->capture_default_str();
    app->add_option("--years", f.years, "amortisation period of a purchase")
        ->check(CLI::Range(0.1, 50.0))
        ->capture_default_str();
}

predict::CostOptions cost_options(const CostFlags& f) {
    predict::CostOptions o;
    o.currency = predict::parse_currency(f.currency);
    o.basis = predict::parse_cost_basis(f.cost_basis);
    o.energy_price_per_kWh = f.energy_price;
    o.utilisation = f.utilisation;
    o.years = f.years;
    return o;
}

}  // namespace versus::cli
