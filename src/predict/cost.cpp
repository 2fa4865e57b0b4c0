#include "predict/cost.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/error.hpp"

namespace versus::predict {
namespace {

// clang-format off
constexpr std::array<std::string_view, 10> kPriceColumns = {
    "id", "memory_GB", "kind", "product", "provider", "price_USD", "price_date", "source", "checked", "notes"};
// clang-format on

// YYYY-MM-DD, or YYYY-MM when the source gives only the month.
bool is_date_or_month(std::string_view s) {
    auto digits = [&](size_t from, size_t n) {
        return std::all_of(s.begin() + static_cast<long>(from), s.begin() + static_cast<long>(from + n),
                           [](char c) { return c >= '0' && c <= '9'; });
    };
    if (s.size() != 7 && s.size() != 10) return false;
    if (!digits(0, 4) || s[4] != '-' || !digits(5, 2)) return false;
    return s.size() == 7 || (s[7] == '-' && digits(8, 2));
}

double parse_number(std::string_view text, const std::string& where, std::string_view column) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0)
        throw std::logic_error(fmt::format("{}: column {}: '{}' is not a positive number", where, column, text));
    return v;
}

Price parse_price_row(const base::CsvRow& row, std::string_view file) {
    const std::string where = fmt::format("{}:{}", file, row.line);
    auto cell = [&](std::string_view column) -> const std::string& {
        const auto at = std::find(kPriceColumns.begin(), kPriceColumns.end(), column) - kPriceColumns.begin();
        return row.cells[static_cast<size_t>(at)];
    };
    auto required = [&](std::string_view column) -> const std::string& {
        if (cell(column).empty()) throw std::logic_error(fmt::format("{}: column {}: must not be empty", where, column));
        return cell(column);
    };
    Price p;
    p.id = required("id");
    p.memory_GB = parse_number(required("memory_GB"), where, "memory_GB");
    const std::string& kind = required("kind");
    if (kind == "msrp")
        p.kind = PriceKind::MSRP;
    else if (kind == "cloud")
        p.kind = PriceKind::CLOUD;
    else
        throw std::logic_error(fmt::format("{}: column kind: '{}' is not msrp or cloud", where, kind));
    p.product = required("product");
    p.provider = required("provider");
    p.price_USD = parse_number(required("price_USD"), where, "price_USD");
    p.price_date = required("price_date");
    if (!is_date_or_month(p.price_date))
        throw std::logic_error(fmt::format("{}: column price_date: '{}' is not YYYY-MM-DD or YYYY-MM", where, p.price_date));
    p.source = required("source");
    if (!p.source.starts_with("http://") && !p.source.starts_with("https://"))
        throw std::logic_error(fmt::format("{}: column source: '{}' is not a URL", where, p.source));
    p.checked = cell("checked");  // empty: the price was not re-read against a copy
    if (!p.checked.empty() && (p.checked.size() != 10 || !is_date_or_month(p.checked)))
        throw std::logic_error(fmt::format("{}: column checked: '{}' is not YYYY-MM-DD", where, p.checked));
    p.notes = cell("notes");
    p.line = row.line;
    return p;
}

std::vector<Price> load_prices() {
    const std::string_view text = detail::embedded_spec_file("prices.csv");
    if (text.empty()) return {};
    auto all = parse_prices(text, "prices.csv");
    // Every row prices a configuration that exists: a platform id and one of its memory sizes.
    for (const auto& pr : all) {
        const auto& ps = platforms();
        const auto it = std::find_if(ps.begin(), ps.end(), [&](const Platform& p) { return p.id == pr.id; });
        if (it == ps.end())
            throw std::logic_error(fmt::format("prices.csv:{}: '{}' is not a platform id", pr.line, pr.id));
        if (std::find(it->memory_options_GB.begin(), it->memory_options_GB.end(), pr.memory_GB) ==
            it->memory_options_GB.end())
            throw std::logic_error(
                fmt::format("prices.csv:{}: {} has no {:g} GB memory option", pr.line, pr.id, pr.memory_GB));
    }
    return all;
}

