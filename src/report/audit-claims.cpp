#include "report/audit.hpp"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "base/csv.hpp"
#include "base/text.hpp"
#include "predict/throughput.hpp"
#include "report/audit-claims.hpp"

namespace versus::report {

namespace audit_detail {

namespace {

const std::vector<std::string> KINDS = {"range", "fact", "qualitative", "measurement"};
const std::vector<std::string> QUANTITIES = {"",          "mem_bw_GBps", "gpu_mem_max_GB", "power_max_W", "power_W",
                                             "gpu_budget_GB", "nvlink_GBps", "tokens_per_s", "epoch_s", "slowdown"};
const std::vector<std::string> COLUMNS = {"id",   "claim", "dimension", "kind",  "test",     "quantity",
                                          "platforms", "low", "high", "unit", "better", "model",
                                          "types", "datasets", "params", "note"};

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// "15" -> [15, 15]; "45-50"; "300-" -> [300, inf).
std::pair<double, double> parse_range(const std::string& s) {
    const size_t dash = s.find('-');
    if (dash == std::string::npos) {
        const double v = *parse_number(s);
        return {v, v};
    }
    const double lo = *parse_number(s.substr(0, dash));
    const std::string rest = s.substr(dash + 1);
    return {lo, rest.empty() ? INF : *parse_number(rest)};
}

}  // namespace

std::optional<double> parse_number(const std::string& s) {
    if (s.empty()) return std::nullopt;
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        throw std::invalid_argument(fmt::format("'{}' is not a number", s));
    }
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(fmt::format("'{}' is not a number", s));
    return v;
}

// The shapes the claims name. Llama 3.2 3B is not one of the llm presets; its config.json is: width 3072,
// 28 layers, 24 heads (8 for K/V), feed-forward 8192, the Llama 3 vocabulary, output tied to the embedding.
llm::ModelConfig model_config(const std::string& name) {
    if (name == "llama-3.2-3b") {
        llm::ModelConfig c = llm::preset_config("llama3-8b");
        c.name = name;
        c.n_embd = 3072;
        c.n_layer = 28;
        c.n_head = 24;
        c.n_head_kv = 8;
        c.head_dim = 128;
        c.n_ff = 8192;
        c.n_ctx_train = 131072;
        c.rope_scaling = "llama3";
        c.tied_output = true;
        return c;
    }
    return llm::preset_config(name);
}

// Items are ';'-separated in the platforms column and ','-separated inside a param (whose items are ';'-separated).
std::vector<Target> parse_targets(const std::string& cell) {
    std::vector<Target> out;
    std::string list = cell;
    std::replace(list.begin(), list.end(), ',', ';');
    for (const auto& item : base::split_copy(list, ';', base::SPLIT_SKIP_EMPTY)) {
        if (item.starts_with("vendor=")) {
            const std::string vendor = item.substr(7);
            for (const auto& p : predict::platforms())
                if (p.vendor == vendor && p.device_kind == predict::DeviceKind::GPU) out.push_back({p, p.id, {}, {}});
            continue;
        }
        const size_t colon = item.find(':');
        Target t;
        t.label = item.substr(0, colon);
        t.p = predict::resolve_platform(t.label);
        if (colon != std::string::npos) {
            const auto [lo, hi] = parse_range(item.substr(colon + 1));
            t.low = lo;
            t.high = hi;
        }
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace audit_detail

using namespace audit_detail;

std::string Claim::param(std::string_view key, std::string fallback) const {
    for (const auto& [k, v] : params)
        if (k == key) return v;
    return fallback;
}

std::vector<Claim> parse_claims(std::string_view csv, const std::string& place) {
    base::CsvTable table(csv, place);
    for (const auto& col : COLUMNS)
        if (table.column(col) < 0) throw std::logic_error(fmt::format("{}:1: no column '{}'", place, col));
    std::vector<Claim> out;
    std::set<std::string> ids;
    static const std::regex ID("C[1-9][0-9]*");
    for (const auto& row : table.rows()) {
        auto fail = [&](const std::string& what) { return std::logic_error(fmt::format("{}:{}: {}", place, row.line, what)); };
        if (!row.error.empty()) throw fail(row.error);
        if (row.cells.size() != table.header().size())
            throw fail(fmt::format("{} cells, the header has {}", row.cells.size(), table.header().size()));
        auto cell = [&](const char* name) { return std::string(table.cell(row, name)); };
        Claim c;
        c.line = row.line;
        c.id = cell("id");
        c.text = cell("claim");
        c.dimension = cell("dimension");
        c.kind = cell("kind");
        c.test = cell("test");
        c.quantity = cell("quantity");
        c.platforms = cell("platforms");
        c.unit = cell("unit");
        c.model = cell("model");
        c.types = base::split_copy(cell("types"), ';', base::SPLIT_SKIP_EMPTY);
        c.datasets = base::split_copy(cell("datasets"), ';', base::SPLIT_SKIP_EMPTY);
        c.note = cell("note");
        if (!std::regex_match(c.id, ID)) throw fail(fmt::format("id '{}' is not C<number>", c.id));
        if (!ids.insert(c.id).second) throw fail(fmt::format("{} appears twice", c.id));
        if (c.text.empty()) throw fail(c.id + " has no claim text");
        if (!contains(KINDS, c.kind)) throw fail(fmt::format("unknown kind '{}'", c.kind));
        if (!contains(test_names(), c.test)) throw fail(fmt::format("unknown test '{}'", c.test));
        if (!contains(QUANTITIES, c.quantity)) throw fail(fmt::format("unknown quantity '{}'", c.quantity));
        const std::string better = cell("better");
        if (better != "higher" && better != "lower") throw fail(fmt::format("better is '{}', not higher or lower", better));
        c.higher_better = better == "higher";
        try {
            c.low = parse_number(cell("low"));
            c.high = parse_number(cell("high"));
            for (const auto& item : base::split_copy(cell("params"), ';', base::SPLIT_SKIP_EMPTY)) {
                const size_t eq = item.find('=');
                if (eq == std::string::npos) throw std::invalid_argument(fmt::format("param '{}' is not key=value", item));
                c.params.emplace_back(item.substr(0, eq), item.substr(eq + 1));
            }
            // Everything the evaluators will look up must exist: platforms, formats, data sets, models.
            parse_targets(c.platforms);
            if (const auto nf = c.param("no_fit"); !nf.empty()) parse_targets(nf);
            for (const auto& t : c.types) llm::parse_file_type(t);
            for (const auto& d : c.datasets) predict::data_set(d);
            if (!c.model.empty()) model_config(c.model);
            for (const char* number : {"max_ppl_ratio", "min_top1_pct", "energy_saving_pct"})
                if (const auto v = c.param(number); !v.empty()) parse_number(v);
        } catch (const std::exception& e) {
            throw fail(c.id + ": " + e.what());
        }
        const bool ranged = c.kind == "range";
        if (ranged && !c.low && !c.high && c.platforms.find(':') == std::string::npos)
            throw fail(c.id + ": a range claim needs low/high or per-platform ranges");
        if ((c.test == "llm-decode" || c.test == "offload") && (c.model.empty() || c.types.empty()))
            throw fail(c.id + ": " + c.test + " needs a model and types");
        if ((c.test == "train-epoch" || c.test == "train-ratio") && c.datasets.empty())
            throw fail(c.id + ": " + c.test + " needs datasets");
        if ((c.test == "spec-max" || c.test == "spec-span") && (c.quantity.empty() || c.platforms.empty()))
            throw fail(c.id + ": " + c.test + " needs a quantity and platforms");
        out.push_back(std::move(c));
    }
    return out;
}

const std::vector<Claim>& builtin_claims() {
    static const std::vector<Claim> claims = [] {
        std::vector<Claim> all;
        for (const auto& f : detail::embedded_claim_files()) {
            auto part = parse_claims(f.text, std::string(f.name));
            all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
        }
        return all;
    }();
    return claims;
}

}  // namespace versus::report