std::string format_money(double v) {
    if (v >= 100) return fmt::format("{:.0f}", v);
    return fmt::format("{:.3g}", v);
}

// Load power while the work runs: the prediction's own estimate, else the spec's (zero: unknown).
Estimate power_under_load(const Platform& p, const std::optional<Estimate>& watts) {
    if (watts) return *watts;
    return load_power(p).value_or(Estimate{});
}

// The cost of one busy hour at a given power, in the inputs' currency.
double busy_hour(const CostInputs& in, double watts) {
    return cost_per_busy_hour(in.capital_per_hour, in.utilisation, watts, in.energy_price_per_kWh);
}

// A cost per unit of work from a rate with its range: highest where the rate is lowest and the power highest.
Estimate cost_of_rate(const Estimate& rate, const CostInputs& in, double (*per_rate)(double, double)) {
    return {per_rate(busy_hour(in, in.power_W.value), rate.value), per_rate(busy_hour(in, in.power_W.low), rate.high),
            per_rate(busy_hour(in, in.power_W.high), rate.low)};
}

}  // namespace

std::string_view price_kind_name(PriceKind k) { return k == PriceKind::MSRP ? "msrp" : "cloud"; }

std::vector<Price> parse_prices(std::string_view csv, std::string_view file) {
    auto rows = base::parse_csv(csv);
    if (rows.empty()) throw std::logic_error(fmt::format("{}:1: no header", file));
    const auto& header = rows.front().cells;
    if (!std::equal(header.begin(), header.end(), kPriceColumns.begin(), kPriceColumns.end()))
        throw std::logic_error(
            fmt::format("{}:{}: the header differs from the one in data/specs/README.md", file, rows.front().line));
    std::vector<Price> out;
    for (size_t i = 1; i < rows.size(); ++i) {
        const auto& r = rows[i];
        if (!r.error.empty()) throw std::logic_error(fmt::format("{}:{}: {}", file, r.line, r.error));
        if (r.cells.size() != kPriceColumns.size())
            throw std::logic_error(
                fmt::format("{}:{}: {} fields, the header has {}", file, r.line, r.cells.size(), kPriceColumns.size()));
        out.push_back(parse_price_row(r, file));
    }
    return out;
}

const std::vector<Price>& prices() {
    static const std::vector<Price> all = load_prices();
    return all;
}

std::optional<Price> find_price(const Platform& p, PriceKind kind) {
    std::optional<Price> best;
    for (const auto& pr : prices())
        if (pr.id == p.id && pr.kind == kind && std::abs(pr.memory_GB - p.memory_GB) < 1e-9 &&
            (!best || pr.price_USD < best->price_USD))
            best = pr;
    return best;
}

double amortised_cost_per_hour(double price, double years) { return price / (years * HOURS_PER_YEAR); }

double cost_per_busy_hour(double capital_per_hour, double utilisation, double power_W, double energy_price_per_kWh) {
    return capital_per_hour / utilisation + power_W / 1000.0 * energy_price_per_kWh;
}

double cost_per_million_tokens(double cost_per_busy_hour, double tokens_per_s) {
    return cost_per_busy_hour / (tokens_per_s * 3600.0) * 1e6;
}

double cost_per_epoch(double cost_per_busy_hour, double epoch_s) { return cost_per_busy_hour * epoch_s / 3600.0; }

double rate_per_1000(double rate, double price) { return rate * 1000.0 / price; }

Currency parse_currency(std::string_view text, const std::string& place) {
    Currency c;
    const size_t eq = text.find('=');
    std::string code(text.substr(0, eq));
    for (char& ch : code) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const bool letters = code.size() == 3 && std::all_of(code.begin(), code.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    if (!letters)
        throw UsageError(place, fmt::format("'{}' is not a currency", text), "a 3-letter code, e.g. USD or EUR=0.92");
    c.code = code;
    if (eq == std::string_view::npos) {
        if (code != "USD")
            throw UsageError(place, fmt::format("no exchange rate for {}", code),
                             fmt::format("prices are in US dollars: give units per dollar, e.g. {}=0.92", code));
        return c;
    }
    const std::string_view rate = text.substr(eq + 1);
    double v = 0;
    const auto [end, ec] = std::from_chars(rate.data(), rate.data() + rate.size(), v);
    if (rate.empty() || ec != std::errc() || end != rate.data() + rate.size() || !(v > 0) || !std::isfinite(v))
        throw UsageError(place, fmt::format("'{}' is not a positive exchange rate", rate), "e.g. EUR=0.92");
    c.per_USD = v;
    return c;
}

std::string_view cost_basis_name(CostBasis b) {
    switch (b) {
        case CostBasis::AUTO: return "auto";
        case CostBasis::PURCHASE: return "purchase";
        case CostBasis::CLOUD: return "cloud";
    }
    return "?";
}

CostBasis parse_cost_basis(std::string_view text, const std::string& place) {
    for (CostBasis b : {CostBasis::AUTO, CostBasis::PURCHASE, CostBasis::CLOUD})
        if (text == cost_basis_name(b)) return b;
    throw UsageError(place, fmt::format("'{}' is not a cost basis", text), "auto, purchase or cloud");
}

std::string CostInputs::describe() const {
    const std::string& cur = currency.code;
    const std::string what = fmt::format("{}, {}, {}{}", price.product, price.provider, price.price_date,
                                         price.checked.empty() ? ", not re-checked" : "");
    std::string s;
    if (basis == CostBasis::CLOUD) {
        s = fmt::format("cloud {} {}/GPU-hour ({}) at {:g}% use; energy included in the price", format_money(price_in_currency),
                        cur, what, utilisation * 100);
    } else {
        s = fmt::format("purchase {} {} ({}) over {:g} years at {:g}% use", format_money(price_in_currency), cur, what,
                        years, utilisation * 100);
        s += power_W.value > 0 ? fmt::format(", {:.0f} W at {:g} {}/kWh", power_W.value, energy_price_per_kWh, cur)
                               : ", energy left out (no power figure)";
    }
    if (currency.code != "USD") s += fmt::format("; {:g} {} per USD", currency.per_USD, cur);
    return s;
}

std::optional<CostInputs> cost_inputs(const Platform& p, const CostOptions& opt, const std::optional<Estimate>& watts,
                                      std::string* why_not) {
    if (!(opt.utilisation > 0 && opt.utilisation <= 1))
        throw UsageError("--utilisation", fmt::format("{:g} is not a share of the hours", opt.utilisation),
                         "a number above 0 and at most 1");
    if (!(opt.years > 0)) throw UsageError("--years", "the amortisation period must be positive", "e.g. --years 3");
    if (!(opt.energy_price_per_kWh >= 0))
        throw UsageError("--energy-price", "the energy price must not be negative", "e.g. --energy-price 0.15");
    const auto purchase = find_price(p, PriceKind::MSRP), cloud = find_price(p, PriceKind::CLOUD);
    CostBasis basis = opt.basis;
    if (basis == CostBasis::AUTO) basis = purchase ? CostBasis::PURCHASE : CostBasis::CLOUD;
    const auto& price = basis == CostBasis::PURCHASE ? purchase : cloud;
    if (!price) {
        const std::string_view kind = opt.basis == CostBasis::AUTO ? "launch or cloud"
                                      : basis == CostBasis::PURCHASE ? "purchase"
                                                                     : "cloud";
        *why_not = fmt::format("no {} price for {} at {:g} GB in data/specs/prices.csv", kind, p.id, p.memory_GB);
        return std::nullopt;
    }
    CostInputs in;
    in.basis = basis;
    in.currency = opt.currency;
    in.price = *price;
    in.price_in_currency = price->price_USD * opt.currency.per_USD;
    in.utilisation = opt.utilisation;
    if (basis == CostBasis::PURCHASE) {
        in.years = opt.years;
        in.power_W = power_under_load(p, watts);
        in.energy_price_per_kWh = opt.energy_price_per_kWh;
        in.capital_per_hour = amortised_cost_per_hour(in.price_in_currency, opt.years);
    } else {
        in.capital_per_hour = in.price_in_currency;  // the provider pays the energy
    }
    return in;
}

CostReport generated_tokens_cost(const Platform& p, const Estimate& tps, const std::optional<Estimate>& watts,
                                 const CostOptions& opt) {
    CostReport r;
    std::string why;
    const auto in = cost_inputs(p, opt, watts, &why);
    if (!in) {
        r.notes.push_back(why);
        return r;
    }
    r.figures.push_back({"cost per million generated tokens", in->currency.code, cost_of_rate(tps, *in, cost_per_million_tokens), *in});
    if (in->basis == CostBasis::PURCHASE) {
        const double price = in->price_in_currency;
        r.figures.push_back({fmt::format("generated tokens/s per 1000 {}", in->currency.code), "tokens/s",
                             {rate_per_1000(tps.value, price), rate_per_1000(tps.low, price), rate_per_1000(tps.high, price)},
                             *in});
    }
    return r;
}

CostReport llm_cost(const Platform& p, const LlmPrediction& pred, const CostOptions& opt) {
    if (!pred.decode) {
        CostReport r;
        r.notes.push_back("no cost: the model does not fit");
        return r;
    }
    return generated_tokens_cost(p, pred.decode->tokens_per_s, pred.watts, opt);
}

CostReport throughput_cost(const Platform& p, const ThroughputPrediction& pred, const CostOptions& opt) {
    CostReport r;
    std::optional<Estimate> watts;
    if (pred.joules_per_op)  // J/op x op/s: the load power the prediction assumed
        watts = Estimate{pred.joules_per_op->value * pred.value.value, pred.joules_per_op->low * pred.value.high,
                         pred.joules_per_op->high * pred.value.low};
    std::string why;
    const auto in = cost_inputs(p, opt, watts, &why);
    if (!in) {
        r.notes.push_back(why);
        return r;
    }
    if (pred.epoch_s) {
        // One epoch takes epoch_s busy seconds; its range runs the other way round from the rate's.
        const Estimate& e = *pred.epoch_s;
        r.figures.push_back({"cost per epoch", in->currency.code,
                             {cost_per_epoch(busy_hour(*in, in->power_W.value), e.value),
                              cost_per_epoch(busy_hour(*in, in->power_W.low), e.low),
                              cost_per_epoch(busy_hour(*in, in->power_W.high), e.high)},
                             *in});
    }
    const std::string unit = pred.figure.substr(0, pred.figure.find('/'));  // "images/s" -> "images"
    if (unit == "images" || unit == "tokens")
        r.figures.push_back({fmt::format("cost per million {}", unit), in->currency.code, cost_of_rate(pred.value, *in, cost_per_million_tokens), *in});
    if (in->basis == CostBasis::PURCHASE) {
        const double price = in->price_in_currency;
        r.figures.push_back({fmt::format("{} per 1000 {}", pred.figure, in->currency.code), pred.figure,
                             {rate_per_1000(pred.value.value, price), rate_per_1000(pred.value.low, price),
                              rate_per_1000(pred.value.high, price)},
                             *in});
    }
    return r;
}

std::string format_cost(const Estimate& e, std::string_view unit) {
    return fmt::format("{:.3g} {} ({:.3g}-{:.3g})", e.value, unit, e.low, e.high);
}

std::vector<std::string> cost_lines(const CostReport& r) {
    std::vector<std::string> out;
    for (const auto& f : r.figures)
        out.push_back(fmt::format("cost: {} {} [{}]", f.what, format_cost(f.value, f.unit), f.inputs.describe()));
    for (const auto& n : r.notes) out.push_back("cost: " + n);
    return out;
}

nlohmann::ordered_json cost_json(const CostReport& r) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (const auto& f : r.figures)
        a.push_back({{"what", f.what}, {"unit", f.unit}, {"value", f.value.value}, {"low", f.value.low},
                     {"high", f.value.high}, {"basis", cost_basis_name(f.inputs.basis)},
                     {"price_source", f.inputs.price.source}, {"inputs", f.inputs.describe()}});
    for (const auto& n : r.notes) a.push_back({{"note", n}});
    return a;
}

}  // namespace versus::predict
